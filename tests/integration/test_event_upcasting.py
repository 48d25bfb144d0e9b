"""Event schema evolution: records stored by older code still load, upcast to today's shape.

`Job.OutputStored` gained `media` after jobs had been stored; it is class version 2, and its
`upcast_v1_v2` fills the field in for a v1 record; version 3 added `outputs` (every video of a
job that made several), None in older records. The records below are written raw, byte
for byte as the older code stored them, then read back through the Gateway.
"""

from __future__ import annotations

import json
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from events.job import Job
from projections.feed.item import history_item
from projections.feed.postgres import PostgresFeedView
from projections.feed.projection import FeedProjection
from projections.feed.sqlite import SQLiteFeedView
from projections.feed.view import FeedQuery
from projections.follower import Follower
from service.persistence.stores import build_view
from service.runtime import close_view
from tests.helpers import SUBMISSION

OUTPUT_STORED = "vidgate:Job.OutputStored"
# As stored before `media` existed (class version 1: no `class_version` key).
V1_WITHOUT_MEDIA = (
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2025-06-01T12:00:03.000001+00:00"},'
    b'"url":"/v1/videos/x/content","bytes":9,"sha256":"ab","source":"mirror"}'
)
# As stored after `media` was added but before its class version was (still v1).
V1_WITH_MEDIA = (
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2025-06-01T12:00:03.000001+00:00"},'
    b'"url":"/v1/videos/x/content","bytes":9,"sha256":"ab","source":"mirror",'
    b'"media":{"width":160,"height":90}}'
)


def completed_job(gateway) -> UUID:
    job, _ = gateway.submit(**SUBMISSION, idempotency_key=None)
    gateway.update_job(job.id, lambda j: j.complete({"url": "up", "bytes": 1}, "poll"))
    return job.id


def store_raw(gateway, job_id: UUID, version: int, state: bytes) -> None:
    record = StoredEvent(
        originator_id=job_id, originator_version=version, topic=OUTPUT_STORED, state=state
    )
    gateway.recorder.insert_events([record])


def test_a_v1_output_stored_without_media_loads_with_media_none(gateway):
    job_id = completed_job(gateway)
    store_raw(gateway, job_id, 3, V1_WITHOUT_MEDIA)
    job = gateway.find_job(job_id)
    assert job.output_stored
    assert job.output == {"url": "/v1/videos/x/content", "bytes": 9, "sha256": "ab"}
    event = gateway.history(job_id)[-1]
    assert isinstance(event, Job.OutputStored)
    assert event.media is None
    assert history_item(event)["data"]["media"] is None  # one shape for every version


def test_a_v1_record_that_already_had_media_keeps_it(gateway):
    job_id = completed_job(gateway)
    store_raw(gateway, job_id, 3, V1_WITH_MEDIA)
    assert gateway.find_job(job_id).output["width"] == 160
    assert gateway.history(job_id)[-1].media == {"width": 160, "height": 90}


def test_new_records_are_stored_as_version_3(gateway):
    job_id = completed_job(gateway)
    gateway.update_job(job_id, lambda j: j.store_output("/c", 9, "ab", "mirror", {"fps": 24}))
    (record,) = gateway.recorder.select_notifications(start=None, limit=10, topics=[OUTPUT_STORED])
    state = json.loads(record.state)
    assert state["class_version"] == 3
    assert state["media"] == {"fps": 24} and state["outputs"] is None
    assert gateway.history(job_id)[-1].media == {"fps": 24}


def test_a_v2_record_loads_with_outputs_none(gateway):
    job_id = completed_job(gateway)
    v2 = V1_WITH_MEDIA.replace(b'"source"', b'"class_version":2,"source"')
    store_raw(gateway, job_id, 3, v2)
    event = gateway.history(job_id)[-1]
    assert event.outputs is None and event.media == {"width": 160, "height": 90}
    assert "outputs" not in gateway.find_job(job_id).output


def test_every_output_of_a_job_that_made_several_is_kept(gateway):
    job_id = completed_job(gateway)
    outputs = [{"url": f"/c?index={i}", "bytes": 9, "sha256": f"s{i}"} for i in range(4)]
    gateway.update_job(job_id, lambda j: j.store_output("/c", 9, "s0", "mirror", None, outputs))
    assert gateway.find_job(job_id).output["outputs"] == outputs


def test_the_feed_shows_an_upcast_event_in_todays_shape(gateway, settings):
    job_id = completed_job(gateway)
    store_raw(gateway, job_id, 3, V1_WITHOUT_MEDIA)
    view = build_view(settings, "feed", SQLiteFeedView, PostgresFeedView)
    try:
        Follower(gateway, FeedProjection(view)).run_once()
        entries, _ = view.page(FeedQuery(tenant="acme", types=("OutputStored",)))
    finally:
        close_view(view)
    (entry,) = entries
    assert entry.item["data"] == {
        "url": "/v1/videos/x/content",
        "bytes": 9,
        "sha256": "ab",
        "source": "mirror",
        "media": None,
        "outputs": None,
    }
    assert entry.item["occurred_at"] == "2025-06-01T12:00:03.000001+00:00"
