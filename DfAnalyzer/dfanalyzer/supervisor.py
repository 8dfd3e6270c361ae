"""`dfanalyzer start`'s process: it owns the listening socket and the pid file, and runs the
service in a worker process that it starts again whenever it dies.

The embedded engine can still crash on input nobody has refused yet; the worker takes the crash,
the socket stays open (connections wait in its backlog instead of being refused) and a fresh
worker serves them a few seconds later. Clients replay what was not acknowledged.

A worker is also replaced on purpose, without failing a request, once it served `max_requests`
requests or grew past `max_rss` (what the engine leaks natively goes with it): it asks (SIGUSR1),
a successor starts and imports everything, the worker is told to finish its requests and close
the store (SIGHUP), and only then the successor opens the store and takes the socket; connections
made meanwhile wait in the socket's backlog.

A worker that ends while the data directory's disk is nearly full (the engine cannot open its
database on a full disk) is started again every few seconds, at once when space is freed, and
never given up on. The supervisor's own file (the pid record) is
written whole or not at all.
"""
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time

from dfanalyzer.disk_space import DiskSpace, human
from dfanalyzer.errors import StoreUnavailable

log = logging.getLogger(__name__)

STOP_SECONDS = 8  # SIGTERM to exit: the worker gets this long, then SIGKILL; the whole stays under 10 s
STARTUP_FAILURE_EXIT = 3  # a worker that cannot open its store exits with this: the service's first one ends the
# service (a setting to fix); a later one (a recycle's successor on a loaded machine: GDKinit failed) is restarted
DISK_FULL_EXIT = 4  # a worker that cannot open its store for want of disk space: started again once freed
QUICK_DEATH_SECONDS = 10  # a worker dying sooner than this after its start counts as a failed start
MAX_QUICK_DEATHS = 5
RECYCLE_DRAIN_SECONDS = 30  # a recycled worker's requests in flight get this long to finish
SUCCESSOR_READY_SECONDS = 120  # a successor that has not imported its modules by then is given up
DISK_FLOOR = 1 << 20  # a worker ending with less free is blamed on the disk, whatever --min-free says
DISK_POLL_SECONDS = 0.5
DISK_RETRY_SECONDS = 5  # a worker ending on a nearly full disk is started again this often at most


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
    """Replaces the record whole, or leaves the previous one (and no temporary file) when the
    disk is full; returns whether it was written."""
    temporary = pid_file + ".tmp"
    try:
        with open(temporary, "w") as handle:
            json.dump(record, handle)
        os.replace(temporary, pid_file)
        return True
    except OSError as error:
        try:
            os.remove(temporary)
        except OSError:
            pass
        log.warning("cannot write the pid record %s (%s); the previous one is kept", pid_file, error.strerror)
        return False


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
        self.recycles = 0
        self._stopping = False
        self._recycle_asked = False
        self._worker = None
        self._disk = DiskSpace(max(settings.min_free, DISK_FLOOR), [settings.data_dir])

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
        signal.signal(signal.SIGUSR1, self._recycle_wanted)
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

    def _recycle_wanted(self, signum, frame):
        self._recycle_asked = True

    def _save_record(self):
        _write_pid_record(self.settings.pid_file, {
            "pid": os.getpid(), "host": self.settings.host, "port": self.settings.port,
            "worker_pid": self._worker.pid if self._worker else None,
            "restarts": self.restarts, "last_restart": self.last_restart, "recycles": self.recycles})

    def _supervise(self, listener):
        quick_deaths = 0
        while not self._stopping:
            if self._worker is None:
                started = time.monotonic()
                self._worker = self._start_worker(listener)
                self._save_record()
            while not self._stopping and self._worker.poll() is None and not self._recycle_asked:
                time.sleep(0.1)
            if self._stopping:
                self._stop_worker()
                return 0
            if self._recycle_asked and self._worker.poll() is None:
                self._recycle(listener)
                started, quick_deaths = time.monotonic(), 0
                continue
            self._recycle_asked = False
            code, dead_pid = self._worker.returncode, self._worker.pid
            self._worker = None
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            short = self._disk.shortage()
            if code == DISK_FULL_EXIT or short:  # never given up on: space may be freed
                short = short or (self.settings.data_dir, 0)
                if code != DISK_FULL_EXIT:
                    self.restarts += 1
                    self.last_restart = {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "worker_pid": dead_pid,
                                         "cause": f"{how}, disk full"}
                self._pause_for_disk_space(short, how, until_freed=code == DISK_FULL_EXIT)
                continue
            if code == STARTUP_FAILURE_EXIT and not (self.recycles or self.restarts):
                return 1  # the first worker said why on stderr: a setting to fix, not a worker to restart
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < QUICK_DEATH_SECONDS else 0
            if quick_deaths >= MAX_QUICK_DEATHS:
                log.error("the DfAnalyzer worker died %d times in a row right after starting (last: %s); giving up",
                          quick_deaths, how)
                return 1
            self.restarts += 1
            self.last_restart = {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "worker_pid": dead_pid,
                                 "cause": how}
            log.error("the DfAnalyzer worker (process %d) died (%s); starting a new one (restart %d)",
                      dead_pid, how, self.restarts)
            time.sleep(min(0.2 * 2 ** quick_deaths, 5))
        return 0

    def _pause_for_disk_space(self, short, how, until_freed):
        """Waits before the worker is started again on a nearly full disk: DISK_RETRY_SECONDS and
        until space is freed when it could not open the store (`until_freed`), else
        DISK_RETRY_SECONDS at most (it may still serve reads)."""
        log.error("the DfAnalyzer worker ended (%s) while the disk of %s has %s free (less than the %s kept "
                  "free, --min-free); it is started again %s", how, short[0], human(short[1]),
                  human(self._disk.min_free), "once space is freed there" if until_freed else "in a moment")
        deadline = time.monotonic() + DISK_RETRY_SECONDS
        while not self._stopping:
            short = self._disk.shortage()
            if (not short and not until_freed) or (time.monotonic() >= deadline and not (until_freed and short)):
                return
            time.sleep(DISK_POLL_SECONDS)

    def _start_worker(self, listener, handover=()):
        """Starts a worker on `listener`; `handover` (go fd, ready fd) makes it import its modules,
        say so on the ready pipe and wait for a byte on the go pipe before opening the store."""
        settings = self.settings
        command = [sys.executable, "-m", "dfanalyzer.server", "--fd", str(listener.fileno()),
                   "--host", settings.host, "--port", str(settings.port), "--data-dir", settings.data_dir,
                   "--query-timeout", str(self.query_timeout), "--restarts", str(self.restarts)]
        if handover:
            command += ["--handover", ",".join(map(str, handover))]
        return subprocess.Popen(command, pass_fds=[listener.fileno(), *handover], env=settings.process_environment(),
                                stdin=subprocess.DEVNULL)

    def _recycle(self, listener):
        """Replaces the running worker by a fresh one without failing a request (module docstring)."""
        old = self._worker
        go_read, go_write = os.pipe()
        ready_read, ready_write = os.pipe()
        try:
            successor = self._start_worker(listener, handover=(go_read, ready_write))
            os.close(go_read)
            os.close(ready_write)
            if not self._successor_ready(ready_read, successor, old):
                if not self._stopping:
                    log.warning("the successor worker (process %d) did not get ready; the worker (process %d) "
                                "serves on", successor.pid, old.pid)
                self._end(successor)
                return
            old.send_signal(signal.SIGHUP)  # finish the requests in flight, close the store, exit
            deadline = time.monotonic() + RECYCLE_DRAIN_SECONDS + STOP_SECONDS
            while old.poll() is None and not self._stopping and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._stopping:
                self._end(successor)  # the closed go pipe tells it not to serve
                return  # the old worker is stopped as at any stop
            if old.poll() is None:
                log.warning("the recycled worker (process %d) did not exit in time; killing it", old.pid)
                old.kill()
                old.wait()
            os.write(go_write, b"g")
        finally:
            self._recycle_asked = False
            for descriptor in (go_write, ready_read):
                os.close(descriptor)
        self._worker = successor
        self.recycles += 1
        log.info("the DfAnalyzer worker (process %d, ended with exit code %s) was replaced by process %d (recycle %d)",
                 old.pid, old.returncode, successor.pid, self.recycles)
        self._save_record()

    def _successor_ready(self, ready_read, successor, old):
        deadline = time.monotonic() + SUCCESSOR_READY_SECONDS
        while time.monotonic() < deadline and not self._stopping:
            if successor.poll() is not None:
                return False
            if old.poll() is not None:
                return True  # the old worker died meanwhile: the successor takes over at once
            if select.select([ready_read], [], [], 0.1)[0]:
                return os.read(ready_read, 1) == b"r"
        return False

    @staticmethod
    def _end(process):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

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
