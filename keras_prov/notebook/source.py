"""Where a notebook reads provenance from: a DfAnalyzer service, or the embedded data directory
the notebook records into, served by the kernel itself (DfAnalyzer's own API, so every read
answers exactly as the service's REST API does)."""
import fcntl
import logging
import os
import threading
import time

import requests

from keras_prov.errors import ProvenanceError

logger = logging.getLogger("keras_prov")

FLUSH_SECONDS = 120.0  # a read first waits at most this long for the records it must see to be stored
DOWN_SECONDS = 10.0  # ... or this long once DfAnalyzer is found unable to store them
READ_TIMEOUT = 120.0
HOLDER_WAIT_SECONDS = 10.0


class ReadError(ProvenanceError):
    """DfAnalyzer could not answer a read; the message says why and what to do.

    Attributes:
        status: the HTTP status of the answer (None when there was none).
    """

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def configured_url(url=None):
    """The DfAnalyzer address this process uses: `url`, else that of its dfa_lib_python client,
    else DFA_URL, else the default; `embedded:` paths absolute."""
    import dfa_lib_python
    from dfa_lib_python.client import DEFAULT_URL, normalize_url

    if url is None:
        client = dfa_lib_python.get_client(create=False)
        url = client.url if client is not None else os.environ.get("DFA_URL") or DEFAULT_URL
    return normalize_url(url)


class Source:
    """Reads of one DfAnalyzer (the REST API's JSON answers).

    Args:
        url: "http://host:port", "embedded:/dir", or None for the address this process records to.
        flush: first wait until the records of this process (unless one of its fits is running)
            and those a killed predecessor left in its spool are stored, so that a run just
            trained, or trained before a kernel restart, is there.
    """

    def __init__(self, url=None, flush=True):
        self.configured = configured_url(url)
        if flush:
            _flush_own_records(own_address=url is None)
        if self.configured.startswith("embedded:"):
            self.url = embedded_service_url(self.configured[len("embedded:"):])
        else:
            self.url = self.configured
        self._session = requests.Session()
        from dfa_lib_python.transport.http import auth_headers

        self._session.headers.update(auth_headers())

    def get(self, path, **params):
        return self._answer(self._request("GET", path, params=_plain(params)), path).json()

    def get_text(self, path, **params):
        return self._answer(self._request("GET", path, params=_plain(params)), path).text

    def post(self, path, body, **params):
        return self._answer(self._request("POST", path, json=body, params=_plain(params)), path).json()

    def page_url(self, path=""):
        return self.url + path

    def _request(self, method, path, **kwargs):
        try:
            return self._session.request(method, self.url + path, timeout=(5, READ_TIMEOUT), **kwargs)
        except requests.RequestException as error:
            raise ReadError(f"DfAnalyzer at {self.url} does not answer ({type(error).__name__}); start it "
                            "(`dfanalyzer start`) or set DFA_URL to its address, or to embedded:/path/to/dir "
                            "to read an embedded data directory") from None

    def _answer(self, response, path):
        if response.status_code < 400:
            return response
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text[:300]
        if isinstance(detail, dict):
            detail = detail.get("error") or detail
        hint = " (set DFA_TOKEN to the service's token)" if response.status_code == 401 else ""
        raise ReadError(f"{path}: {detail}{hint}", status=response.status_code)

    def close(self):
        self._session.close()


def _plain(params):
    return {key: value for key, value in params.items() if value is not None}


def _flush_own_records(own_address):
    """Waits until what this reader must see is stored (see `Source`'s flush argument): the
    records that processes now gone left unsent in this process's spool (a kernel killed a moment
    ago: reading where this process records makes its client, which replays them) and, unless a
    fit of this process is running, this process's own records. While a fit runs, a read shows
    what is stored so far, as a live view does, rather than wait for records that keep coming.
    The wait lasts as long as DfAnalyzer is storing them, at most FLUSH_SECONDS (DOWN_SECONDS
    once it is found down)."""
    import dfa_lib_python

    from keras_prov.running_fits import any_running

    client = dfa_lib_python.get_client(create=False)
    if client is None:
        if not own_address:
            return
        client = dfa_lib_python.get_client()
    own_records = not any_running()
    if own_records:
        from keras_prov.execution_recorder import deliver_pending_models_once
        from keras_prov.model_store_client import background
        from keras_prov.recording_thread import recording

        deadline = time.monotonic() + FLUSH_SECONDS
        deliver_pending_models_once()  # models an earlier program could not upload
        stored = recording.drain(FLUSH_SECONDS) and client.replay(
            own_records=True, timeout=max(0.0, deadline - time.monotonic()), timeout_when_down=DOWN_SECONDS)
        stored = background.wait(max(0.0, deadline - time.monotonic())) and stored  # trained models
    else:
        stored = client.replay(own_records=False, timeout=FLUSH_SECONDS, timeout_when_down=DOWN_SECONDS)
    if not stored:
        logger.warning("keras_prov: records are still on their way to DfAnalyzer at %s; the newest may be missing "
                       "from this read", client.url)


# ------------------------------------------------------------------ embedded data directories
_services = {}  # data directory -> (InProcessService, EmbeddedTransport holding its store)
_services_lock = threading.Lock()


def embedded_service_url(data_dir):
    """The address of DfAnalyzer's API for an embedded data directory: served by this process
    (started on first use, sharing the store its fits write into), or by the process that holds
    the directory when another one does (another notebook calling keras_prov.show(), or a
    `dfanalyzer start --data-dir`)."""
    data_dir = os.path.abspath(data_dir)
    with _services_lock:
        held = _services.get(data_dir)
        if held is not None and held[0].running:
            return held[0].url
        elsewhere = _served_elsewhere(data_dir)
        if elsewhere:
            return elsewhere
        from dfa_lib_python.transport import Unavailable
        from dfa_lib_python.transport.embedded import EmbeddedTransport
        from dfanalyzer.in_process_service import InProcessService

        transport = EmbeddedTransport(data_dir)
        try:
            store, ingestor = transport.store, transport.ingestor
        except Unavailable as error:
            raise ReadError(f"cannot read {data_dir}: {error}") from None
        service = InProcessService(store, data_dir, ingestor).start()
        _services[data_dir] = (service, transport)
        _stop_before_exit()
        logger.info("keras_prov: serving %s at %s from this process", data_dir, service.url)
        return service.url


def stop_serving():
    """Stops serving the embedded directories and gives their stores back (closed when no fit
    of this process records into them)."""
    with _services_lock:
        held = list(_services.values())
        _services.clear()
    for service, transport in held:
        service.stop()
        transport.close()


def _stop_before_exit():
    # Before the exit-time close of dfa_lib_python (threading's exit hooks run last-registered
    # first, and before atexit): the store must be closed on the threads that opened it.
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        try:
            register(stop_serving)
        except RuntimeError:
            pass


def _served_elsewhere(data_dir):
    """The address of the process that holds `data_dir` when it is not this one and serves it;
    raises ReadError when it is held but not served; None when nobody else holds it. A holder
    that serves nothing gets HOLDER_WAIT_SECONDS to let go (a restarted kernel's predecessor
    may still be closing the store)."""
    from dfanalyzer.in_process_service import read_record
    from dfanalyzer.supervisor import read_pid_record

    deadline = time.monotonic() + HOLDER_WAIT_SECONDS
    while True:
        holder = _other_holder(data_dir)
        if holder is None:
            return None
        record = read_record(data_dir)
        if record:
            logger.info("keras_prov: %s is held by process %s; reading through it at %s", data_dir,
                        record["pid"], record["url"])
            return record["url"]
        service = read_pid_record(os.path.join(data_dir, "dfanalyzer.pid"))
        if service:
            host = "127.0.0.1" if service.get("host") in (None, "", "0.0.0.0", "::") else service["host"]
            return f"http://{host}:{service['port']}"
        if time.monotonic() > deadline:
            raise ReadError(
                f"the data directory {data_dir} is held by {holder}, which does not serve it. Read it there (in "
                "that notebook, keras_prov.show() also serves it to other processes), or end that process "
                "(restart its kernel, or call dfa_lib_python.close() and keras_prov.notebook.stop_serving() "
                "in it).")
        time.sleep(0.2)


def _other_holder(data_dir):
    """'process N' when another process holds the directory's database lock, else None."""
    from dfa_lib_python.transport.embedded import open_in_this_process

    if open_in_this_process(data_dir):
        return None
    path = os.path.join(data_dir, "monetdb", ".dfanalyzer.lock")
    try:
        handle = open(path, "r")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
        except BlockingIOError:
            holder = handle.read().strip() or "another process"
    return None if holder == f"process {os.getpid()}" else holder
