"""Ids for new catalog rows, handed out by the single writer without a round trip per row."""
import threading

from dfanalyzer.identifiers import qualified


class IdAllocator:
    """Next free id per table, read once from MAX(id) and counted up in memory.

    Only the process that owns the store writes, so the counters cannot race another writer; ids
    taken by a rolled-back transaction are simply skipped.
    """

    def __init__(self):
        self._next = {}
        self._lock = threading.Lock()

    def take(self, tx, schema, table, count=1):
        """The first of `count` consecutive new ids for `schema.table`."""
        key = (schema, table)
        with self._lock:
            if key not in self._next:
                rows = tx.fetch(f"SELECT MAX(id) FROM {qualified(schema, table)}")
                self._next[key] = (rows[0][0] or 0) + 1
            first = self._next[key]
            self._next[key] = first + count
            return first

    def forget_all(self):
        """Drops the counters; they are read again from the tables (after a rollback)."""
        with self._lock:
            self._next.clear()
