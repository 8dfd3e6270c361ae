"""The worker's side of recycling (see supervisor.py): it counts the requests it serves and watches
its resident memory, and past either limit asks the supervisor (SIGUSR1) for a successor. What the
engine leaks natively, which no connection recycling in the process gives back, goes with it."""
import logging
import os
import signal
import threading
import time

log = logging.getLogger(__name__)

ASK_AGAIN_SECONDS = 30  # a supervisor that could not start a successor is asked again this often
MEMORY_POLL_SECONDS = 2


def resident_bytes():
    """This process's resident memory (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Recycling:
    """ASGI middleware around the application: asks for a successor once `max_requests` HTTP
    requests were served (0: never) or resident memory passed `max_rss` bytes (0: never).

    Args:
        app: the ASGI application.
        max_requests, max_rss: the limits.
        ask: what asking means (default: SIGUSR1 to the parent, the supervisor).
    """

    def __init__(self, app, max_requests=0, max_rss=0, ask=None):
        self.app = app
        self.max_requests = max_requests
        self.max_rss = max_rss
        self.requests = 0
        self.draining = False  # answers then say Connection: close (see server._drain)
        self._ask = ask or (lambda: os.kill(os.getppid(), signal.SIGUSR1))
        self._asked = threading.Event()
        if max_rss:
            threading.Thread(target=self._watch_memory, daemon=True, name="worker-memory").start()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.requests += 1
            if self.max_requests and self.requests >= self.max_requests and not self._asked.is_set():
                self._want_successor(f"{self.requests} requests served")
            if self.draining:
                send = _closing(send)
        await self.app(scope, receive, send)

    def _watch_memory(self):
        while not self._asked.is_set():
            rss = resident_bytes()
            if rss > self.max_rss:
                self._want_successor(f"resident memory {rss / 2**20:.0f} MB > {self.max_rss / 2**20:.0f} MB")
                return
            time.sleep(MEMORY_POLL_SECONDS)

    def _want_successor(self, why):
        if self._asked.is_set():
            return
        self._asked.set()
        log.info("the worker asks to be replaced (%s)", why)
        threading.Thread(target=self._keep_asking, daemon=True, name="worker-recycle").start()

    def _keep_asking(self):
        while True:  # until the supervisor replaces (stops) this process
            try:
                self._ask()
            except OSError:
                return
            time.sleep(ASK_AGAIN_SECONDS)


def _closing(send):
    """`send` with `Connection: close` added to the answer's headers: the client will not send
    another request on this connection, which the worker is about to close."""
    async def closing_send(message):
        if message["type"] == "http.response.start":
            message = dict(message, headers=[*message.get("headers", []), (b"connection", b"close")])
        await send(message)

    return closing_send
