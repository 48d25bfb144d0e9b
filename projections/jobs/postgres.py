"""The `jobs` view in PostgreSQL (tables named after the projection, in the store's schema)."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL

from projections.jobs.view import JobsSQL, SQLJobsView


class PostgresJobsView(SQLJobsView, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        prefix = self.tracking_table_name.removesuffix("_tracking")
        self.sql = JobsSQL(f'"{self.datastore.schema}"."{prefix}"', "%s")
        for statement in self.sql.ddl("TEXT", "DOUBLE PRECISION", prefix):
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]
