"""The `inflight` view in PostgreSQL; several pollers share the work with SKIP LOCKED."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL

from projections.inflight.store import SQLInflightView
from projections.inflight.view import InflightSQL


class PostgresInflightView(SQLInflightView, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        name = self.tracking_table_name.removesuffix("_tracking")  # index names stay unqualified
        schema = self.datastore.schema
        self.sql = InflightSQL(
            f'"{schema}"."{name}"',
            "%s",
            "TEXT",
            "DOUBLE PRECISION",
            name,
            f'"{schema}"."{name}_finished"',
        )
        for statement in self.sql.ddl:
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]

    def _skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED"
