"""The user queries of one request on embedded MonetDB, which the request stops when its client
leaves (`cancel`)."""
import contextlib
import threading

from dfanalyzer.store.base import QueryScope


class EmbeddedQueryScope(QueryScope):
    """Entered on the thread that calls `EmbeddedStore.read(..., isolated=True)`: the store finds
    it there (`current`) and registers, while a statement of the scope runs, how to stop it."""

    _entered = threading.local()

    def __init__(self):
        self._lock = threading.Lock()
        self._stop = None
        self.cancelled = False

    @classmethod
    def current(cls):
        """The scope entered on this thread, else a new one nobody cancels."""
        return getattr(cls._entered, "scope", None) or cls()

    def __enter__(self):
        self._entered.scope = self
        return self

    def __exit__(self, *exc_info):
        self._entered.scope = None
        return False

    def cancel(self):
        with self._lock:
            self.cancelled = True
            stop = self._stop
        if stop is not None:
            stop()

    @contextlib.contextmanager
    def stopping_with(self, stop):
        """While inside, `cancel()` calls `stop()`; at once when the scope was cancelled before."""
        with self._lock:
            self._stop = stop
            cancelled = self.cancelled
        if cancelled:
            stop()
        try:
            yield
        finally:
            with self._lock:
                self._stop = None
