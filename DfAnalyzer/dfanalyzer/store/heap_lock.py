"""The lock that keeps read statements apart from write statements.

In monetdbe 0.11 (MonetDB Jul2021) an INSERT appends straight into the heaps a table shares with
the results of concurrent reads, and may move them: a read running meanwhile returns values from
freed memory (an empty string where the row holds text, measured in tests/test_store_embedded.py)
or crashes (tests/test_store_embedded.py; measured again without the lock, and with it held
only while results are converted: both return wrong strings). So read statements run under the
shared side (side by side with each other) and write statements under the exclusive side.

A writer waits for the reads in flight. The service's own reads are short. A user query is not:
one that keeps a writer waiting PREEMPT_AFTER_SECONDS is stopped (`preempt`) and runs again
after the writer, so that ingestion is never held up behind a slow query; user queries arriving
after a waiting writer let it go first. The service's own reads do not wait for writers, so
that pages keep answering.
"""
import contextlib
import threading
import time

PREEMPT_AFTER_SECONDS = 0.3


class HeapLock:
    """Many readers or one writer."""

    def __init__(self):
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0
        self._transaction_open = False
        self._yielding_readers_waiting = 0
        self._preemptible = set()  # `preempt` callables of the reads in flight that have one

    @contextlib.contextmanager
    def shared(self, yield_to_writers=False, preempt=None):
        """Held by reads; with `yield_to_writers` a read also waits for writers already waiting.
        `preempt`, when given, is called (from the writer's thread) to stop the read when a
        writer has waited PREEMPT_AFTER_SECONDS for it."""
        with self._condition:
            self._yielding_readers_waiting += yield_to_writers
            while self._writing or (yield_to_writers and (self._writers_waiting or self._transaction_open)):
                self._condition.wait()
            self._yielding_readers_waiting -= yield_to_writers
            if yield_to_writers and not self._yielding_readers_waiting:
                self._condition.notify_all()  # a transaction may wait for this read to start
            self._readers += 1
            if preempt is not None:
                self._preemptible.add(preempt)
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._preemptible.discard(preempt)
                if not self._readers:
                    self._condition.notify_all()

    @contextlib.contextmanager
    def transaction(self):
        """Held around a write transaction: reads that yield to writers wait for its end, not
        only for its statements, so that a preempted query does not start again in between
        (and get preempted by each statement of it). It starts after the reads that waited for
        the one before: back-to-back transactions do not keep a query out for ever."""
        with self._condition:
            while self._yielding_readers_waiting:
                self._condition.wait()
            self._transaction_open = True
        try:
            yield
        finally:
            with self._condition:
                self._transaction_open = False
                self._condition.notify_all()

    @contextlib.contextmanager
    def exclusive(self):
        with self._condition:
            self._writers_waiting += 1
            waiting_since = time.monotonic()
            while self._writing or self._readers:
                self._condition.wait(PREEMPT_AFTER_SECONDS)
                if self._readers and time.monotonic() - waiting_since >= PREEMPT_AFTER_SECONDS:
                    for preempt in list(self._preemptible):
                        preempt()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()
