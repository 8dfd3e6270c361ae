"""User queries on a MonetDB server: their time limit, and stopping them from outside.

A user query (an `isolated` read) is stopped in three layers, each there because the one before
it can miss (measured on mserver5 11.45.17, Sep2022-SP3):

1. MonetDB's own limit: every reader session runs `CALL sys.setquerytimeout(seconds)` when it
   connects (seconds, not milliseconds: a limit of 2 aborts a long query with `HYT00!Query aborted
   due to timeout` after about 2.1 s, a many-step query and a single large join alike; the session
   answers the next statement at once). MonetDB checks it between and inside its operators, so an
   operator that never checks could still run on.
2. A watchdog thread, for a query still running `STOP_GRACE_SECONDS` past its limit or whose
   client left (`QueryScope.cancel`): `CALL sys.stop(tag)` from a connection of the owner (an
   administrator sees every session in `sys.queue()`; the read-only user may not stop anything),
   with the tag `sys.queue()` shows running in the reader's session. Measured: the query ends
   within about 0.5 s with "Query with tag N received stop signal" and its session stays usable.
3. A query still running `STOP_GRACE_SECONDS` after its stop gets its socket shut: the request
   thread and the reader's pool slot are free at once; the connection is dropped, and MonetDB ends
   that session when its statement ends.

A stop never reaches a later statement of the same session: a query stops being stoppable
(`UserQueries.stoppable`) under the same lock the watchdog holds while it stops one, before the
reader sends anything else (its ROLLBACK).

A user query's rows are fetched in blocks sized to hold about `FETCH_BLOCK_BYTES`, counting what
they take once converted, and the read is refused past `result_bytes`: pymonetdb would otherwise
receive a whole result (or ever larger prefetches) in one go.
"""
import contextlib
import logging
import socket
import threading
import time

import pymonetdb

from dfanalyzer.errors import QueryRejected
from dfanalyzer.store.base import QueryScope

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5
WATCH_PERIOD_SECONDS = 0.5
TIMED_OUT = "timed out"
CLIENT_LEFT = "client left"
SERVICE_STOPPING = "service stopping"
SERVER_TIME_LIMIT = "HYT00!"
VALUE_BYTES = 40  # what one converted value takes besides its text (the embedded store counts the same)
FIRST_ROWS = 20
FETCH_BLOCK_BYTES = 4 * 2**20
LARGEST_FETCH_ROWS = 5_000


def _row_bytes(row):
    return sum(VALUE_BYTES + (len(value) if isinstance(value, (str, bytes)) else 0) for value in row)


class ReaderConnection:
    """A connection of the read-only user, with its MonetDB session id (what `sys.queue()` names)
    and the session's time limit set.

    Args:
        connection: an open pymonetdb connection of the read-only user, in autocommit mode.
        query_timeout: seconds MonetDB lets each statement of the session run; 0 for no limit.
    """

    def __init__(self, connection, query_timeout):
        self.connection = connection
        cursor = connection.cursor()
        if query_timeout:
            cursor.execute(f"CALL sys.setquerytimeout({int(query_timeout)})")
        cursor.execute("SELECT current_sessionid()")
        self.session_id = cursor.fetchone()[0]

    def cursor(self):
        return self.connection.cursor()

    def close(self):
        self.connection.close()

    def sever(self):
        """Shuts the socket under a statement in flight: the thread waiting for its answer gets a
        broken connection at once."""
        with contextlib.suppress(OSError, AttributeError):
            self.connection.mapi.sock.shutdown(socket.SHUT_RDWR)


class _ServerQueryScope(QueryScope):
    """The user queries one request runs on this thread; `cancel()` stops them from any thread."""

    def __init__(self, queries):
        self.queries = queries
        self.cancelled = False
        self.thread = None

    def __enter__(self):
        self.thread = threading.get_ident()
        self.queries.enter_scope(self)
        return self

    def __exit__(self, *exc_info):
        self.queries.leave_scope(self)
        return False

    def cancel(self):
        self.queries.cancel_scope(self)


class _RunningQuery:
    def __init__(self, scope):
        self.scope = scope
        self.started = None  # when its statement started (waiting for a reader does not count)
        self.reader = None  # set while its statement runs: what the watchdog may stop
        self.reason = None  # TIMED_OUT, CLIENT_LEFT or SERVICE_STOPPING once the service decided to stop it
        self.stop_sent_at = None


class UserQueries:
    """The user queries in flight on one MonetDB server and the watchdog that stops them.

    Args:
        connect_owner: returns a new pymonetdb connection of the owner (an administrator).
        query_timeout: seconds a user query may run; 0 for no limit.
        result_bytes: memory one user query's rows may take once converted; a larger result is
            refused with QueryRejected.
    """

    def __init__(self, connect_owner, query_timeout, result_bytes=100 * 2**20):
        self.connect_owner = connect_owner
        self.query_timeout = query_timeout
        self.result_bytes = result_bytes
        self._lock = threading.Lock()
        self._running = []
        self._scopes = {}
        self._wake = threading.Event()
        self._closed = False
        self._stopper = None
        self._watchdog = threading.Thread(target=self._watch, name="monetdb-query-watchdog", daemon=True)
        self._watchdog.start()

    # -- scopes (one request's queries) ----------------------------------------------------------

    def scope(self):
        return _ServerQueryScope(self)

    def enter_scope(self, scope):
        with self._lock:
            self._scopes[scope.thread] = scope

    def leave_scope(self, scope):
        with self._lock:
            self._scopes.pop(scope.thread, None)

    def cancel_scope(self, scope):
        with self._lock:
            scope.cancelled = True
            for query in self._running:
                if query.scope is scope and query.reason is None:
                    query.reason = CLIENT_LEFT
        self._wake.set()

    # -- queries -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def tracked(self):
        """One user query from before it takes a reader to after it gave it back; any error it
        ends with becomes the 400 that says why it was stopped, if it was."""
        with self._lock:
            scope = self._scopes.get(threading.get_ident())
            if scope is not None and scope.cancelled:
                raise QueryRejected(self.refusal(CLIENT_LEFT))
            query = _RunningQuery(scope)
            self._running.append(query)
        try:
            yield query
        except Exception as error:
            reason = query.reason or (TIMED_OUT if SERVER_TIME_LIMIT in str(error) else None)
            if reason is None:
                raise
            raise QueryRejected(self.refusal(reason)) from None
        finally:
            with self._lock:
                self._running.remove(query)

    @contextlib.contextmanager
    def stoppable(self, query, reader):
        """The statement of `query` runs on `reader` inside this block; the watchdog may stop it."""
        with self._lock:
            if query.reason is not None:
                raise QueryRejected(self.refusal(query.reason))
            query.reader = reader
            query.started = time.monotonic()
        try:
            yield
        finally:
            with self._lock:  # waits for a stop in progress, so none reaches the next statement
                query.reader = None

    def fetched(self, cursor, limit):
        """(columns, rows) of the statement `cursor` ran, at most `limit` rows (None: all), in
        blocks of about FETCH_BLOCK_BYTES; QueryRejected once they would take more than
        `result_bytes`. The cursor must have been given `prepare_cursor` before its execute."""
        columns = [d[0] for d in cursor.description] if cursor.description else []
        wanted = cursor.rowcount if limit is None else min(limit, cursor.rowcount)
        rows, size, block = [], 0, FIRST_ROWS
        while len(rows) < wanted:
            fetched = cursor.fetchmany(min(block, wanted - len(rows)))
            if not fetched:
                break
            fetched_size = sum(_row_bytes(row) for row in fetched)
            size += fetched_size
            if size > self.result_bytes:
                raise QueryRejected(
                    f"the result is larger than the service lets one query hold in memory ({wanted} rows); "
                    "ask for fewer rows (a smaller limit) or fewer or shorter columns")
            rows.extend(fetched)
            block = max(1, min(LARGEST_FETCH_ROWS, FETCH_BLOCK_BYTES * len(fetched) // max(1, fetched_size)))
        return columns, rows

    @staticmethod
    def prepare_cursor(cursor):
        """MonetDB sends only FIRST_ROWS with the answer and pymonetdb fetches no more than asked."""
        cursor.replysize = FIRST_ROWS
        cursor.maxprefetch = 0

    def refusal(self, reason):
        if reason == CLIENT_LEFT:
            return "the query was stopped because its client disconnected"
        if reason == SERVICE_STOPPING:
            return "the query was stopped because DfAnalyzer is stopping; send it again once it is back"
        return (f"the query was stopped after the service's limit of {self.query_timeout}s "
                "(`dfanalyzer start --query-timeout`); make it cheaper, e.g. filter before "
                "joining, or raise the limit")

    def longest_seconds(self):
        with self._lock:
            started = [query.started for query in self._running if query.started is not None]
        return time.monotonic() - min(started) if started else 0.0

    # -- the watchdog ------------------------------------------------------------------------------

    def _watch(self):
        while not self._closed:
            self._wake.wait(WATCH_PERIOD_SECONDS)
            self._wake.clear()
            with self._lock:
                overdue = self._mark_overdue()
            if not overdue:
                continue
            stopper = self._stopper_connection()  # outside the lock: connecting may take seconds
            with self._lock:
                for query in overdue:
                    if query.reader is not None:  # else its statement ended meanwhile
                        self._stop(query, stopper)

    def _mark_overdue(self):
        now = time.monotonic()
        for query in self._running:
            if query.reason is None and self.query_timeout and query.started is not None and \
                    now - query.started > self.query_timeout + STOP_GRACE_SECONDS:
                query.reason = TIMED_OUT
        return [query for query in self._running if query.reason is not None and query.reader is not None]

    def _stop(self, query, stopper):
        """sys.stop until the grace is over, then the socket (called with the lock held)."""
        now = time.monotonic()
        if query.stop_sent_at is None:
            query.stop_sent_at = now
        elif now - query.stop_sent_at > STOP_GRACE_SECONDS:
            log.warning("a user query (%s) did not end %ds after MonetDB was told to stop it; "
                        "dropping its connection", query.reason, STOP_GRACE_SECONDS)
            query.reader.sever()
            return
        if stopper is None:
            return
        try:
            cursor = stopper.cursor()
            cursor.execute("SELECT tag FROM sys.queue() WHERE sessionid = %s AND status = 'running'",
                           [query.reader.session_id])
            for (tag,) in cursor.fetchall():
                cursor.execute(f"CALL sys.stop({int(tag)})")
        except (pymonetdb.Error, OSError, EOFError) as error:
            # The statement may have ended meanwhile, or MonetDB is away: the next round tries again
            # on a new connection and, after the grace, the socket is shut.
            log.debug("stopping a user query failed: %s", error)
            self._drop_stopper()

    def _stopper_connection(self):
        """The owner's connection that stops queries; None while MonetDB cannot be reached."""
        if self._stopper is None:
            try:
                self._stopper = self.connect_owner()
            except Exception as error:  # the store's connect raises ServerGone; tried again next round
                log.debug("no connection to stop user queries: %s", error)
        return self._stopper

    def _drop_stopper(self):
        if self._stopper is not None:
            with contextlib.suppress(Exception):
                self._stopper.close()
            self._stopper = None

    def close(self):
        """Ends the watchdog and stops the queries still running: MonetDB would otherwise run
        them to their end after the service is gone (it does not notice a closed connection
        while it executes)."""
        self._closed = True
        self._wake.set()
        self._watchdog.join(WATCH_PERIOD_SECONDS * 4)
        with self._lock:
            running = [query for query in self._running if query.reader is not None]
            for query in running:
                query.reason = query.reason or SERVICE_STOPPING
        if running:
            stopper = self._stopper_connection()
            with self._lock:
                for query in running:
                    if query.reader is not None:
                        self._stop(query, stopper)
        with self._lock:
            self._drop_stopper()
