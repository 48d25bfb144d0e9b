"""Request counters shared by every web process: one row per key and window, in the store.

A fixed window anchored at the key's first request in it (not at clock minutes), so N + 1
requests within any window that starts with a request are never all allowed. One atomic
upsert per request (`INSERT … ON CONFLICT DO UPDATE … RETURNING`): PostgreSQL locks the row,
so processes sharing the database count together; SQLite serialises writers on its file.
The store is the shared counter because every process already holds a connection to it;
Redis would save a round trip but add a service to run (see the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL


@dataclass(frozen=True)
class Verdict:
    """Whether one request fits its limit, with what the RateLimit headers report."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the window ends


class WindowSQL:
    def __init__(self, table: str, p: str) -> None:
        self.table = table
        self.hit = (
            f"INSERT INTO {table} (key, started, hits) VALUES ({p}, {p}, 1) "
            f"ON CONFLICT (key) DO UPDATE SET "
            f"started = CASE WHEN {table}.started + {p} <= excluded.started "
            f"THEN excluded.started ELSE {table}.started END, "
            f"hits = CASE WHEN {table}.started + {p} <= excluded.started "
            f"THEN 1 ELSE {table}.hits + 1 END "
            f"RETURNING started, hits"
        )

    def ddl(self, text_type: str, real_type: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table} (key {text_type} PRIMARY KEY, "
            f"started {real_type} NOT NULL, hits BIGINT NOT NULL)"
        ]


class RateWindows:
    """`hit(key, limit, window, now)` counts one request and says whether it fits."""

    sql: WindowSQL
    datastore: Any

    def hit(self, key: str, limit: int, window: float, now: float) -> Verdict:
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.sql.hit, (key, now, window, window))
            started, hits = _pair(c.fetchone())
        reset = max(1, int(float(started) + window - now + 0.999))
        return Verdict(hits <= limit, limit, max(0, limit - hits), reset)


def _pair(row: Any) -> tuple[float, int]:
    if isinstance(row, dict):
        return row["started"], int(row["hits"])
    return row[0], int(row[1])


class SQLiteRateWindows(RateWindows, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        self.sql = WindowSQL("rate_windows", "?")
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.sql.ddl("TEXT", "REAL")]


class PostgresRateWindows(RateWindows, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        prefix = self.tracking_table_name.removesuffix("_tracking")
        self.sql = WindowSQL(f'"{self.datastore.schema}"."{prefix}_windows"', "%s")
        for statement in self.sql.ddl("TEXT", "DOUBLE PRECISION"):
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]
