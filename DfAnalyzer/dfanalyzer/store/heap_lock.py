"""The lock that keeps read statements apart from write statements.

In monetdbe 0.11 (MonetDB Jul2021) an INSERT appends straight into the heaps a table shares with
the results of concurrent reads, and may move them: a read running meanwhile returns values from
freed memory (an empty string where the row holds text, measured in tests/test_store_embedded.py)
or crashes. So read statements run under the shared side (side by side with each other) and
write statements under the exclusive side. A writer waits for the reads in flight, which the
query time limit bounds. User queries arriving after a waiting writer let it go first; the
service's own short reads do not, so that pages keep answering while a writer waits behind a
slow user query.
"""
import contextlib
import threading


class HeapLock:
    """Many readers or one writer."""

    def __init__(self):
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def shared(self, yield_to_writers=False):
        """Held by reads; with `yield_to_writers` a read also waits for writers already waiting."""
        with self._condition:
            while self._writing or (yield_to_writers and self._writers_waiting):
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                if not self._readers:
                    self._condition.notify_all()

    @contextlib.contextmanager
    def exclusive(self):
        with self._condition:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._condition.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()
