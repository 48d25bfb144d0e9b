"""The `inflight` view in SQLite (its own file; SQLite serialises writers, so no locks)."""

from __future__ import annotations

from typing import Any

from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from projections.inflight.store import SQLInflightView
from projections.inflight.view import InflightSQL


class SQLiteInflightView(SQLInflightView, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        self.sql = InflightSQL("inflight", "?", "TEXT", "REAL", "inflight", "inflight_finished")
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.sql.ddl]
