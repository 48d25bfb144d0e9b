"""The `deliveries` view in PostgreSQL; several senders share the queue with SKIP LOCKED."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL

from projections.deliveries.store import SQLDeliveriesView
from projections.deliveries.view import DeliveriesSQL


class PostgresDeliveriesView(SQLDeliveriesView, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        prefix = self.tracking_table_name.removesuffix("tracking")
        self.sql = DeliveriesSQL(prefix, "%s", "TEXT", "DOUBLE PRECISION", self.datastore.schema)
        for statement in self.sql.ddl:
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]

    def _skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED"
