"""eventsourcing's PostgreSQL persistence, failing fast while the server is unreachable.

The library retries every store call ten times on a connection error, and each try waits up
to the pool's timeout for a connection: with PostgreSQL down, one request took ~50 s to get
its 503. Here each pool (one per process and server: `Shared`) has a breaker: after it got
no connection within its timeout, callers fail at once (`StoreDown`, which the library does not
retry and the surfaces answer with 503 + Retry-After) while one caller at a time probes the
server, at most every `PROBE_INTERVAL` seconds; the first connection obtained closes it.
After an outage each pool drops its dead idle connections before its next use, so recovery
costs no failed request. Used by naming this module as `PERSISTENCE_MODULE` (`stores.py`).
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Iterator
from typing import Any

import eventsourcing.postgres as library
from eventsourcing.persistence import DatabaseError, InterfaceError, OperationalError
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg_pool import PoolTimeout

PROBE_INTERVAL = 0.5  # seconds between two attempts to reach a server found unreachable
RECONNECT_TIMEOUT = 2.0  # seconds the pool keeps retrying one failed connection
MAX_IDLE = 60.0  # seconds an extra connection stays open unused
APPLICATION_NAME = "APPLICATION_NAME"  # environment key: the connections' application_name


class StoreDown(DatabaseError):
    """The server was unreachable moments ago; nothing was tried (not retried either)."""


class Breaker:
    """Open after a failed connection attempt; one probe at a time while open.

    Armed by the first connection obtained: until then (a process starting while the server
    is still coming up, or at its connection limit) callers wait and retry as the library
    does, since failing fast at start-up would only make the process exit.
    """

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._open = False
        self._probing = False
        self._next_probe = 0.0
        self._armed = False
        self.outages = 0  # how many times it opened: pools check their idle connections after

    def enter(self) -> bool:
        """Whether the caller may try now (True: a probe when open; call `done` after)."""
        with self._lock:
            if not self._open:
                return False
            if self._probing or self._clock() < self._next_probe:
                raise StoreDown("the database is unreachable; retry shortly")
            self._probing = True
            return True

    def done(self, probe: bool, reached: bool) -> None:
        with self._lock:
            if probe:
                self._probing = False
            if reached:
                self._open, self._armed = False, True
            elif self._armed:
                self.outages += 0 if self._open else 1
                self._open = True
                self._next_probe = self._clock() + PROBE_INTERVAL


class GuardedDatastore(library.PostgresDatastore):
    breaker: Breaker
    outages_seen = 0

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[Connection[DictRow]]:
        probe = self.breaker.enter()
        if self.outages_seen != self.breaker.outages and not probe:
            # The server went away since this pool last looked: its idle connections are
            # dead. Drop them now rather than fail one request on each.
            self.outages_seen = self.breaker.outages
            with contextlib.suppress(Exception):
                self.pool.check()
        with contextlib.ExitStack() as stack:
            try:
                conn = stack.enter_context(super().get_connection())
            except (OperationalError, InterfaceError) as error:
                # Only a pool that got no connection in its whole timeout says the server is
                # unreachable; a dead pooled connection failing is the library's to retry.
                self.breaker.done(probe, reached=not isinstance(error.__cause__, PoolTimeout))
                raise
            except BaseException:
                self.breaker.done(probe, reached=True)  # reached it; something else failed
                raise
            self.breaker.done(probe, reached=True)
            yield conn


class Shared:
    """One connection pool per process and server, shared by every store built on it.

    The library gives each factory (the event store, and each view and follower's tracking
    recorder) a pool of its own: an idle `vidgate serve` held ~34 connections and a second
    process hit a default server's `max_connections`. Here the first store built for a
    server (same database, user, schema and pool settings) keeps its datastore; the next
    ones get a handle on it (a shallow copy: the same pool and breaker). Closing a handle
    releases it; the pool closes with the last one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._roots: dict[tuple[str, ...], tuple[SharedDatastore, int]] = {}

    def acquire(self, key: tuple[str, ...], built: SharedDatastore) -> SharedDatastore:
        with self._lock:
            root, users = self._roots.get(key, (built, 0))
            self._roots[key] = (root, users + 1)
            handle = copy.copy(root)
            handle.shared_key = key
            return handle

    def release(self, key: tuple[str, ...]) -> None:
        with self._lock:
            root, users = self._roots[key]
            if users > 1:
                self._roots[key] = (root, users - 1)
                return
            del self._roots[key]
        with contextlib.suppress(Exception):
            root.pool.close()


SHARED = Shared()


class SharedDatastore(GuardedDatastore):
    """A handle on a shared datastore (`Shared`): closing it releases the pool once."""

    shared_key: tuple[str, ...] | None = None

    def close(self) -> None:
        key, self.shared_key = self.shared_key, None
        if key is not None:
            SHARED.release(key)

    def __del__(self) -> None:
        self.close()


# The one factory class in this module (the library finds it by scanning the module, so the
# library's own factory is reached through `library.`, never imported by name).
class PostgresFactory(library.PostgresFactory):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The library builds its datastore from the environment in its own __init__; the
        # guarded class adds behaviour only, so the built one is re-classed rather than
        # rebuilt from a copy of that parsing.
        datastore: Any = self.datastore
        datastore.__class__ = SharedDatastore
        datastore.breaker = Breaker()
        # psycopg's pool retries a failed connection with a doubling pause for up to 5 minutes:
        # after a 30 s outage it could sleep 30 s more before trying the server that is back.
        # Giving up after 2 s instead lets the next caller start a fresh, immediate attempt.
        datastore.pool.reconnect_timeout = RECONNECT_TIMEOUT
        # Connections opened for a burst go back to the pool's minimum after a minute idle
        # (psycopg's default is ten), so an idle process holds few.
        datastore.pool.max_idle = MAX_IDLE
        name = self.env.get(APPLICATION_NAME)
        if name:  # who holds a connection, in pg_stat_activity
            datastore.pool.kwargs["application_name"] = name
        # Not opened yet (the library opens a pool on first use): an unused one costs nothing.
        self.datastore = SHARED.acquire(self._shared_key(), datastore)

    def _shared_key(self) -> tuple[str, ...]:
        """What must be equal for two stores to share a pool."""
        keys = (
            self.POSTGRES_DBNAME,
            self.POSTGRES_HOST,
            self.POSTGRES_PORT,
            self.POSTGRES_USER,
            self.POSTGRES_PASSWORD,
            self.POSTGRES_SCHEMA,
            self.POSTGRES_POOL_SIZE,
            self.POSTGRES_MAX_OVERFLOW,
            self.POSTGRES_CONNECT_TIMEOUT,
            self.POSTGRES_LOCK_TIMEOUT,
            APPLICATION_NAME,
        )
        return tuple(self.env.get(key) or "" for key in keys)
