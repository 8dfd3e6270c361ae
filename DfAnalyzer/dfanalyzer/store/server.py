"""A MonetDB server reached through pymonetdb (`--monetdb-url monetdb://user:pass@host:50000/db`).

Several services may share one database. Every write transaction first takes the writer turn
(updates the one row of `writer_turn`), so two concurrent writers always conflict there, before
doing anything else; the loser is aborted by MonetDB and re-run by `dfanalyzer.store.retry`.
The turn's generation counter also tells a service that another one wrote since its own last
write, so that it forgets what it cached about the catalog (`on_foreign_write`).

When MonetDB goes away, the failing request answers 503 naming the server and the connection is
dropped; the next request connects again, so the service is back by itself once MonetDB is. A
service started before its MonetDB (`wait_for_server`) serves meanwhile the same way, and creates
the catalog as soon as MonetDB answers.

User SQL (`read(..., isolated=True)`) runs as a read-only MonetDB user: the service creates
`dfanalyzer_reader` (password derived from the owner's) or uses the one the operator names with
`reader_url`, and grants it SELECT on every table before each query. Its time limit and its
stopping when the client leaves are in `dfanalyzer.store.server_user_queries`.
"""
import contextlib
import hashlib
import hmac
import logging
import math
import queue
import re
import struct
import threading
from urllib.parse import unquote, urlparse

import pymonetdb
from pymonetdb import Uploader

from dfanalyzer.disk_space import says_no_space
from dfanalyzer.errors import (ConfigurationError, DiskFull, InvalidInput, QueryRejected, StoreUnavailable,
                              WriteConflict)
from dfanalyzer.store.base import Store, Transaction, plain_value
from dfanalyzer.store.retry import retrying
from dfanalyzer.store.server_user_queries import ReaderConnection, UserQueries
from dfanalyzer.store.server_values import OUT_OF_RANGE_ERRORS, tolerate_out_of_range_times

# pymonetdb logs every failed connection attempt at ERROR; while MonetDB is away the 503 answers
# (logged by the API) already say so, once per request instead of twice.
logging.getLogger("pymonetdb").setLevel(logging.CRITICAL)

log = logging.getLogger(__name__)
tolerate_out_of_range_times()

CONNECT_TIMEOUT_SECONDS = 5
WAIT_FOR_SERVER_SECONDS = 2
# MonetDB answered but refuses the settings: waiting would not help.
REFUSED_SETTINGS = ("InvalidCredentials", "request for database", "no such database")
READER_POOL_SIZE = 8
INSERT_ROWS_PER_STATEMENT = 500
INT64_NULL = -(2 ** 63)
TEXT_NULL = b"\x80"
READER_NAME = "dfanalyzer_reader"
SQLSTATE_PREFIX = re.compile(r"^\s*[0-9A-Z]{5}!")
# mserver5's only answer to an INSERT whose column heap could not grow (its log: "GDKextendf: could
# not extend file: No space left on device"); when its write-ahead log finds no space, it exits.
APPEND_FAILED = "Append failed"
STOPPED_BY_SYS_STOP = "received stop signal"  # MonetDB's answer to a stopped query has no SQLSTATE
WRITER_TURN_DDL = ("CREATE TABLE IF NOT EXISTS writer_turn (id INT PRIMARY KEY, generation BIGINT NOT NULL)",
                   "INSERT INTO writer_turn (id, generation) SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM writer_turn)")


def connection_arguments(monetdb_url):
    """pymonetdb.connect keyword arguments from a monetdb:// URL."""
    parsed = urlparse(monetdb_url)
    if parsed.scheme != "monetdb" or not parsed.hostname or not parsed.path.strip("/"):
        raise InvalidInput(
            f"MonetDB URL {public_url(monetdb_url)!r} is not of the form monetdb://user:password@host:50000/database"
        )
    return {
        "hostname": parsed.hostname,
        "port": parsed.port or 50000,
        "database": parsed.path.strip("/"),
        "username": unquote(parsed.username or "monetdb"),
        "password": unquote(parsed.password or "monetdb"),
    }


def public_url(monetdb_url):
    """The URL without its password, fit for messages and logs."""
    parsed = urlparse(monetdb_url)
    if parsed.password is None:
        return monetdb_url
    netloc = f"{parsed.username}@{parsed.hostname}" + (f":{parsed.port}" if parsed.port else "")
    return parsed._replace(netloc=netloc).geturl()


def is_conflict(error):
    """MonetDB aborted the transaction because another one wrote the same rows first."""
    text = str(error)
    return "conflict with another transaction" in text or "transaction is aborted" in text or \
        "concurrency conflict" in text


def is_connection_loss(error, cursor=None):
    """The connection broke (server stopped, killed, restarting) rather than a statement failing.
    Socket errors always mean it broke; SQL errors carry a SQLSTATE (`42000!...`) and never do.
    MonetDB's kernel errors have none (`GDK reported error: BLOBfromstr: ...`, `Not a UUID`), like
    pymonetdb's own `Not connected`: for these, the connection broke only if it no longer answers
    (`cursor` is asked once; without one, it is taken as broken)."""
    if isinstance(error, (OSError, EOFError)):
        return True
    if not isinstance(error, pymonetdb.Error) or SQLSTATE_PREFIX.match(str(error)) or \
            STOPPED_BY_SYS_STOP in str(error):
        return False
    return cursor is None or not _still_answers(cursor)


def _still_answers(cursor):
    """Whether MonetDB answers on the connection of `cursor`; any answer of the server counts
    (in a transaction the failed statement aborted, it is `25005!current transaction is aborted`)."""
    try:
        cursor.execute("SELECT 1")
        return True
    except pymonetdb.Error as error:
        return bool(SQLSTATE_PREFIX.match(str(error)))
    except (OSError, EOFError):
        return False


class ServerGone(StoreUnavailable):
    """The MonetDB server cannot be reached or the connection to it broke (HTTP 503)."""


class _DoubleLiteral(float):
    """A float that pymonetdb writes with an exponent: MonetDB reads `0.1e0` as the DOUBLE it is,
    while it reads `0.1` as a DECIMAL and rounds the last digits when storing it as a DOUBLE."""

    def __str__(self):
        text = repr(float(self))
        return text if "e" in text or not text[-1].isdigit() else text + "e0"


def _bound(params):
    return [_DoubleLiteral(value) if type(value) is float else value for value in params]


def _pyformat(sql):
    """pymonetdb takes %s placeholders; our SQL uses ?, which never appears inside our literals."""
    return sql.replace("%", "%%").replace("?", "%s")


class _ServerTransaction(Transaction):
    def __init__(self, store, cursor):
        self.store = store
        self.cursor = cursor

    def execute(self, sql, params=()):
        self.store._run(self.cursor, sql, params, writing=True)

    def fetch(self, sql, params=()):
        self.store._run(self.cursor, sql, params, writing=True)
        return [tuple(plain_value(v) for v in row) for row in self.cursor.fetchall()]

    def append(self, schema, table, columns, kinds):
        names = list(columns)
        quoted = ", ".join('"' + name + '"' for name in names)
        if any(kinds[name] == "double" and any(_infinite(v) for v in columns[name]) for name in names):
            self._copy_binary(schema, table, names, quoted, columns, kinds)
            return
        rows = list(zip(*(columns[name] for name in names)))
        one_row = "(" + ", ".join(["?"] * len(names)) + ")"
        for start in range(0, len(rows), INSERT_ROWS_PER_STATEMENT):
            chunk = rows[start:start + INSERT_ROWS_PER_STATEMENT]
            self.execute(f'INSERT INTO "{schema}"."{table}" ({quoted}) VALUES ' + ", ".join([one_row] * len(chunk)),
                         [value for row in chunk for value in row])

    def _copy_binary(self, schema, table, names, quoted, columns, kinds):
        """One binary COPY of every column: the only way into a MonetDB server for infinite
        doubles (its SQL parser refuses them). Only for such rows: mserver5 11.45 was seen to
        crash when a client died in the middle of a COPY ... ON CLIENT."""
        files = {f"column{index}": _binary_column(columns[name], kinds[name]) for index, name in enumerate(names)}
        sources = ", ".join(f"'{name}'" for name in files)
        self.store._column_files.update(files)
        try:
            self.execute(f'COPY LITTLE ENDIAN BINARY INTO "{schema}"."{table}" ({quoted}) FROM {sources} ON CLIENT')
        finally:
            self.store._column_files.clear()


def _infinite(value):
    return isinstance(value, float) and math.isinf(value)


def _binary_column(values, kind):
    """A column in MonetDB's binary COPY format: little-endian numbers (NULL is NaN for doubles,
    INT64_MIN for bigints), NUL-terminated UTF-8 texts (NULL is the byte 0x80)."""
    if kind == "double":
        return struct.pack(f"<{len(values)}d", *(math.nan if v is None else float(v) for v in values))
    if kind == "bigint":
        return struct.pack(f"<{len(values)}q", *(INT64_NULL if v is None else int(v) for v in values))
    texts = []
    for value in values:
        if value is None:
            texts.append(TEXT_NULL)
            continue
        text = str(value)
        if "\0" in text:
            raise InvalidInput(f"text value {text[:40]!r}... holds a NUL character, which MonetDB cannot store")
        texts.append(text.encode())
    return b"\0".join(texts) + b"\0"


class _ColumnUploads(Uploader):
    """Hands MonetDB the column files of a binary COPY ... ON CLIENT, by name."""

    def __init__(self, files):
        self.files = files

    def handle_upload(self, upload, filename, text_mode, skip_amount):
        upload.binary_writer().write(self.files.pop(filename))


def _fetched(cursor, limit):
    columns = [d[0] for d in cursor.description] if cursor.description else []
    return columns, cursor.fetchall() if limit is None else cursor.fetchmany(limit)


class _ConnectionPool:
    """Idle connections of one MonetDB user, for reads from many request threads at once."""

    def __init__(self, connect, size):
        self._connect = connect
        self._idle = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    @contextlib.contextmanager
    def connection(self):
        """A connection for one read; a broken one is closed instead of being put back."""
        with self._slots:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                connection = self._connect()
            try:
                yield connection
            except QueryRejected:
                self._idle.put(connection)  # the statement was wrong, not the connection
                raise
            except BaseException:
                _close_quietly(connection)
                raise
            self._idle.put(connection)

    def close(self):
        while True:
            try:
                _close_quietly(self._idle.get_nowait())
            except queue.Empty:
                return


def _close_quietly(connection):
    try:
        connection.close()
    except Exception:  # closing a connection whose server is gone fails; it is gone either way
        pass


class ServerStore(Store):
    """A MonetDB server; the same SQL as the embedded store.

    Args:
        monetdb_url: `monetdb://user:password@host:port/database` of a user that may create tables.
        reader_url: `monetdb://user:password@...` of the user that runs user SQL; created (and given
            SELECT on every table) when missing. Default: `dfanalyzer_reader`.
        query_timeout: seconds a user query may run before it is stopped; 0 for no limit.
        wait_for_server: when MonetDB cannot be reached at first, log it and go on (every request
            answers 503 until MonetDB is there) instead of raising ServerGone.
    """

    def __init__(self, monetdb_url, reader_url=None, query_timeout=30, wait_for_server=False):
        self.url = public_url(monetdb_url)
        self.query_timeout = query_timeout
        self._arguments = connection_arguments(monetdb_url)
        self._reader_arguments = self._reader_arguments_for(reader_url)
        self._write_lock = threading.Lock()
        self._writer = None
        self._column_files = {}
        self._generation = None
        self._foreign_write_callbacks = []
        self._pool = _ConnectionPool(lambda: self._connect(self._arguments), READER_POOL_SIZE)
        self._reader_pool = _ConnectionPool(self._connect_reader, READER_POOL_SIZE)
        self._user_queries = UserQueries(lambda: self._connect(self._arguments), query_timeout)
        self._prepared = False
        self._prepare_lock = threading.Lock()
        self._preparing_thread = None
        self._closed = threading.Event()
        try:
            self._ensure_prepared()
        except ServerGone as gone:
            self._refuse_settings(gone)
            if not wait_for_server:
                self._user_queries.close()
                raise
            log.warning("%s; DfAnalyzer serves meanwhile (requests answer 503) and connects as soon as it answers, "
                        "trying every %ds", gone, WAIT_FOR_SERVER_SECONDS)
            threading.Thread(target=self._wait_for_server, name="monetdb-wait", daemon=True).start()
        except BaseException:
            self._user_queries.close()
            raise

    def _reader_arguments_for(self, reader_url):
        if reader_url:
            arguments = connection_arguments(reader_url)
            if (arguments["hostname"], arguments["port"], arguments["database"]) != \
                    (self._arguments["hostname"], self._arguments["port"], self._arguments["database"]):
                raise InvalidInput(f"the read-only user's URL {public_url(reader_url)!r} must name the same server "
                                   f"and database as {self.url!r}")
            return arguments
        # Every service of the database derives the same password, so none locks the others out.
        secret = hmac.new(self._arguments["password"].encode(), f"{READER_NAME}@{self._arguments['database']}".encode(),
                          hashlib.sha256).hexdigest()[:32]
        return dict(self._arguments, username=READER_NAME, password=secret)

    def _connect(self, arguments):
        try:
            connection = pymonetdb.connect(**arguments, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        except (pymonetdb.Error, OSError) as error:
            raise self.unavailable(error) from error
        connection.set_autocommit(True)
        return connection

    def _connect_reader(self):
        connection = self._connect(self._reader_arguments)
        try:
            return ReaderConnection(connection, self._user_queries.query_timeout)
        except (pymonetdb.Error, OSError, EOFError) as error:
            _close_quietly(connection)
            raise self.unavailable(error) from error

    def unavailable(self, error):
        reason = str(error).strip() or type(error).__name__
        return ServerGone(f"the MonetDB server at {self.url} cannot be reached ({reason}); provenance is kept by "
                          "the clients and sent again when it is back")

    def _refuse_settings(self, gone):
        """Raises ConfigurationError when MonetDB answered but refused the user or the database."""
        reason = str(gone.__cause__ or gone).strip()
        if any(text in reason for text in REFUSED_SETTINGS):
            self._user_queries.close()
            raise ConfigurationError(f"the MonetDB server at {self.url} refused the connection ({reason}); check the "
                                     "user, password and database name of --monetdb-url") from None

    def _ensure_prepared(self):
        """Writer turn, catalog and read-only user are in place (prepared now if they were not: a
        service may start before its MonetDB). Another thread preparing means MonetDB is not
        ready yet: 503 at once rather than a queue of requests each waiting to connect."""
        if self._prepared or self._preparing_thread == threading.get_ident():
            return
        if not self._prepare_lock.acquire(blocking=False):
            raise ServerGone(f"the MonetDB server at {self.url} is being connected to; provenance is kept by the "
                             "clients and sent again when it is ready")
        try:
            if not self._prepared:
                self._preparing_thread = threading.get_ident()
                try:
                    retrying(self._prepare_database)
                finally:
                    self._preparing_thread = None
                self._prepared = True
        finally:
            self._prepare_lock.release()

    def _wait_for_server(self):
        while not self._closed.wait(WAIT_FOR_SERVER_SECONDS):
            try:
                self._ensure_prepared()
            except ServerGone:
                continue
            except Exception as error:  # e.g. the read-only user cannot be created: said by every request too
                log.error("the MonetDB server at %s answers but DfAnalyzer cannot prepare it: %s", self.url, error)
                return
            log.warning("the MonetDB server at %s answers: DfAnalyzer is ready", self.url)
            return

    def _prepare_database(self):
        """Writer turn, catalog and read-only user; safe when several services start together."""
        cursor = self._writer_connection().cursor()
        try:
            for statement in WRITER_TURN_DDL:
                self._run(cursor, statement)
        except ServerGone:
            self._drop_writer()
            raise
        self.create_catalog()
        self._ensure_reader()

    # -- writing -------------------------------------------------------------------------------

    def _writer_connection(self):
        """The connection of this service's writes (there is one writer per service)."""
        if self._writer is None:
            self._writer = self._connect(self._arguments)
            self._writer.set_uploader(_ColumnUploads(self._column_files))
        return self._writer

    def _drop_writer(self):
        if self._writer is not None:
            _close_quietly(self._writer)
            self._writer = None

    def _run(self, cursor, sql, params=(), writing=False):
        """Runs one statement, telling conflicts, a lost server and (`writing`) a server out of
        space apart from bad statements."""
        try:
            cursor.execute(_pyformat(sql), _bound(params) or None)
        except (pymonetdb.Error, OSError, EOFError) as error:
            if is_connection_loss(error, cursor):
                raise self.unavailable(error) from error
            if is_conflict(error):
                raise WriteConflict(f"another service wrote to {self.url} at the same time: {str(error).strip()}") from error
            if writing and (says_no_space(error) or APPEND_FAILED in str(error)):
                raise self.out_of_space(error) from error
            raise

    def out_of_space(self, error):
        """A write the server could not store for want of space: 507, so that clients keep the
        records and send them again, instead of a 500 that would make them look for a bad record."""
        return DiskFull(f"the MonetDB server at {self.url} could not store this request ({str(error).strip()}: its "
                        "disk or memory is full, its log says which); nothing of it was stored. Writing resumes once "
                        "space is freed on the server; clients keep their records meanwhile and send them then")

    @contextlib.contextmanager
    def write(self):
        self._ensure_prepared()
        with self._write_lock:
            cursor = self._begin()
            try:
                generation = self._take_writer_turn(cursor)
                yield _ServerTransaction(self, cursor)
                self._run(cursor, "COMMIT", writing=True)
            except ServerGone:
                self._drop_writer()  # MonetDB rolls back what was not committed
                raise
            except BaseException:
                self._rollback_quietly(cursor)
                raise
            self._generation = generation

    def _begin(self):
        """START TRANSACTION on the writer connection; a connection that broke since the last
        write (MonetDB restarted) is replaced once."""
        try:
            cursor = self._writer_connection().cursor()
            self._run(cursor, "START TRANSACTION")
            return cursor
        except ServerGone:
            self._drop_writer()
        cursor = self._writer_connection().cursor()
        try:
            self._run(cursor, "START TRANSACTION")
        except ServerGone:
            self._drop_writer()
            raise
        return cursor

    def _take_writer_turn(self, cursor):
        self._run(cursor, "UPDATE writer_turn SET generation = generation + 1 WHERE id = 1")
        self._run(cursor, "SELECT generation FROM writer_turn WHERE id = 1")
        generation = cursor.fetchone()[0]
        if self._generation is not None and generation != self._generation + 1:
            for callback in self._foreign_write_callbacks:
                callback()
        return generation

    def _rollback_quietly(self, cursor):
        try:
            cursor.execute("ROLLBACK")
        except (pymonetdb.Error, OSError, EOFError):
            pass  # MonetDB already ended an aborted transaction, or the connection is gone

    def on_foreign_write(self, callback):
        self._foreign_write_callbacks.append(callback)

    # -- reading -------------------------------------------------------------------------------

    def read(self, sql, params=(), limit=None, isolated=False):
        self._ensure_prepared()
        if isolated:
            return self._read_user_query(sql, params, limit)
        try:
            return self._read_on(self._pool, sql, params, limit)
        except ServerGone:
            # An idle connection of the pool may predate a MonetDB restart: once more, on a new one.
            return self._read_on(self._pool, sql, params, limit)

    def _read_user_query(self, sql, params, limit):
        with self._user_queries.tracked() as query:
            retrying(self._grant_reader)
            try:
                return self._read_on(self._reader_pool, sql, params, limit, query)
            except ServerGone:
                if query.reason is not None:
                    raise  # the watchdog shut its connection; `tracked` says why
                return self._read_on(self._reader_pool, sql, params, limit, query)

    def _read_on(self, pool, sql, params, limit, user_query=None):
        """Reads on a connection of `pool`; a user query inside a transaction rolled back, and
        stoppable by the watchdog while its statement runs."""
        with pool.connection() as connection:
            cursor = connection.cursor()
            try:
                if user_query is None:
                    self._run(cursor, sql, params)
                    columns, rows = _fetched(cursor, limit)
                else:
                    self._user_queries.prepare_cursor(cursor)
                    self._run(cursor, "START TRANSACTION")
                    try:
                        with self._user_queries.stoppable(user_query, connection):
                            self._run(cursor, sql, params)
                            columns, rows = self._user_queries.fetched(cursor, limit)
                    finally:
                        self._rollback_quietly(cursor)
            except (pymonetdb.Error, WriteConflict) as error:
                raise QueryRejected(str(error).strip()) from error
            except OUT_OF_RANGE_ERRORS as error:
                raise QueryRejected(f"a value of the result cannot be returned ({error}); CAST that column to "
                                    "VARCHAR") from error
        return columns, [tuple(plain_value(v) for v in row) for row in rows]

    def user_query_scope(self):
        return self._user_queries.scope()

    def longest_query_seconds(self):
        return self._user_queries.longest_seconds()

    # -- the read-only user --------------------------------------------------------------------

    def _ensure_reader(self):
        name = self._reader_arguments["username"]
        if name == self._arguments["username"]:
            raise InvalidInput(f"the read-only user must not be the owner {name!r}: name another user")
        try:
            with self.write() as tx:
                if not tx.fetch("SELECT 1 FROM sys.users WHERE name = ?", [name]):
                    tx.execute(f'CREATE USER "{name}" WITH PASSWORD ? NAME ? SCHEMA sys',
                               [self._reader_arguments["password"], "DfAnalyzer read-only queries"])
                elif name == READER_NAME:  # its password follows the owner's, which may have changed
                    tx.execute(f'ALTER USER "{name}" WITH PASSWORD ?', [self._reader_arguments["password"]])
            self._grant_reader()
        except pymonetdb.Error as error:
            raise InvalidInput(f"the MonetDB user {self._arguments['username']!r} cannot create or grant the read-only "
                               f"user {name!r} ({str(error).strip()}); connect as a user that may, or create a "
                               "read-only user yourself and name it with --monetdb-reader-url") from error

    def _grant_reader(self):
        """SELECT on every table the reader cannot read yet (set tables appear with new dataflows)."""
        name = self._reader_arguments["username"]
        missing_sql = ("SELECT s.name, t.name FROM sys.tables t JOIN sys.schemas s ON t.schema_id = s.id "
                       "WHERE NOT t.system AND t.temporary = 0 AND NOT EXISTS (SELECT 1 FROM sys.privileges p JOIN sys.auths a "
                       "ON p.auth_id = a.id WHERE p.obj_id = t.id AND a.name = ?)")
        _, missing = self.read(missing_sql, [name])
        if not missing:
            return
        with self.write() as tx:
            for schema, table in tx.fetch(missing_sql, [name]):
                tx.execute(f'GRANT SELECT ON "{schema}"."{table}" TO "{name}"')

    def close(self, timeout=None):
        """Closes the idle connections and the writer's; MonetDB ends a running query's session
        itself when its connection goes, so closing never has to wait (`timeout` is not needed)."""
        self._closed.set()
        self._user_queries.close()
        self._pool.close()
        self._reader_pool.close()
        self._drop_writer()
        return True
