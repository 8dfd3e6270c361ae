"""`dfanalyzer start`'s process: it owns the listening socket and the pid file, and runs the
service in a worker process that it starts again whenever it dies.

The embedded engine can still crash on input nobody has refused yet; the worker takes the crash,
the socket stays open (connections wait in its backlog instead of being refused) and a fresh
worker serves them a few seconds later. Clients replay what was not acknowledged.
"""
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time

from dfanalyzer.errors import StoreUnavailable

log = logging.getLogger(__name__)

STOP_SECONDS = 8  # SIGTERM to exit: the worker gets this long, then SIGKILL; the whole stays under 10 s
STARTUP_FAILURE_EXIT = 3  # a worker that cannot open its store exits with this: restarting would not help
QUICK_DEATH_SECONDS = 10  # a worker dying sooner than this after its start counts as a failed start
MAX_QUICK_DEATHS = 5


def read_pid_record(pid_file):
    """The pid file's record if its process is alive, else None."""
    try:
        with open(pid_file) as handle:
            record = json.load(handle)
        os.kill(record["pid"], 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record


def _write_pid_record(pid_file, record):
    temporary = pid_file + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(record, handle)
    os.replace(temporary, pid_file)


def _listening_socket(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise StoreUnavailable(f"cannot listen on {host}:{port} ({error.strerror}); stop what uses that port "
                               "or choose another --port") from None
    # Not listening yet: the first worker listens once its store is open, so that a client
    # connecting before is refused (and retries) instead of waiting on a silent socket. The
    # listening state belongs to the socket, so it outlives a worker that dies.
    listener.set_inheritable(True)
    return listener


def _check_engine(settings):
    """Refuses at once, in this process, what no worker could do (e.g. monetdbe missing)."""
    if not settings.monetdb_url:
        from dfanalyzer.store import engine

        if engine.ffi is None:
            raise StoreUnavailable("embedded MonetDB (monetdbe) is not installed; run `bash scripts/bootstrap.sh`, "
                                   "or use a MonetDB server with --monetdb-url")


class Supervisor:
    """Serves `settings` through worker processes until SIGTERM or SIGINT.

    Args:
        settings: the service's Settings.
        query_timeout: seconds a user query may run (passed to each worker).
    """

    def __init__(self, settings, query_timeout):
        self.settings = settings
        self.query_timeout = query_timeout
        self.restarts = 0
        self.last_restart = None
        self._stopping = False
        self._worker = None

    def run(self):
        """Returns the process exit code: 0 after a stop, 1 when the service could not start."""
        settings = self.settings
        _check_engine(settings)
        os.makedirs(settings.data_dir, exist_ok=True)
        holder = read_pid_record(settings.pid_file)
        if holder and holder.get("pid") != os.getpid():
            raise StoreUnavailable(f"the data directory {settings.data_dir} is in use by process {holder['pid']} "
                                   f"(port {holder.get('port')}); stop it (`dfanalyzer stop --data-dir ...`) "
                                   "or choose another --data-dir")
        listener = _listening_socket(settings.host, settings.port)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self._save_record()
        try:
            return self._supervise(listener)
        finally:
            listener.close()
            try:
                os.remove(settings.pid_file)
            except FileNotFoundError:
                pass

    def _stop(self, signum, frame):
        self._stopping = True

    def _save_record(self):
        _write_pid_record(self.settings.pid_file, {
            "pid": os.getpid(), "host": self.settings.host, "port": self.settings.port,
            "worker_pid": self._worker.pid if self._worker else None,
            "restarts": self.restarts, "last_restart": self.last_restart})

    def _supervise(self, listener):
        quick_deaths = 0
        while not self._stopping:
            started = time.monotonic()
            self._worker = self._start_worker(listener)
            self._save_record()
            while not self._stopping and self._worker.poll() is None:
                time.sleep(0.1)
            if self._stopping:
                self._stop_worker()
                return 0
            code = self._worker.returncode
            if code == STARTUP_FAILURE_EXIT:
                return 1  # the worker said why on stderr
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < QUICK_DEATH_SECONDS else 0
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            if quick_deaths >= MAX_QUICK_DEATHS:
                log.error("the DfAnalyzer worker died %d times in a row right after starting (last: %s); giving up",
                          quick_deaths, how)
                return 1
            self.restarts += 1
            self.last_restart = {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "worker_pid": self._worker.pid,
                                 "cause": how}
            log.error("the DfAnalyzer worker (process %d) died (%s); starting a new one (restart %d)",
                      self._worker.pid, how, self.restarts)
            time.sleep(min(0.2 * 2 ** quick_deaths, 5))
        return 0

    def _start_worker(self, listener):
        settings = self.settings
        command = [sys.executable, "-m", "dfanalyzer.server", "--fd", str(listener.fileno()),
                   "--host", settings.host, "--port", str(settings.port), "--data-dir", settings.data_dir,
                   "--query-timeout", str(self.query_timeout), "--restarts", str(self.restarts)]
        return subprocess.Popen(command, pass_fds=[listener.fileno()], env=settings.process_environment(),
                                stdin=subprocess.DEVNULL)

    def _stop_worker(self):
        worker = self._worker
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("the DfAnalyzer worker did not stop within %ds; killing it", STOP_SECONDS)
                worker.kill()
                worker.wait()
