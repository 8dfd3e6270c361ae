"""A lock that serves waiters in the order they arrived."""
import threading


class FairLock:
    """Like threading.Lock, but a thread releasing it cannot take it again before the threads
    already waiting: a client sending a large batch in parts lets a one-row insert in between."""

    def __init__(self):
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def acquire(self):
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            while ticket != self._serving:
                self._condition.wait()

    def release(self):
        with self._condition:
            self._serving += 1
            self._condition.notify_all()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc_info):
        self.release()
