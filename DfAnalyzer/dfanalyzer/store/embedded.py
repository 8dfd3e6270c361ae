"""Embedded MonetDB (monetdbe): the database lives in files of the data directory, owned by
this process."""
import contextlib
import datetime
import fcntl
import logging
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from dfanalyzer.errors import QueryRejected, StoreUnavailable
from dfanalyzer.store.base import Store, Transaction, plain_value

with warnings.catch_warnings():
    # monetdbe 0.11 imports pkg_resources only to read its own version.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    try:
        import monetdbe
        from monetdbe._cffi.errors import check_error
        from monetdbe._cffi.internal import execute as execute_statement
        from monetdbe._lowlevel import ffi, lib
    except ImportError as error:  # reported when a store is opened, not at import
        monetdbe = None
        MONETDBE_IMPORT_ERROR = error

# monetdbe logs every result cleanup at INFO and every failed statement at ERROR; the failures
# reach us as exceptions, which we report with context.
logging.getLogger("monetdbe").setLevel(logging.CRITICAL)

INT64_NULL = np.iinfo(np.int64).min
READER_THREADS = 4


def _timestamp_struct(value):
    struct = ffi.new("monetdbe_data_timestamp *")
    struct.date.year, struct.date.month, struct.date.day = value.year, value.month, value.day
    struct.time.hours, struct.time.minutes, struct.time.seconds = value.hour, value.minute, value.second
    struct.time.ms = value.microsecond // 1000
    return struct


def _bound_value(value, param_type):
    """The C value monetdbe_bind expects for a parameter of `param_type`.

    monetdbe 0.11's own binding cannot bind None and picks the integer width from the value, not
    from the parameter, so we convert to the parameter's declared type ourselves.
    """
    if value is None:
        return ffi.NULL
    if param_type in (lib.monetdbe_double, lib.monetdbe_float):
        return ffi.new("double *" if param_type == lib.monetdbe_double else "float *", float(value))
    if param_type == lib.monetdbe_int64_t:
        return ffi.new("int64_t *", int(value))
    if param_type == lib.monetdbe_int32_t:
        return ffi.new("int32_t *", int(value))
    if param_type == lib.monetdbe_int16_t:
        return ffi.new("int16_t *", int(value))
    if param_type in (lib.monetdbe_int8_t, lib.monetdbe_bool):
        return ffi.new("int8_t *", int(value))
    if param_type == lib.monetdbe_timestamp:
        return _timestamp_struct(value)
    if isinstance(value, datetime.datetime):
        value = value.isoformat(sep=" ")
    return ffi.new("char[]", str(value).encode())


class _Connection:
    """One monetdbe connection with bound-parameter execution."""

    def __init__(self, database_dir):
        self.connection = monetdbe.connect(database_dir, autocommit=True)

    def run(self, sql, params=()):
        """Executes `sql` with `params` bound; returns the cursor holding any result."""
        cursor = self.connection.cursor()
        if not params:
            cursor.execute(sql)
            return cursor
        statement = self.connection.prepare(sql)[0]
        try:
            if statement.nparam != len(params):
                raise QueryRejected(f"statement has {statement.nparam} parameters, {len(params)} given")
            for index, value in enumerate(params):
                check_error(lib.monetdbe_bind(statement, _bound_value(value, statement.type[index]), index))
            self.connection.result, cursor.rowcount = execute_statement(statement, make_result=True)
            cursor._set_description()
        finally:
            self.connection.cleanup_statement(statement)
        return cursor

    def close(self):
        self.connection.close()


class _EmbeddedTransaction(Transaction):
    """Statements of one transaction, each run on the writer thread that owns the connection."""

    def __init__(self, store):
        self.store = store

    def execute(self, sql, params=()):
        self.store._on_writer(lambda connection: connection.run(sql, params))

    def fetch(self, sql, params=()):
        return self.store._on_writer(
            lambda connection: [tuple(plain_value(v) for v in row) for row in connection.run(sql, params).fetchall()])

    def append(self, schema, table, columns, kinds):
        arrays = {name: _column_array(values, kinds[name]) for name, values in columns.items()}
        self.store._on_writer(lambda connection: connection.connection.append(table, arrays, schema=schema))


def _column_array(values, kind):
    """A numpy column for monetdbe's bulk append: NULL is NaN for doubles, INT64_MIN for bigints
    (MonetDB's own NULL representations) and a masked entry for strings."""
    if kind == "double":
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if kind == "bigint":
        return np.array([INT64_NULL if v is None else v for v in values], dtype=np.int64)
    texts = np.array(["" if v is None else str(v) for v in values], dtype=str)
    return np.ma.array(texts, mask=[v is None for v in values])


class EmbeddedStore(Store):
    """MonetDB embedded in this process, with its files in `database_dir`.

    Only one process may open a database directory; a lock file makes a second one fail with a
    message naming the holder instead of corrupting the data.
    """

    def __init__(self, database_dir):
        if monetdbe is None:
            raise StoreUnavailable(
                f"embedded MonetDB (monetdbe) is not installed ({MONETDBE_IMPORT_ERROR}); run "
                "`bash scripts/bootstrap.sh`, or use a MonetDB server with --monetdb-url"
            )
        os.makedirs(database_dir, exist_ok=True)
        self.database_dir = database_dir
        self._lock_file = self._take_directory_lock(database_dir)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._connections = []
        self._connections_lock = threading.Lock()
        # MonetDB checks each call's stack depth against the thread that opened the connection,
        # so every connection lives on one thread of its own: one writer, a few readers.
        self._writer = ThreadPoolExecutor(1, "monetdbe-writer", initializer=self._open_thread_connection)
        self._readers = ThreadPoolExecutor(READER_THREADS, "monetdbe-reader", initializer=self._open_thread_connection)
        try:
            self._writer.submit(lambda: None).result()
        except Exception as error:
            self.close()
            raise StoreUnavailable(f"cannot open embedded MonetDB in {database_dir}: {error}") from error
        self.create_catalog()

    @staticmethod
    def _take_directory_lock(database_dir):
        path = os.path.join(database_dir, ".dfanalyzer.lock")
        lock_file = open(path, "a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "another process"
            lock_file.close()
            raise StoreUnavailable(
                f"the data directory {os.path.dirname(database_dir)} is in use by {holder}; stop that "
                "process (`dfanalyzer stop --data-dir ...`) or choose another --data-dir"
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"process {os.getpid()}")
        lock_file.flush()
        return lock_file

    def _open_thread_connection(self):
        connection = _Connection(self.database_dir)
        self._local.connection = connection
        with self._connections_lock:
            self._connections.append(connection)

    def _on_writer(self, work):
        return self._writer.submit(lambda: work(self._local.connection)).result()

    def read(self, sql, params=(), limit=None, isolated=False):
        return self._readers.submit(self._read_here, sql, params, limit, isolated).result()

    def _read_here(self, sql, params, limit, isolated):
        connection = self._local.connection
        if isolated:
            connection.run("START TRANSACTION")
        try:
            cursor = connection.run(sql, params)
            columns = [d[0] for d in cursor.description] if cursor.description else []
            rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit)
        except monetdbe.exceptions.Error as error:
            raise QueryRejected(str(error).strip()) from error
        except KeyError as error:
            # monetdbe 0.11 cannot return 128-bit integers, which SUM over integers yields.
            raise QueryRejected("a result column has a type embedded MonetDB cannot return (HUGEINT, e.g. "
                                "SUM over integers); CAST it, e.g. CAST(SUM(x) AS BIGINT) or SUM(x) * 1.0") from error
        finally:
            if isolated:
                connection.run("ROLLBACK")
        return columns, [tuple(plain_value(v) for v in row) for row in rows]

    @contextlib.contextmanager
    def write(self):
        with self._write_lock:
            transaction = _EmbeddedTransaction(self)
            transaction.execute("START TRANSACTION")
            try:
                yield transaction
            except BaseException:
                transaction.execute("ROLLBACK")
                raise
            transaction.execute("COMMIT")

    def _close_thread_connection(self, turn, barrier=None):
        if barrier is not None:
            barrier.wait()  # one task per reader thread: each closes its own connection
        connection = getattr(self._local, "connection", None)
        if connection is None:
            return
        with turn:
            # Last opened, first closed: the first connection started the database.
            while self._connections and self._connections[-1] is not connection:
                if not turn.wait(30):
                    break
            self._local.connection = None
            connection.close()
            self._connections.remove(connection)
            turn.notify_all()

    def close(self):
        # A monetdbe connection closed (or garbage-collected) on another thread than the one that
        # opened it, or before a connection opened after it, crashes the process (SIGSEGV): each
        # thread closes its own, in reverse order of opening.
        writer, readers = getattr(self, "_writer", None), getattr(self, "_readers", None)
        turn = threading.Condition(self._connections_lock)
        try:
            futures = []
            if writer is not None:
                futures.append(writer.submit(self._close_thread_connection, turn))
            if readers is not None:
                barrier = threading.Barrier(READER_THREADS, timeout=30)
                futures += [readers.submit(self._close_thread_connection, turn, barrier) for _ in range(READER_THREADS)]
            for future in futures:
                future.result()
        except (RuntimeError, threading.BrokenBarrierError):
            pass  # executors already shut down; what is left is closed below
        for executor in (writer, readers):
            if executor is not None:
                executor.shutdown(wait=True)
        for connection in self._connections:
            connection.close()
        self._connections = []
        if self._lock_file:
            self._lock_file.close()
            self._lock_file = None
