"""A MonetDB server reached through pymonetdb (`--monetdb-url monetdb://user:pass@host:50000/db`)."""
import contextlib
import threading
from urllib.parse import unquote, urlparse

from dfanalyzer.errors import InvalidInput, QueryRejected, StoreUnavailable
from dfanalyzer.store.base import Store, Transaction, plain_value


def connection_arguments(monetdb_url):
    """pymonetdb.connect keyword arguments from a monetdb:// URL."""
    parsed = urlparse(monetdb_url)
    if parsed.scheme != "monetdb" or not parsed.hostname or not parsed.path.strip("/"):
        raise InvalidInput(
            f"MonetDB URL {monetdb_url!r} is not of the form monetdb://user:password@host:50000/database"
        )
    return {
        "hostname": parsed.hostname,
        "port": parsed.port or 50000,
        "database": parsed.path.strip("/"),
        "username": unquote(parsed.username or "monetdb"),
        "password": unquote(parsed.password or "monetdb"),
    }


class _ServerTransaction(Transaction):
    def __init__(self, cursor):
        self.cursor = cursor

    def execute(self, sql, params=()):
        self.cursor.execute(_pyformat(sql), list(params) or None)

    def fetch(self, sql, params=()):
        self.cursor.execute(_pyformat(sql), list(params) or None)
        return [tuple(plain_value(v) for v in row) for row in self.cursor.fetchall()]

    def append(self, schema, table, columns, kinds):
        names = list(columns)
        rows = list(zip(*(columns[name] for name in names)))
        quoted = ", ".join('"' + name + '"' for name in names)
        placeholders = ", ".join(["%s"] * len(names))
        self.cursor.executemany(f'INSERT INTO "{schema}"."{table}" ({quoted}) VALUES ({placeholders})', rows)


def _pyformat(sql):
    """pymonetdb takes %s placeholders; our SQL uses ?, which never appears inside our literals."""
    return sql.replace("%", "%%").replace("?", "%s")


class ServerStore(Store):
    """A MonetDB server; the same SQL as the embedded store."""

    def __init__(self, monetdb_url):
        import pymonetdb

        self._pymonetdb = pymonetdb
        self._arguments = connection_arguments(monetdb_url)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        try:
            self._writer = self._connect()
        except (pymonetdb.Error, OSError) as error:
            where = f"{self._arguments['hostname']}:{self._arguments['port']}/{self._arguments['database']}"
            raise StoreUnavailable(f"cannot reach MonetDB server at {where}: {error}") from error
        self.create_catalog()

    def _connect(self):
        connection = self._pymonetdb.connect(**self._arguments)
        connection.set_autocommit(True)
        return connection

    def read(self, sql, params=(), limit=None, isolated=False):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
        cursor = connection.cursor()
        try:
            if isolated:
                cursor.execute("START TRANSACTION")
            cursor.execute(_pyformat(sql), list(params) or None)
            columns = [d[0] for d in cursor.description] if cursor.description else []
            rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit)
        except self._pymonetdb.Error as error:
            raise QueryRejected(str(error).strip()) from error
        finally:
            if isolated:
                cursor.execute("ROLLBACK")
        return columns, [tuple(plain_value(v) for v in row) for row in rows]

    @contextlib.contextmanager
    def write(self):
        with self._write_lock:
            cursor = self._writer.cursor()
            cursor.execute("START TRANSACTION")
            try:
                yield _ServerTransaction(cursor)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def close(self):
        self._writer.close()
