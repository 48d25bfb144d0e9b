"""The `jobs` view in SQLite (its own file: SQLite tracking tables ignore view names)."""

from __future__ import annotations

from typing import Any

from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from projections.jobs.view import JobsSQL, SQLJobsView


class SQLiteJobsView(SQLJobsView, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        self.sql = JobsSQL("jobs", "?")
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.sql.ddl("TEXT", "REAL", "jobs")]
