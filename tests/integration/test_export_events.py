"""`vidgate export events`: the event feed as JSON Lines or Parquet (read back with pyarrow
and DuckDB). The handler runs in-process with the store's settings; no worker runs, so each
export also shows that it brings the feed view up to date itself."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from uuid import UUID

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from events.account import Charge, to_micros
from events.ids import video_id
from service.admin.export import add_export_command
from tests.helpers import SUBMISSION

COLUMNS = ["position", "tenant", "video_id", "type", "version", "occurred_at", "actor", "data"]


@pytest.fixture
def jobs(gateway) -> dict[str, UUID]:
    """Two tenants' jobs: acme's has 3 events, other's 2 (5 in the log, in that order)."""
    made = {}
    for tenant in ("acme", "other"):
        job, _ = gateway.submit(**{**SUBMISSION, "tenant": tenant}, idempotency_key=None)
        made[tenant] = job.id
    gateway.record_progress(made["acme"], 50, "webhook")
    gateway.update_job(made["acme"], lambda j: j.fail("boom", "it \x00 broke", "poll"))
    gateway.update_job(made["other"], lambda j: j.cancel("api"))
    return made


def export(settings, *args: str) -> int:
    parser = argparse.ArgumentParser(prog="vidgate")
    add_export_command(parser.add_subparsers())
    parsed = parser.parse_args(["export", "events", *args])
    status: int = parsed.handler(parsed, settings)
    return status


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_jsonl_holds_every_tenants_events_in_log_order(settings, jobs, tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    assert export(settings, "--output", str(out)) == 0
    rows = read_jsonl(out)
    assert [(r["tenant"], r["type"]) for r in rows] == [
        ("acme", "Submitted"),
        ("other", "Submitted"),
        ("acme", "Progressed"),
        ("acme", "Failed"),
        ("other", "Canceled"),
    ]
    assert [r["position"] for r in rows] == sorted(r["position"] for r in rows)
    failed = rows[3]
    assert failed["video_id"] == video_id(jobs["acme"]) and failed["version"] == 3
    assert failed["data"]["message"] == "it \x00 broke" and failed["actor"] == "poll"
    assert list(failed) == COLUMNS
    assert "exported 5 events" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*.part"))


def test_parquet_loads_in_pyarrow_and_duckdb_with_one_row_per_event(settings, jobs, tmp_path):
    out = tmp_path / "events.parquet"
    assert export(settings, "--output", str(out)) == 0  # the format follows the suffix
    table = pq.read_table(out)
    assert table.column_names == COLUMNS
    assert table.schema.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("position").type == pa.int64()
    assert table.num_rows == 5
    rows = table.to_pylist()
    assert json.loads(rows[3]["data"])["code"] == "boom"
    assert rows[0]["occurred_at"] <= rows[-1]["occurred_at"] <= datetime.now(UTC)
    jsonl = tmp_path / "events.jsonl"
    export(settings, "--output", str(jsonl))
    assert [r["position"] for r in rows] == [r["position"] for r in read_jsonl(jsonl)]
    with duckdb.connect() as db:
        count, distinct, kinds = db.execute(
            "SELECT count(*), count(DISTINCT position), count(DISTINCT type) FROM read_parquet(?)",
            [str(out)],
        ).fetchone()
        assert (count, distinct, kinds) == (5, 5, 4)
        per_tenant = db.execute(
            "SELECT tenant, count(*) FROM read_parquet(?) GROUP BY tenant ORDER BY tenant",
            [str(out)],
        ).fetchall()
        assert per_tenant == [("acme", 3), ("other", 2)]
        (kind,) = db.execute(
            "SELECT typeof(occurred_at) FROM read_parquet(?) LIMIT 1", [str(out)]
        ).fetchone()
        assert kind == "TIMESTAMP WITH TIME ZONE"


def test_tenant_and_since_narrow_the_export(settings, jobs, tmp_path):
    out = tmp_path / "acme.jsonl"
    export(settings, "--tenant", "acme", "--output", str(out))
    acme = read_jsonl(out)
    assert [r["type"] for r in acme] == ["Submitted", "Progressed", "Failed"]
    export(settings, "--tenant", "acme", "--since", str(acme[0]["position"]), "-o", str(out))
    assert [r["type"] for r in read_jsonl(out)] == ["Progressed", "Failed"]
    export(settings, "--since", acme[2]["occurred_at"], "--format", "jsonl", "-o", str(out))
    assert [(r["tenant"], r["type"]) for r in read_jsonl(out)] == [
        ("acme", "Failed"),
        ("other", "Canceled"),
    ]


def test_jsonl_goes_to_standard_output_without_a_file(settings, jobs, capsys):
    assert export(settings, "--tenant", "other") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["Submitted", "Canceled"]


def test_an_empty_export_is_a_valid_file(settings, gateway, tmp_path):
    out = tmp_path / "none.parquet"
    assert export(settings, "--format", "parquet", "-o", str(out)) == 0
    assert pq.read_table(out).num_rows == 0
    assert pq.read_table(out).column_names == COLUMNS


def test_parquet_needs_a_file(settings, capsys):
    assert export(settings, "--format", "parquet") == 2
    assert "--output" in capsys.readouterr().err


@pytest.mark.parametrize("since", ["yesterday", "-3", "2026-01-01T00:00:00"])
def test_a_bad_since_is_refused_by_the_parser(settings, since, capsys):
    with pytest.raises(SystemExit) as exited:
        export(settings, "--since", since)
    assert exited.value.code == 2
    assert "--since" in capsys.readouterr().err


def test_ledger_entries_are_exported_as_rows_beside_the_job_events(settings, gateway, tmp_path):
    gateway.grant_credits("acme", to_micros(5), note="trial")
    fields = {**SUBMISSION, "idempotency_key": None}
    job, _ = gateway.submit_charged(fields, Charge(to_micros(1.25), key="k1"))
    gateway.update_job(job.id, lambda j: j.complete({"url": "u", "bytes": 1}, "poll"))
    out = tmp_path / "ledger.parquet"
    assert export(settings, "--tenant", "acme", "-o", str(out)) == 0
    rows = pq.read_table(out).to_pylist()
    assert pq.read_table(out).column_names == COLUMNS
    assert [(r["type"], r["video_id"]) for r in rows] == [
        ("CreditsGranted", None),
        ("Submitted", video_id(job.id)),
        ("CreditsReserved", video_id(job.id)),
        ("Completed", video_id(job.id)),
        ("CreditsSettled", video_id(job.id)),
    ]
    assert json.loads(rows[0]["data"]) == {"currency": "USD", "amount": 5.0, "note": "trial"}
    assert [r["actor"] for r in rows if r["type"].startswith("Credits")] == [
        "admin",
        "api",
        "gateway",
    ]
    with duckdb.connect() as db:
        (spent,) = db.execute(
            "SELECT sum(CAST(json_extract(data, '$.amount') AS DOUBLE)) FROM read_parquet(?) "
            "WHERE type = 'CreditsSettled'",
            [str(out)],
        ).fetchone()
    assert spent == 1.25
