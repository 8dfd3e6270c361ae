"""Writing straight into an embedded MonetDB data directory, in this process, with no service."""
import json
import threading

from dfa_lib_python.transport.base import BadRequest, Rejected, Transport, Unavailable

# One open store per data directory in this process, shared by every transport of it: embedded
# MonetDB opens a directory once per process, and a notebook reads (keras_prov.notebook) the store
# its fits are writing into. data_dir -> [store, number of transports holding it].
_shared_lock = threading.Lock()
_shared_stores = {}


def _take_store(data_dir):
    from dfanalyzer.store import open_store

    with _shared_lock:
        held = _shared_stores.get(data_dir)
        if held is None:
            held = _shared_stores[data_dir] = [open_store(data_dir=data_dir), 0]
        held[1] += 1
        return held[0]


def open_in_this_process(data_dir):
    """Whether a transport of this process holds `data_dir`'s store open."""
    with _shared_lock:
        return data_dir in _shared_stores


def _release_store(data_dir):
    with _shared_lock:
        held = _shared_stores.get(data_dir)
        if held is None:
            return
        held[1] -= 1
        if held[1] <= 0:
            del _shared_stores[data_dir]
            if hasattr(held[0], "close"):
                held[0].close()


class EmbeddedTransport(Transport):
    """Ingests batches with the service's own code (`dfanalyzer.ingest.Ingestor`) into an embedded
    MonetDB store opened in this process. For notebooks and Colab, where nobody runs a server.

    Embedded MonetDB allows one process per data directory: while a DfAnalyzer service (or another
    notebook) has the directory open, batches stay in the spool and are retried. Transports of
    one process share the directory's store; the last one closed closes it.

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

    def _open(self):
        if self._store is None:
            try:
                from dfanalyzer.ingest import Ingestor
            except ImportError as error:
                raise Unavailable(f"the dfanalyzer package is not installed ({error}); "
                                  "install keras-prov with its embedded extra") from None
            try:
                self._store = _take_store(self.data_dir)
            except Exception as error:  # noqa: BLE001 - any failure to open means "not now"
                raise Unavailable(f"cannot open the embedded store in {self.data_dir}: {error}") from None
            self._ingestor = Ingestor(self._store)
            from dfa_lib_python.registry import close_before_thread_pools_stop

            close_before_thread_pools_stop()
        return self._store

    def send(self, lines):
        from dfanalyzer.errors import InvalidInput, NotFound, StoreUnavailable

        messages = [json.loads(line) for line in lines]
        with self._lock:
            self._open()
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
            store = self._open()
            try:
                return store.read(check_read_only(sql), limit=limit, isolated=True)
            except DfaError as error:
                raise BadRequest(getattr(error, "status_code", 400), str(error)) from None

    @property
    def store(self):
        """The open dfanalyzer Store (opened on first use)."""
        with self._lock:
            return self._open()

    def close(self):
        with self._lock:
            if self._store is not None:
                _release_store(self.data_dir)
            self._store = None
