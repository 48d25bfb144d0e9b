"""The `analytics` view in PostgreSQL: the database computes the percentiles
(`percentile_cont`) in the same pass as the counts, and a batch's rows go in as one array
per column (`unnest`): two statements per batch, where psycopg's `executemany` would spend
~20 µs of Python on each row."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL

from projections.analytics.store import GroupKey, Rows, SQLAnalyticsView
from projections.analytics.view import (
    INSERTED,
    LATENCIES,
    LATENCY_SQL,
    LEDGER_COLUMNS,
    PERCENTILES,
    AnalyticsQuery,
    AnalyticsSQL,
    Latency,
)

# The columns of `insert_params` and `update_params`, with their types.
INSERTED_TYPES = (
    ("text",) * 5 + ("float8",) * 5 + ("text",) * 2 + ("float8",) * 2 + ("int",) * 3 + ("int8",) * 2
)
UPDATED = (
    ("dispatched_at", "float8"),
    ("finished_at", "float8"),
    ("outcome", "text"),
    ("failure_code", "text"),
    ("output_duration", "float8"),
    ("cost_reported", "float8"),
    ("webhook_signals", "int"),
    ("poll_signals", "int"),
    ("other_signals", "int"),
    ("reserved", "int8"),
    ("settled", "int8"),
    ("job_id", "text"),
)


class PostgresAnalyticsView(SQLAnalyticsView, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        name = self.tracking_table_name.removesuffix("_tracking")  # index names: unqualified
        schema = self.datastore.schema
        self.sql = AnalyticsSQL(
            f'"{schema}"."{name}_jobs"',
            f'"{schema}"."{self.tracking_table_name}"',
            "%s",
            "TEXT",
            "DOUBLE PRECISION",
        )
        # A view created before the ledger columns existed gets them (empty: `vidgate
        # replay analytics` fills them from the log).
        added = [
            f"ALTER TABLE {self.sql.jobs} ADD COLUMN IF NOT EXISTS {column} {kind}"
            for column, kind in LEDGER_COLUMNS
        ]
        for statement in (*self.sql.ddl, *added, self.sql.index_ddl(name)):
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]
        inserted = ", ".join(f"%b::{kind}[]" for kind in INSERTED_TYPES)
        self._insert_all = (
            f"INSERT INTO {self.sql.jobs} ({', '.join(INSERTED)}) SELECT * FROM "
            f"unnest({inserted}) ON CONFLICT (job_id) DO NOTHING"
        )
        updated = ", ".join(f"%b::{kind}[]" for _, kind in UPDATED)
        self._update_all = (  # the same rules as AnalyticsSQL.update
            f"UPDATE {self.sql.jobs} AS t SET "
            "dispatched_at = COALESCE(t.dispatched_at, u.dispatched_at), "
            "finished_at = COALESCE(t.finished_at, u.finished_at), "
            "outcome = COALESCE(t.outcome, u.outcome), "
            "failure_code = COALESCE(t.failure_code, u.failure_code), "
            "output_duration = COALESCE(t.output_duration, u.output_duration), "
            "cost_reported = COALESCE(t.cost_reported, u.cost_reported), "
            "webhook_signals = t.webhook_signals + u.webhook_signals, "
            "poll_signals = t.poll_signals + u.poll_signals, "
            "other_signals = t.other_signals + u.other_signals, "
            "reserved = COALESCE(t.reserved, u.reserved), "
            "settled = COALESCE(t.settled, u.settled) "
            f"FROM unnest({updated}) AS u({', '.join(column for column, _ in UPDATED)}) "
            "WHERE t.job_id = u.job_id"
        )

    def _write(self, c: Any, inserts: Rows, updates: Rows) -> None:
        if inserts:
            c.execute(self._insert_all, [list(column) for column in zip(*inserts, strict=True)])
        if updates:  # a batch holds a job once, so no row is updated twice here
            c.execute(self._update_all, [list(column) for column in zip(*updates, strict=True)])

    def _latency_columns(self) -> str:
        fractions = ", ".join(str(f) for f in PERCENTILES)
        return "".join(
            f", percentile_cont(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY {LATENCY_SQL[name]})"
            f" AS {name}, COUNT({LATENCY_SQL[name]}) AS {name}_count"
            for name in LATENCIES
        )

    def _latencies(
        self, c: Any, query: AnalyticsQuery, totals: list[dict[str, Any]]
    ) -> dict[GroupKey, dict[str, Latency]]:
        return {
            tuple(row[d] for d in query.group_by): {
                name: Latency(row[f"{name}_count"], *(row[name] or (None,) * len(PERCENTILES)))
                for name in LATENCIES
            }
            for row in totals
        }
