"""Embedded MonetDB (monetdbe): the database lives in files of the data directory, owned by
this process."""
import contextlib
import fcntl
import itertools
import os
import queue
import threading
import time

from dfanalyzer.disk_space import DiskSpace
from dfanalyzer.errors import DirectoryInUse, QueryCancelled, QueryRejected, StoreUnavailable
from dfanalyzer.identifiers import quote
from dfanalyzer.store.base import Store, Transaction, plain_value
from dfanalyzer.store.embedded_scope import EmbeddedQueryScope
from dfanalyzer.store.engine import EngineError, ffi
from dfanalyzer.store.heap_lock import HeapLock
from dfanalyzer.store.session import Session
from dfanalyzer.store.stale_backups import StaleBackupWatch, remove_stale_backups

# Values per INSERT statement when appending (64 rows of 10 columns): monetdbe_bind walks a list to
# its parameter, so binding costs grow with the square of a statement's values, while executing
# costs less per row the more rows a statement has.
INSERT_CHUNK_VALUES = 640
SERVICE_READERS = 2  # the service's own reads: health, runs, models, graphs, exports
QUERY_READERS = 2  # user SQL (POST /api/v1/query): slow queries only ever hold these
MAX_PREEMPTIONS = 3  # a user query stopped this often for writers then runs to its end
LOCK_WAIT_SECONDS = 10  # a previous process of the same data directory may still be exiting
DDL_PREFIXES = ("CREATE", "ALTER", "DROP")


class _EmbeddedTransaction(Transaction):
    """Statements of one transaction, each run on the writer session that owns the connection."""

    def __init__(self, store):
        self.store = store
        self.changed_tables = False

    def execute(self, sql, params=()):
        if sql.lstrip()[:6].upper().startswith(DDL_PREFIXES):
            self.changed_tables = True
            self.store._schema_changed()
        self._call(lambda connection: connection.run(sql, params))

    def fetch(self, sql, params=()):
        result = self._call(lambda connection: connection.run(sql, params))
        return [tuple(plain_value(v) for v in row) for row in result.rows]

    def append(self, schema, table, columns, kinds):
        self.append_tables([(schema, table, columns, kinds)])

    def append_tables(self, appends):
        # Multi-row INSERTs with bound values, not monetdbe_append: monetdbe 0.11 appends NULLs
        # (its own nil values) without telling the column it now holds some, so IS NULL misses
        # them (seen on a column added by ALTER TABLE and on a new table's first rows), which
        # lost the consumer links (`<transformation>_task_id IS NULL` updates found no rows).
        # All in one call of the writer session: each call is a hand-over between threads.
        self.store.disk_space.check()  # while writing: the disk may fill during a long batch
        inserts = [_inserts(schema, table, columns, kinds) for schema, table, columns, kinds in appends]

        def insert_all(connection):
            for statements, values in inserts:
                start = 0
                for sql, size in statements:
                    connection.run_columns(sql, values, start, size)
                    start += size

        self._call(insert_all)

    def _call(self, work):
        try:
            return self.store._writer.call(work, keep_open=True)
        except EngineError as error:
            raise self.store._disk_full_or(error) from error


def _inserts(schema, table, columns, kinds):
    """([(INSERT statement, its row count)], column values) that append `columns` to the table."""
    names = list(columns)
    values = [_column_values(columns[name], kinds[name]) for name in names]
    target = f"{quote(schema)}.{quote(table)} ({', '.join(quote(name) for name in names)})"
    row_marks = "(" + ", ".join("?" * len(names)) + ")"
    sizes = _chunk_sizes(len(values[0]) if values else 0, len(names))
    return [(f"INSERT INTO {target} VALUES " + ", ".join([row_marks] * size), size) for size in sizes], values


def _chunk_sizes(count, width):
    """Row counts of the INSERTs for `count` rows of `width` columns: full chunks, then powers of
    two, so that a table needs only a few distinct prepared statements whatever the batch sizes."""
    largest = 1
    while largest * 2 * width <= INSERT_CHUNK_VALUES:
        largest *= 2
    sizes = [largest] * (count // largest)
    rest = count % largest
    power = largest
    while rest:
        power //= 2
        if rest >= power:
            sizes.append(power)
            rest -= power
    return sizes


def _column_values(values, kind):
    """Values of one column as bound parameters: NaN is NULL for doubles."""
    if kind == "timestamp":
        return list(values)
    if kind == "double":
        return [None if v is None or v != v else float(v) for v in values]
    if kind == "bigint":
        return [None if v is None else int(v) for v in values]
    return [None if v is None else str(v) for v in values]


class _SessionPool:
    """Sessions handed to one caller at a time; a caller waits for a free one."""

    def __init__(self, sessions):
        self.sessions = sessions
        self._free = queue.Queue()
        for session in sessions:
            self._free.put(session)

    def call(self, work):
        session = self._free.get()
        try:
            return session.call(work)
        finally:
            self._free.put(session)


class EmbeddedStore(Store):
    """MonetDB embedded in this process, with its files in `database_dir`.

    Only one process may open a database directory; a lock file makes a second one fail with a
    message naming the holder instead of corrupting the data.

    Args:
        database_dir: the database directory.
        query_timeout: seconds after which the engine aborts a user query (an `isolated` read).
        query_result_bytes: memory one user query's rows may take once converted; a larger
            result is refused with QueryRejected.
        min_free: bytes of its disk that writes leave free; a write that would leave less
            raises DiskFull, as does one the engine fails for want of space (see disk_space).
    """

    def __init__(self, database_dir, query_timeout=30, query_result_bytes=100 * 2**20, min_free=0):
        if ffi is None:
            raise StoreUnavailable(
                "embedded MonetDB (monetdbe) is not installed; run `bash scripts/bootstrap.sh`, or use a "
                "MonetDB server with --monetdb-url")
        os.makedirs(database_dir, exist_ok=True)
        self.database_dir = database_dir
        self.query_timeout = query_timeout
        self.query_result_bytes = query_result_bytes
        self._lock_file = self._take_directory_lock(database_dir)
        self._write_lock = threading.Lock()
        self._schema_version = 0
        self._heap_lock = HeapLock()
        self._query_starts = {}  # session thread -> when its user query started
        self.disk_space = DiskSpace(0, [database_dir])  # the catalog's creation (at opening) is not refused
        self._anchor = self._writer = None
        self._service_readers = self._query_readers = _SessionPool([])
        self._stale_backups = None
        remove_stale_backups(database_dir)  # before the engine would restore them
        try:
            # The first connection opened starts the database and must be the last one closed:
            # it does nothing else, so every other connection can be replaced at any time.
            self._anchor = Session(database_dir, "monetdbe-anchor", recycle=False)
            self._writer = self._session("monetdbe-writer", writes=True)
            self._service_readers = _SessionPool(
                [self._session(f"monetdbe-reader-{n}") for n in range(SERVICE_READERS)])
            self._query_readers = _SessionPool(
                [self._session(f"monetdbe-query-{n}", query_timeout) for n in range(QUERY_READERS)])
        except Exception as error:
            self.close()
            full = DiskSpace(min_free, [database_dir]).explains(error)  # MonetDB cannot start on a full disk
            if full or isinstance(error, StoreUnavailable):
                raise full or error
            raise StoreUnavailable(f"cannot open embedded MonetDB in {database_dir}: {error}") from error
        # The engine's start replays its log and commits it, which may leave stale backups.
        remove_stale_backups(database_dir, engine_open=True)
        self.create_catalog()
        self._stale_backups = StaleBackupWatch(database_dir)
        self.disk_space = DiskSpace(min_free, [database_dir])

    def create_catalog(self):
        super().create_catalog()
        self._drop_message_id_key()

    def _drop_message_id_key(self):
        """Drops the primary key of ingested_message, which catalog.sql declares for MonetDB
        servers (where it also stops two services storing one id). Embedded MonetDB checks it by
        scanning the whole table at every INSERT (about 0.5 ms per id at 200,000 ids, growing
        with every message ever stored); here the ingestor, the only writer, looks each id up
        in the same transaction that stores it, which keeps ids unique on its own."""
        _, keys = self.read(
            "SELECT k.name FROM sys.keys k JOIN sys.tables t ON k.table_id = t.id JOIN sys.schemas s "
            "ON t.schema_id = s.id WHERE s.name = 'sys' AND t.name = 'ingested_message' AND k.type = 0")
        for (key,) in keys:
            with self.write() as tx:
                tx.execute(f"ALTER TABLE sys.ingested_message DROP CONSTRAINT {quote(key)}")

    def _session(self, name, query_timeout=0, writes=False):
        return Session(self.database_dir, name, query_timeout=query_timeout,
                       schema_version=lambda: self._schema_version, heap_lock=self._heap_lock, writes=writes)

    def _schema_changed(self):
        self._schema_version += 1

    @staticmethod
    def _take_directory_lock(database_dir):
        path = os.path.join(database_dir, ".dfanalyzer.lock")
        lock_file = open(path, "a+")
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                lock_file.seek(0)
                holder = lock_file.read().strip() or "another process"
                lock_file.close()
                raise DirectoryInUse(
                    f"the data directory {os.path.dirname(database_dir)} is in use by {holder}; stop that "
                    "process (`dfanalyzer stop --data-dir ...`) or choose another --data-dir", holder
                ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"process {os.getpid()}")
        lock_file.flush()
        return lock_file

    def ping(self):
        # On the connection that keeps the database open: it touches no table, so it takes no
        # HeapLock and waits for no reader or writer.
        self._anchor.call(lambda connection: connection.run_unguarded("SELECT 1"))

    def read(self, sql, params=(), limit=None, isolated=False):
        if isolated:
            scope = EmbeddedQueryScope.current()
            return self._query_readers.call(
                lambda connection: self._read_isolated(connection, sql, params, limit, scope))
        result = self._service_readers.call(lambda connection: connection.run(sql, params, max_rows=limit))
        return result.columns, [tuple(plain_value(v) for v in row) for row in result.rows]

    def user_query_scope(self):
        return EmbeddedQueryScope()

    def longest_query_seconds(self):
        started = list(self._query_starts.values())
        return time.monotonic() - min(started) if started else 0.0

    def _read_isolated(self, connection, sql, params, limit, scope):
        """Runs a user query in a transaction rolled back. A writer that waits for it long stops
        it (HeapLock); it then runs again after that writer, within what is left of its time
        limit, at most MAX_PREEMPTIONS times before it keeps its reader to the end."""
        started = self._query_starts[threading.get_ident()] = time.monotonic()
        try:
            for preemptions in itertools.count():
                left = self.query_timeout - (time.monotonic() - started)
                if left <= 0:
                    raise self._past_time_limit()
                if scope.cancelled:
                    raise QueryCancelled("the query was cancelled: its client went away")
                with scope.stopping_with(lambda: connection.interrupt("cancelled")):
                    result = self._run_isolated(connection, sql, params, limit, left,
                                                preemptible=preemptions < MAX_PREEMPTIONS,
                                                cancelled=lambda: scope.cancelled)
                if result is not None:
                    return result.columns, [tuple(plain_value(v) for v in row) for row in result.rows]
        finally:
            self._query_starts.pop(threading.get_ident(), None)

    def _run_isolated(self, connection, sql, params, limit, seconds, preemptible, cancelled):
        """The query's Result, or None when it was interrupted (preempted or cancelled)."""
        connection.run("START TRANSACTION")
        try:
            return connection.run(sql, params, max_rows=limit, max_bytes=self.query_result_bytes,
                                  time_limit=seconds * 1_000_000, preemptible=preemptible, cancelled=cancelled)
        except EngineError as error:
            if "aborted due to timeout" not in str(error):
                raise
            if connection.stop_reason is None:
                raise self._past_time_limit() from None
            return None
        finally:
            connection.run("ROLLBACK")

    def _past_time_limit(self):
        return QueryRejected(f"the query was stopped after the service's limit of {self.query_timeout}s "
                             "(`dfanalyzer start --query-timeout`); make it cheaper, e.g. filter before "
                             "joining, or raise the limit")

    def check_space(self, needed=0):
        self.disk_space.check(needed)

    def _disk_full_or(self, error):
        """DiskFull when `error` (the engine's) comes from a full disk, else `error` itself."""
        return self.disk_space.explains(error) or error

    @contextlib.contextmanager
    def write(self):
        self.disk_space.check()  # before writing: refused whole, nothing half-written
        with self._write_lock, self._heap_lock.transaction():
            transaction = _EmbeddedTransaction(self)
            transaction.execute("START TRANSACTION")
            try:
                yield transaction
                self.disk_space.check()  # the commit writes the log: refused (rolled back) when short
            except BaseException:
                self._end(transaction, "ROLLBACK")
                raise
            self._end(transaction, "COMMIT")

    def _end(self, transaction, statement):
        try:
            self._writer.call(lambda connection: connection.run(statement))
        except EngineError as error:
            raise self._disk_full_or(error) from error
        finally:
            if transaction.changed_tables:
                self._schema_changed()  # statements prepared meanwhile saw the old tables

    def close(self, timeout=None):
        """Closes every connection, each on its own thread, the database-starting one last.
        Returns False when a statement still ran after `timeout` seconds: the engine is then left
        open (closing the first connection under a running one crashes the process); what was
        committed is safe in MonetDB's write-ahead log either way."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._stale_backups is not None:
            self._stale_backups.stop()
            self._stale_backups = None
        closed = True
        for session in [self._writer, *self._service_readers.sessions, *self._query_readers.sessions]:
            if session is not None:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                closed = session.close(left) and closed
        if closed and self._anchor is not None:
            self._anchor.close()
        self._anchor = self._writer = None
        self._service_readers = self._query_readers = _SessionPool([])
        if self._lock_file and closed:
            self._lock_file.close()
            self._lock_file = None
        return closed
