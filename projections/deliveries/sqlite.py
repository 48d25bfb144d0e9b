"""The `deliveries` view in SQLite (its own file; SQLite serialises writers, so no locks)."""

from __future__ import annotations

from typing import Any

from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from projections.deliveries.store import SQLDeliveriesView
from projections.deliveries.view import DeliveriesSQL


class SQLiteDeliveriesView(SQLDeliveriesView, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        self.sql = DeliveriesSQL("", "?", "TEXT", "REAL")
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.sql.ddl]
