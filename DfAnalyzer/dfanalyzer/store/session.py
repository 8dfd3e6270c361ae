"""A thread that owns one embedded MonetDB connection and runs work on it, one call at a time."""
import threading
from concurrent.futures import ThreadPoolExecutor

from dfanalyzer.store.engine import EngineConnection

# The engine keeps memory per prepared statement (about 16 KB each) and per explicit transaction
# (about 2 KB, more at first) until the connection closes, measured on monetdbe 0.11; closing
# gives it back. So a connection is replaced after this many of either, or of statements: the
# engine's memory stays bounded.
RECYCLE_AFTER_PREPARES = 300
RECYCLE_AFTER_TRANSACTIONS = 500
RECYCLE_AFTER_STATEMENTS = 5_000


class Session:
    """One thread, one connection: MonetDB checks each call's stack against the thread that
    opened the connection, so a connection never leaves its thread.

    Args:
        database_dir: the database directory.
        name: the thread's name (seen in stack dumps).
        query_timeout: seconds after which the engine aborts a statement of this session; 0 none.
        recycle: whether the connection is replaced by a fresh one, between two calls, once it
            ran many statements; False for the session that keeps the database open.
        schema_version: a callable giving the store's DDL counter, so cached prepared statements
            are dropped when tables change.
        heap_lock, writes: see EngineConnection.
    """

    def __init__(self, database_dir, name, query_timeout=0, recycle=True,
                 schema_version=lambda: 0, heap_lock=None, writes=False):
        self.database_dir = database_dir
        self.query_timeout = query_timeout
        self.recycle = recycle
        self.schema_version = schema_version
        self.heap_lock, self.writes = heap_lock, writes
        self.recycled = 0
        self.busy = threading.Event()
        self._connection = None
        self._executor = ThreadPoolExecutor(1, name)
        self.call(lambda connection: None)

    def submit(self, work, keep_open=False):
        """Runs `work(connection)` on the session thread; returns its Future. With `keep_open`
        the connection is not recycled after it (a transaction is open)."""
        return self._executor.submit(self._run, work, keep_open)

    def call(self, work, keep_open=False):
        return self.submit(work, keep_open).result()

    def _run(self, work, keep_open):
        self.busy.set()
        try:
            if self._connection is None:
                self._connection = EngineConnection(self.database_dir, self.query_timeout * 1_000_000,
                                                    self.heap_lock, self.writes)
            self._connection.forget_statements_before(self.schema_version())
            return work(self._connection)
        finally:
            self.busy.clear()
            connection = self._connection
            if (self.recycle and not keep_open and connection is not None
                    and (connection.prepares >= RECYCLE_AFTER_PREPARES
                         or connection.transactions >= RECYCLE_AFTER_TRANSACTIONS
                         or connection.statements >= RECYCLE_AFTER_STATEMENTS)):
                self._connection = None
                self.recycled += 1
                connection.close()

    def close(self, timeout=None):
        """Closes the connection on its thread; False when the thread stayed busy past `timeout`
        seconds (a statement still running), in which case the connection stays open."""
        future = self._executor.submit(self._close_here)
        try:
            future.result(timeout)
        except TimeoutError:
            return False
        self._executor.shutdown(wait=True)
        return True

    def _close_here(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None
