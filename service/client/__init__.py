"""The `vidgate videos …` client: talks to a running gateway over HTTP (`VIDGATE_URL`)."""
