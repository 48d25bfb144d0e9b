"""Deterministic ids: duplicates are prevented by the store's uniqueness, not by look-ups."""

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c5a52-3a1e-4f6b-9a55-7d0c1f2b9e10")
VIDEO_PREFIX = "video_"


def idempotent_job_id(tenant: str, key: str) -> UUID:
    """The job id that an `Idempotency-Key` maps to, per tenant."""
    return uuid5(NAMESPACE, f"/tenants/{tenant}/idempotency/{key}")


def api_key_id(key_hash: str) -> UUID:
    """The aggregate id of an API key, derived from its keyed hash."""
    return uuid5(NAMESPACE, f"/api-keys/{key_hash}")


def video_id(job_id: UUID) -> str:
    """The public id of a job, in the OpenAI `video_…` format."""
    return f"{VIDEO_PREFIX}{job_id.hex}"


def parse_video_id(public_id: str) -> UUID | None:
    """The job id inside a public `video_…` id, or None if it is not one."""
    if not public_id.startswith(VIDEO_PREFIX):
        return None
    raw = public_id.removeprefix(VIDEO_PREFIX)
    if len(raw) != 32:
        return None
    try:
        return UUID(hex=raw)
    except ValueError:
        return None
