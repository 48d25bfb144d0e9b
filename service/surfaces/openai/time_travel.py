"""`GET /v1/videos/{id}?at=…`: a video as it was at one of its versions, or at a moment.

`at` is a version number (1 is the submission; see `version` in the video's events) or an
ISO 8601 time with a zone (the last version recorded at or before it).
"""

from __future__ import annotations

from datetime import datetime

from events.app import Gateway
from events.job import Job
from service.surfaces.errors import invalid

MAX_VERSION_DIGITS = 18


def parse_at(raw: str) -> int | datetime:
    """A version number or a timezone-aware moment; anything else is a 400 naming `at`."""
    text = raw.strip()
    if text.isascii() and text.isdecimal() and len(text) <= MAX_VERSION_DIGITS:
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise invalid(
            "at", "at must be a version number or an ISO 8601 time with a zone (…T12:00:00Z)"
        )
    return moment


def job_at(gateway: Gateway, job: Job, at: int | datetime) -> Job:
    """`job` (its latest version) as it was at `at`."""
    version = at if isinstance(at, int) else _version_at(gateway, job, at)
    if not 1 <= version <= job.version:
        raise invalid("at", f"at must be a version from 1 to {job.version} for this video")
    if version == job.version:
        return job
    then = gateway.find_job(job.id, version=version)
    assert then is not None  # its later versions exist
    return then


def _version_at(gateway: Gateway, job: Job, moment: datetime) -> int:
    """The last version recorded at or before `moment`."""
    history = gateway.history(job.id)[: job.version]  # not what was appended since
    versions = [e.originator_version for e in history if e.timestamp <= moment]
    if not versions:
        raise invalid("at", f"the video did not exist yet at {moment.isoformat()}")
    return versions[-1]
