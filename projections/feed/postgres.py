"""The `feed` view in PostgreSQL (tables named after the projection, in the store's schema)."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL

from projections.feed.view import FeedSQL, SQLFeedView


class PostgresFeedView(SQLFeedView, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        name = self.tracking_table_name.removesuffix("_tracking")  # index names stay unqualified
        schema = self.datastore.schema
        self.sql = FeedSQL(
            f'"{schema}"."{name}"',
            f'"{schema}"."{name}_jobs"',
            "%s",
            ("BIGINT", "TEXT", "DOUBLE PRECISION"),
        )
        for statement in self.sql.ddl(name):
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]
