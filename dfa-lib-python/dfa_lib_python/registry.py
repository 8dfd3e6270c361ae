"""Process-wide state: the client, the dataflows defined here, the executions they run."""
import atexit
import logging
import os
import threading

from dfa_lib_python.execution import Execution

logger = logging.getLogger("dfa_lib_python")


class Registry:
    """What this process knows: its Client (made from DFA_URL on first use), the latest Dataflow
    object per tag (to check Elements against their sets) and the Execution per (dataflow, exec)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._client = None
        self._dataflows = {}
        self._executions = {}
        self._current = {}  # dataflow tag -> Execution used by tasks created without exec_tag
        self.exiting = False
        self._inherited = None  # settings of the parent's client, in a forked child

    # ----------------------------------------------------------------- client
    def client(self):
        client = self._client
        if client is None or client.closed:
            with self._lock:
                if self._client is None or self._client.closed:
                    from dfa_lib_python.client import Client

                    # After the exit-time close no thread can start: records of late calls stay
                    # in the spool for the next process.
                    self._client = Client(start_sender=not self.exiting, **(self._inherited or {}))
                client = self._client
        return client

    def current(self):
        """The client in use, or None (never makes one)."""
        return self._client

    def connect(self, client):
        with self._lock:
            previous, self._client = self._client, client
        if previous is not None and previous is not client:
            previous.close()
        return client

    def close_client(self, timeout=None):
        with self._lock:
            client, self._client = self._client, None
            self._inherited = None
        if client is not None:
            client.close(timeout)

    def forget_client_after_fork(self):
        # The child shares the parent's spool files but has no sender thread: it starts its own
        # client (own spool session, own thread) with the parent's settings.
        if self._client is not None:
            self._inherited = dict(self._client.settings)
        self._client = None
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- dataflows and executions
    def register_dataflow(self, dataflow):
        with self._lock:
            self._dataflows[dataflow.tag] = dataflow
            self._executions[(dataflow.tag, dataflow.execution.tag)] = dataflow.execution
            self._current[dataflow.tag] = dataflow.execution

    def dataflow(self, tag):
        return self._dataflows.get(tag.lower())

    def current_execution(self, dataflow_tag):
        """The execution of the latest Dataflow object of this tag, else one per process."""
        dataflow_tag = dataflow_tag.lower()
        with self._lock:
            execution = self._current.get(dataflow_tag)
            if execution is None:
                execution = Execution(dataflow_tag)
                self._current[dataflow_tag] = execution
                self._executions[(dataflow_tag, execution.tag)] = execution
            return execution

    def execution(self, dataflow_tag, exec_tag):
        """The Execution for an explicit exec tag; its agents are those of the dataflow's run."""
        dataflow_tag = dataflow_tag.lower()
        key = (dataflow_tag, str(exec_tag))
        with self._lock:
            execution = self._executions.get(key)
            if execution is None:
                template = self._current.get(dataflow_tag)
                execution = template.copy_for(str(exec_tag)) if template else Execution(dataflow_tag, str(exec_tag))
                self._executions[key] = execution
            return execution


registry = Registry()


_before_close = []  # functions that may still record at exit, run before the final flush
_hooked_before_thread_pools = False


def before_exit_close(function):
    """Runs `function` (no arguments) at interpreter exit before this library's final flush and
    close, so that records it produces still reach DfAnalyzer (keras_prov waits there for its
    recording thread and model uploads). Functions run once, in the order they were given."""
    _before_close.append(function)
    return function


def _close_at_exit():
    while _before_close:
        function = _before_close.pop(0)
        try:
            function()
        except Exception:  # noqa: BLE001 - never turn interpreter exit into a traceback
            logger.exception("dfa_lib_python: error in an exit-time step before the final flush")
    registry.exiting = True
    try:
        registry.close_client()
    except Exception:  # noqa: BLE001 - never turn interpreter exit into a traceback
        logger.exception("dfa_lib_python: error while flushing provenance at exit")


def close_before_thread_pools_stop():
    """Makes the exit-time flush (and the steps before it) run before Python stops
    ThreadPoolExecutor threads.

    concurrent.futures stops its pools in threading's own exit hooks, before atexit handlers run.
    The embedded store runs MonetDB on such threads, and a monetdbe connection that is not closed
    on its own thread crashes the process, so a client writing into an embedded store must flush
    and close first. Hooks registered later run earlier: concurrent.futures' is registered when
    it is imported, so it is imported here first. Called when an embedded transport is made."""
    global _hooked_before_thread_pools
    register = getattr(threading, "_register_atexit", None)
    if register is None or _hooked_before_thread_pools:
        return
    import concurrent.futures.thread  # noqa: F401 - registers its own hook first, see above

    try:
        register(_close_at_exit)
        _hooked_before_thread_pools = True
    except RuntimeError:
        pass  # already shutting down


atexit.register(_close_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=registry.forget_client_after_fork)
