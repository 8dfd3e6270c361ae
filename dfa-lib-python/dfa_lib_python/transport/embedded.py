"""Writing straight into an embedded MonetDB data directory, in this process, with no service."""
import json
import logging
import os
import threading

from dfa_lib_python.transport.base import BadRequest, Rejected, Transport, Unavailable

logger = logging.getLogger("dfa_lib_python")

# One open store per data directory in this process, shared by every transport of it, with one
# ingestor: embedded MonetDB opens a directory once per process, and a notebook serves
# (keras_prov.notebook) the store its fits are writing into.
# data_dir -> [store, its ingestor, number of transports holding it].
_shared_lock = threading.Lock()
_shared_stores = {}


def _take_store(data_dir):
    # The service's own ingestor, so that a service of this process (keras_prov.notebook) can
    # ingest through the very same one.
    from dfanalyzer.ingest.shared_database import SharedDatabaseIngestor
    from dfanalyzer.store import open_store

    with _shared_lock:
        held = _shared_stores.get(data_dir)
        if held is None:
            store = open_store(data_dir=data_dir)
            held = _shared_stores[data_dir] = [store, SharedDatabaseIngestor(store), 0]
        held[2] += 1
        return held[0], held[1]


def open_in_this_process(data_dir):
    """Whether a transport of this process holds `data_dir`'s store open."""
    with _shared_lock:
        return data_dir in _shared_stores


def _release_store(data_dir):
    with _shared_lock:
        held = _shared_stores.get(data_dir)
        if held is None:
            return
        held[2] -= 1
        if held[2] <= 0:
            del _shared_stores[data_dir]
            if hasattr(held[0], "close"):
                held[0].close()


class EmbeddedTransport(Transport):
    """Ingests batches with the service's own code (`dfanalyzer.ingest.Ingestor`) into an embedded
    MonetDB store opened in this process. For notebooks and Colab, where nobody runs a server.

    Embedded MonetDB allows one process per data directory: while a DfAnalyzer service (or another
    notebook) has the directory open, batches stay in the spool and are retried; when the
    holder is a notebook kernel serving the directory (`keras_prov.show()` or any
    `keras_prov.runs()`...), they are sent to it over HTTP instead. Transports of one process
    share the directory's store and ingestor; the last one closed closes the store.

    Args:
        data_dir: the data directory (created when missing).
    """

    def __init__(self, data_dir):
        if not data_dir:
            from dfa_lib_python.errors import ConfigurationError

            raise ConfigurationError("DFA_URL=embedded: needs a directory, e.g. embedded:/content/dfa-data")
        self.data_dir = data_dir
        self.url = "embedded:" + data_dir
        self._lock = threading.RLock()
        self._store = None
        self._ingestor = None
        self._relay = None  # HttpTransport to the process that holds and serves the directory
        from dfa_lib_python.registry import close_before_thread_pools_stop

        close_before_thread_pools_stop()

    def _open(self):
        if self._store is None:
            try:
                import dfanalyzer.store  # noqa: F401 - the service's package writes the store
            except ImportError as error:
                raise Unavailable(f"the dfanalyzer package is not installed ({error}); "
                                  "install keras-prov with its embedded extra") from None
            try:
                self._store, self._ingestor = _take_store(self.data_dir)
            except Exception as error:  # noqa: BLE001 - any failure to open means "not now"
                raise Unavailable(f"cannot open the embedded store in {self.data_dir}: {error}") from None
        return self._store

    def _relay_to_holder(self):
        """An HttpTransport to the other process that holds the directory and serves it (a
        notebook kernel), else None after opening the store here (Unavailable when neither)."""
        if self._store is None and not open_in_this_process(self.data_dir):
            try:
                from dfanalyzer.in_process_service import read_record
            except ImportError:
                read_record = None
            record = read_record(self.data_dir) if read_record else None
            if record and record.get("pid") != os.getpid():
                if self._relay is None or self._relay.url != record["url"]:
                    from dfa_lib_python.transport.http import HttpTransport

                    logger.info("dfa_lib_python: %s is held by process %s; sending through it at %s",
                                self.data_dir, record["pid"], record["url"])
                    self._relay = HttpTransport(record["url"])
                return self._relay
        self._relay = None
        self._open()
        return None

    def send(self, lines):
        from dfanalyzer.errors import InvalidInput, NotFound, StoreUnavailable

        with self._lock:
            relay = self._relay_to_holder()
            if relay is not None:
                return relay.send(lines)
            messages = [json.loads(line) for line in lines]
            try:
                self._ingestor.ingest_batch(messages)
            except (InvalidInput, NotFound) as error:
                message_id = getattr(error, "message_id", None)
                if message_id:
                    raise Rejected(message_id, str(error)) from None
                raise BadRequest(422, str(error)) from None
            except StoreUnavailable as error:
                raise Unavailable(str(error)) from None

    def query(self, sql, limit):
        from dfanalyzer.errors import DfaError
        from dfanalyzer.query_guard import check_read_only

        with self._lock:
            relay = self._relay_to_holder()
            if relay is not None:
                return relay.query(sql, limit)
            store = self._open()
            try:
                return store.read(check_read_only(sql), limit=limit, isolated=True)
            except DfaError as error:
                raise BadRequest(getattr(error, "status_code", 400), str(error)) from None

    @property
    def ingestor(self):
        """The ingestor writing the store (opened on first use); shared by this process's transports."""
        with self._lock:
            self._open()
            return self._ingestor

    @property
    def store(self):
        """The open dfanalyzer Store (opened on first use)."""
        with self._lock:
            return self._open()

    def close(self):
        with self._lock:
            if self._store is not None:
                _release_store(self.data_dir)
            self._store = self._ingestor = None
            if self._relay is not None:
                self._relay.close()
                self._relay = None
