"""`vidgate export events`: the tenant event feed as a JSON Lines or Parquet file.

The rows are the feed's (`GET /v1/events`: job events and ledger entries), plus each
event's tenant; a ledger entry has the same columns (`video_id` null for a grant). The feed view is
brought up to date first, and the export holds exactly the events recorded when it started;
that is safe beside a running worker (the view's tracking lets each event land once).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from projections.feed.postgres import PostgresFeedView
from projections.feed.projection import FeedProjection
from projections.feed.sqlite import SQLiteFeedView
from projections.feed.view import FeedEntry, FeedQuery, FeedView
from projections.follower import Follower
from service.persistence.stores import build_gateway, build_view
from service.runtime import close_view
from service.settings import Settings

FORMATS = ("jsonl", "parquet")
BATCH = 1000
Writer = Callable[[list[FeedEntry]], None]


def add_export_command(commands: Any) -> None:
    """Register `vidgate export events` on the CLI's subcommands."""
    export = commands.add_parser("export", help="export data for analysis elsewhere")
    kinds = export.add_subparsers(title="what")
    events = kinds.add_parser(
        "events", help="job events and ledger entries (the /v1/events feed) to a file"
    )
    events.add_argument("--tenant", help="one tenant's events (default: every tenant's)")
    events.add_argument(
        "--since",
        type=since_query,
        default={},
        metavar="POSITION|TIME",
        help="events after this position (a previous export's last), or recorded at or after "
        "this ISO 8601 time with a zone",
    )
    events.add_argument(
        "--format", choices=FORMATS, help="default: parquet for a .parquet output, else jsonl"
    )
    events.add_argument("--output", "-o", help="the file to write (default: standard output)")
    events.set_defaults(handler=export_events)


def since_query(raw: str) -> dict[str, Any]:
    """`--since`: the FeedQuery fields it sets (`after` a position, or `since` a time)."""
    if raw.isascii() and raw.isdecimal():
        return {"after": int(raw)}
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a position or an ISO 8601 time with a zone")
    return {"since": moment.timestamp()}


def export_events(args: argparse.Namespace, settings: Settings) -> int:
    """The CLI handler: exit status 0, or 2 for a request it cannot carry out."""
    output: str | None = None if args.output in (None, "-") else args.output
    fmt = args.format or ("parquet" if (output or "").endswith(".parquet") else "jsonl")
    if fmt == "parquet" and output is None:
        print("vidgate: Parquet needs a file: add --output FILE", file=sys.stderr)
        return 2
    query = FeedQuery(tenant=args.tenant, limit=BATCH, **args.since)
    console = Console(stderr=True)
    view = build_view(settings, "feed", SQLiteFeedView, PostgresFeedView)
    try:
        with console.status("bringing the event feed up to date"):
            last = catch_up(settings, view)
        count = write_file(view, replace(query, until=last), fmt, output, console)
    finally:
        close_view(view)
    where = output or "standard output"
    console.print(f"exported {count} events to {where}", highlight=False)
    return 0


def catch_up(settings: Settings, view: FeedView) -> int:
    """Project every event recorded so far into the feed view; return its position (events
    a running worker adds meanwhile are left for the next export)."""
    gateway = build_gateway(settings)
    try:
        follower = Follower(gateway, FeedProjection(view))
        follower.run_once()
        return follower.position
    finally:
        gateway.close()


def write_file(
    view: FeedView, query: FeedQuery, fmt: str, output: str | None, console: Console
) -> int:
    """Write what `query` matches to `output` (None: stdout), with a progress bar."""
    columns = (TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    count = 0
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("events", total=view.count(query))
        opened = parquet_writer(output) if fmt == "parquet" else jsonl_writer(output)
        with opened as write:
            for entries in pages(view, query):
                write(entries)
                count += len(entries)
                progress.advance(task, len(entries))
    return count


def pages(view: FeedView, query: FeedQuery) -> Iterator[list[FeedEntry]]:
    """Every entry `query` matches, a page at a time, by position."""
    while True:
        entries, more = view.page(query)
        if entries:
            yield entries
        if not more:
            return
        query = replace(query, after=entries[-1].position)


def export_item(entry: FeedEntry) -> dict[str, Any]:
    """An exported row: the feed item with its tenant (and the same columns as Parquet's)."""
    item = entry.public_item()
    del item["object"]
    return {"position": item.pop("position"), "tenant": entry.tenant, **item}


@contextmanager
def jsonl_writer(output: str | None) -> Iterator[Writer]:
    """One JSON object per line, to `output` or (None) standard output."""
    with ExitStack() as stack:
        if output is None:
            stream: IO[str] = sys.stdout
        else:
            part = stack.enter_context(_replacing(Path(output)))
            stream = stack.enter_context(part.open("w", encoding="utf-8"))

        def write(entries: list[FeedEntry]) -> None:
            lines = (json.dumps(export_item(e), separators=(",", ":")) + "\n" for e in entries)
            stream.writelines(lines)

        yield write
        stream.flush()


@contextmanager
def parquet_writer(output: str | None) -> Iterator[Writer]:
    """Typed columns; `data` stays JSON text (its shape depends on `type`). Job events and
    ledger entries share them: a grant's `video_id` is null."""
    import pyarrow as pa  # heavy: only exports need it
    import pyarrow.parquet as pq

    assert output is not None
    schema = pa.schema(
        [
            ("position", pa.int64()),
            ("tenant", pa.string()),
            ("video_id", pa.string()),
            ("type", pa.string()),
            ("version", pa.int64()),
            ("occurred_at", pa.timestamp("us", tz="UTC")),
            ("actor", pa.string()),
            ("data", pa.string()),
        ]
    )
    with _replacing(Path(output)) as part, pq.ParquetWriter(part, schema) as file:

        def write(entries: list[FeedEntry]) -> None:
            rows = [parquet_row(entry) for entry in entries]
            file.write_table(pa.Table.from_pylist(rows, schema=schema))

        yield write


def parquet_row(entry: FeedEntry) -> dict[str, Any]:
    item = export_item(entry)
    occurred_at = datetime.fromisoformat(item["occurred_at"])
    return {**item, "occurred_at": occurred_at, "data": json.dumps(item["data"])}


@contextmanager
def _replacing(final: Path) -> Iterator[Path]:
    """A temporary path beside `final` that becomes `final` only if all went well."""
    part = final.with_name(f".{final.name}.part")
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, final)
