"""The `feed` view in SQLite (its own file: SQLite tracking tables ignore view names)."""

from __future__ import annotations

from typing import Any

from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from projections.feed.view import FeedSQL, SQLFeedView


class SQLiteFeedView(SQLFeedView, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        # INTEGER PRIMARY KEY: the position is the rowid, so paging walks the table itself.
        self.sql = FeedSQL("feed", "feed_jobs", "?", ("INTEGER", "TEXT", "REAL"))
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.sql.ddl("feed")]
