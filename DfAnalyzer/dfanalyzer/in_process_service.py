"""The API and web app served by a thread of the process that holds an embedded data directory.

A notebook that records into `embedded:DIR` holds DIR (embedded MonetDB opens a directory in one
process only), so `dfanalyzer start --data-dir DIR` cannot serve it while the kernel lives. The
kernel serves it itself instead, on a free loopback port, and leaves its address in
DIR/in-process-service.json so that the CLI and other processes can find it.
"""
import json
import logging
import os
import socket
import threading
import time

log = logging.getLogger(__name__)

RECORD_FILE = "in-process-service.json"
START_SECONDS = 20
STOP_SECONDS = 5


def read_record(data_dir):
    """{"pid", "url"} of the live process serving `data_dir` from within, else None."""
    try:
        with open(os.path.join(data_dir, RECORD_FILE)) as handle:
            record = json.load(handle)
        os.kill(int(record["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record


class InProcessService:
    """Serves `store` (already open in this process) on 127.0.0.1 from a daemon thread.

    Args:
        store: the open `dfanalyzer.store.Store` of the data directory.
        data_dir: the data directory (where the trained models and the address record live).
        ingestor: the `SharedDatabaseIngestor` this process already writes the store with
            (embedded MonetDB has one writer); default: a new one.
        host: address to bind; loopback by default (there is no token).

    Example:
        service = InProcessService(store, "/content/dfa-data").start()
        requests.get(service.url + "/api/v1/runs/table")
        service.stop()
    """

    def __init__(self, store, data_dir, ingestor=None, host="127.0.0.1"):
        self.store = store
        self.ingestor = ingestor
        self.data_dir = os.path.abspath(data_dir)
        self.host = host
        self.port = None
        self._server = None
        self._thread = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def start(self):
        import uvicorn

        from dfanalyzer.api.app import create_app
        from dfanalyzer.config import Settings

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        self.port = listener.getsockname()[1]
        settings = Settings(host=self.host, port=self.port, data_dir=self.data_dir)
        app = create_app(self.store, settings)
        if self.ingestor is not None:
            app.state.ingestor = self.ingestor
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        # uvicorn leaves signals alone off the main thread: the kernel keeps its own handlers.
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [listener]}, daemon=True,
                                        name=f"dfanalyzer-in-process-{self.port}")
        self._thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the in-process DfAnalyzer for {self.data_dir} did not start")
            time.sleep(0.02)
        self._write_record()
        return self

    def _write_record(self):
        path = os.path.join(self.data_dir, RECORD_FILE)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w") as handle:
            json.dump({"pid": os.getpid(), "url": self.url}, handle)
        os.replace(temporary, path)

    def stop(self):
        """Stops serving (requests in flight get a second) and removes the address record."""
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not threading.current_thread():
            self._thread.join(STOP_SECONDS)
        record = read_record(self.data_dir)
        if record and record.get("pid") == os.getpid():
            try:
                os.remove(os.path.join(self.data_dir, RECORD_FILE))
            except FileNotFoundError:
                pass
        self._server = None
