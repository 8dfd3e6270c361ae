"""The connection of this process to DfAnalyzer: spool, sender thread, transport."""
import collections
import datetime
import enum
import itertools
import json
import logging
import os
import tempfile
import threading
import time
import uuid

from dfa_lib_python.errors import ConfigurationError
from dfa_lib_python.sender import Sender
from dfa_lib_python.spool import RejectedFile, SpoolSession
from dfa_lib_python.transport import make_transport

logger = logging.getLogger("dfa_lib_python")

DEFAULT_URL = "http://localhost:22000/"  # the original library's default
MAX_OVERFLOW = 100_000
DEFAULT_EXIT_TIMEOUT = 10.0
EXIT_TIMEOUT_WHEN_DOWN = 2.0
FLUSH_RETRY_SECONDS = 0.5  # how often a waiting flush() retries a service that is down


def default_spool_dir():
    """DFA_SPOOL_DIR, else $XDG_CACHE_HOME/dfa_lib_python/spool (~/.cache/...)."""
    configured = os.environ.get("DFA_SPOOL_DIR")
    if configured:
        return configured
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "dfa_lib_python", "spool")


def normalize_url(url):
    """The DFA_URL as the client uses it: no trailing slash; `embedded:` paths made absolute."""
    url = str(url).strip()
    if url.startswith("embedded:"):
        path = url[len("embedded:"):]
        if not path:
            raise ConfigurationError("DFA_URL=embedded: needs a directory, e.g. embedded:/content/dfa-data")
        return "embedded:" + os.path.abspath(os.path.expanduser(path))
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"DFA_URL {url!r} is neither http(s)://host:port nor embedded:/path/to/data-dir; "
            f"e.g. DFA_URL={DEFAULT_URL}"
        )
    return url.rstrip("/")


def _jsonable(value):
    """JSON form of values json does not know: NumPy scalars and arrays, enums, times, paths."""
    if hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "shape", None) == ():
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class QueryResult(collections.namedtuple("QueryResult", ["columns", "rows"])):
    """Columns and rows of a query; `to_pandas()` makes a DataFrame when pandas is installed."""

    def to_pandas(self):
        import pandas

        return pandas.DataFrame(self.rows, columns=self.columns)


class Client:
    """Sends this process's provenance to one DfAnalyzer, without ever blocking the caller.

    Every message is appended to this process's spool session at the call (one write, a few
    microseconds) and a background thread sends the spool in order, in batches, to the service.
    There is no in-memory queue to overflow: memory use stays flat however long the service is
    down, and a record is on disk (page cache) as soon as the call returns. Only when the spool
    cannot be written (disk full) are records held in memory, at most 100,000 of them.
    Nothing is lost when the service is down, restarted or when this process is killed: the next
    process using the same spool directory and URL replays what was not acknowledged, and message
    ids make each replay exactly-once. Usually made by `dfa_lib_python.connect()` or from DFA_URL.

    Args:
        url: "http://host:port" of a DfAnalyzer service, or "embedded:/path/to/data-dir" to write
            into embedded MonetDB in this process. Default: DFA_URL, else http://localhost:22000/.
        spool_dir: directory of the spool. Default: DFA_SPOOL_DIR, else ~/.cache/dfa_lib_python/spool.
        batch_size: most messages per request.
        flush_interval: seconds the sender waits for a batch to fill before sending what it has.
        exit_timeout: seconds the exit-time flush may take (what is not sent stays in the spool).
            Default: DFA_EXIT_TIMEOUT, else 10; at most 2 while the service is down.
        start_sender: False only spools (another process sends it later).

    Example:
        client = dfa_lib_python.connect("http://localhost:22000")
        ...
        client.flush(timeout=10)
        print(client.query("SELECT epoch, loss FROM mydf.otrainingmodel").rows)
    """

    def __init__(self, url=None, spool_dir=None, batch_size=500, flush_interval=0.1, exit_timeout=None,
                 max_batch_bytes=4 * 1024 * 1024, start_sender=True):
        self.url = normalize_url(url or os.environ.get("DFA_URL") or DEFAULT_URL)
        self.transport = make_transport(self.url)
        self.spool_dir = self._usable_spool_dir(spool_dir or default_spool_dir())
        self.session = SpoolSession.create(self.spool_dir, self.url)
        self.rejected = RejectedFile(self.spool_dir)
        self.exit_timeout = float(exit_timeout if exit_timeout is not None
                                  else os.environ.get("DFA_EXIT_TIMEOUT", DEFAULT_EXIT_TIMEOUT))
        self._adopted = []
        self._adopted_lock = threading.Lock()
        self.adopt_orphans()
        self._encode = json.JSONEncoder(default=_jsonable, separators=(",", ":"), ensure_ascii=False).encode
        self._id_prefix = uuid.uuid4().hex
        self._counter = itertools.count(1)
        self._send_lock = threading.Lock()
        self._overflow = collections.deque()
        self._dropped = 0
        self._notify_every = batch_size
        self._next_notify = batch_size
        self._announced = set()
        self._logged = set()
        self.flush_waiting = 0
        self.closed = False
        self.settings = {"url": self.url, "spool_dir": self.spool_dir, "batch_size": batch_size,
                         "flush_interval": flush_interval, "exit_timeout": self.exit_timeout,
                         "max_batch_bytes": max_batch_bytes}
        self._sender = Sender(self, batch_size, flush_interval, max_batch_bytes)
        if start_sender:
            self._sender.start()

    @staticmethod
    def _usable_spool_dir(path):
        path = os.path.abspath(os.path.expanduser(path))
        try:
            os.makedirs(path, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=path)
            probe.close()
            return path
        except OSError as error:
            fallback = os.path.join(tempfile.gettempdir(), f"dfa_lib_python-spool-{os.getuid()}")
            logger.warning("dfa_lib_python: cannot use the spool directory %s (%s); using %s instead. "
                           "Set DFA_SPOOL_DIR to a writable directory.", path, error, fallback)
            os.makedirs(fallback, exist_ok=True)
            return fallback

    # ----------------------------------------------------------------- sending (caller's thread)
    def encode(self, value):
        """JSON text of `value` as messages carry it (NumPy values become plain numbers)."""
        return self._encode(value)

    def send(self, kind, body, body_json=None):
        """Queues one message ("dataflow", "execution" or "task"). Never raises, never blocks on I/O
        beyond one append to the page cache. `body_json` is the body already encoded with
        `encode()`, when the caller keeps it. Returns the message id."""
        message_id = f"{self._id_prefix}-{next(self._counter)}"
        try:
            if body_json is None:
                body_json = self._encode(body)
            line = f'{{"id":"{message_id}","kind":"{kind}","body":{body_json}}}\n'.encode("utf-8")
        except (TypeError, ValueError) as error:
            self._log_once("encode", "dfa_lib_python: a %s record cannot be written as JSON (%s); it is skipped. "
                           "Give plain values (numbers, strings, None) in Elements.", kind, error)
            return None
        with self._send_lock:
            if self._overflow:
                self._keep_in_memory(line)
            else:
                try:
                    self.session.append(line)
                except (OSError, ValueError) as error:
                    self._log_once("append", "dfa_lib_python: cannot write to the spool %s (%s); records are kept "
                                   "in memory until it is writable again.", self.spool_dir, error)
                    self._keep_in_memory(line)
        if self.session.appended >= self._next_notify:
            self._next_notify = self.session.appended + self._notify_every
            self._sender.wake.set()
        return message_id

    def _keep_in_memory(self, line):
        if len(self._overflow) >= MAX_OVERFLOW:
            self._dropped += 1
            self._log_once("drop", "dfa_lib_python: the spool is not writable and %d records wait in memory; "
                           "newer records are dropped until it is writable again.", MAX_OVERFLOW)
            return
        self._overflow.append(line)

    def drain_overflow(self):
        """Moves records kept in memory (spool was not writable) to the spool, in order. Sender thread."""
        if not self._overflow:
            return
        with self._send_lock:
            while self._overflow:
                try:
                    self.session.append(self._overflow[0])
                except (OSError, ValueError):
                    return
                self._overflow.popleft()

    def ensure_execution(self, execution):
        """Sends the execution message of `execution` before its first task (once per client)."""
        key = (execution.dataflow_tag, execution.tag)
        if key not in self._announced:
            self._announced.add(key)
            self.send("execution", execution.get_specification())

    def _log_once(self, key, message, *args):
        if key not in self._logged:
            self._logged.add(key)
            logger.warning(message, *args)

    # ----------------------------------------------------------------- adopted sessions (sender thread)
    def adopt_orphans(self):
        found = SpoolSession.adopt_orphans(self.spool_dir, self.url, exclude={self.session.directory})
        if found:
            with self._adopted_lock:
                self._adopted.extend(found)
            pending = sum(session.pending_bytes() for session in found)
            if pending > 0:
                logger.info("dfa_lib_python: found %d bytes of provenance left in %s by earlier processes; "
                            "sending them first",
                            pending, self.spool_dir)

    def adopted_sessions(self):
        with self._adopted_lock:
            return list(self._adopted)

    def forget_adopted(self, session):
        with self._adopted_lock:
            self._adopted.remove(session)
        session.close(remove_if_empty=True)

    # ----------------------------------------------------------------- waiting and reading
    def pending(self):
        """Whether records of this process (or adopted ones) wait to be sent."""
        return bool(self._overflow) or bool(self.adopted_sessions()) or self.session.has_pending()

    def flush(self, timeout=30.0, timeout_when_down=None):
        """Waits until every record given so far is stored by the service, at most `timeout`
        seconds (None: no limit), or `timeout_when_down` seconds once the service is found down.
        Returns True when everything is stored; False when records are still waiting (they stay
        in the spool and are sent later). Never raises."""
        if self.closed:
            return not self.pending()
        return self._wait_until_stored(self.session.write_position(), timeout, timeout_when_down)

    def replay(self, own_records=True, timeout=120.0, timeout_when_down=10.0):
        """Looks through the spool again for records that processes now gone left unsent for this
        URL (a kernel killed a moment ago), and waits until they are stored, with every record of
        this process given so far when `own_records`. For a read that must see them: it waits as
        long as the service is storing (a slow machine only makes it longer), at most `timeout`
        seconds, or `timeout_when_down` seconds once the service is found down. Returns True when
        they are stored. Never raises."""
        if self.closed or not self._sender.is_alive():
            return not (self.pending() if own_records else self.adopted_sessions())
        target = self.session.write_position() if own_records else None
        return self._wait_until_stored(target, timeout, timeout_when_down, rescan=True)

    def _wait_until_stored(self, target, timeout, timeout_when_down, rescan=False):
        """Waits until the adopted sessions, and this process's records up to `target` (a spool
        position; None: not them), are acknowledged; with `rescan`, the sender looks for orphaned
        sessions first. See flush() for the limits."""
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        rescans_before = self._sender.request_rescan() if rescan else None
        self.flush_waiting += 1
        try:
            self._sender.request_retry()
            last_retry = time.monotonic()
            with self._sender.progress:
                while True:
                    if ((rescans_before is None or self._sender.rescans > rescans_before)
                            and not self.adopted_sessions()
                            and (target is None or (not self._overflow and self.session.acked_past(target)))):
                        return True
                    if not self._sender.is_alive():
                        return False
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    if (timeout_when_down is not None and self._sender.down_since is not None
                            and time.monotonic() - started >= timeout_when_down):
                        return False
                    self._sender.progress.wait(0.05 if remaining is None else min(remaining, 0.05))
                    if self._sender.down_since is not None and time.monotonic() - last_retry > FLUSH_RETRY_SECONDS:
                        last_retry = time.monotonic()  # someone waits: try again soon, not after the backoff
                        self._sender.request_retry()
        finally:
            self.flush_waiting -= 1

    def query(self, sql, limit=1000, flush=True, flush_timeout=30.0):
        """Rows of a read-only SQL query (SELECT/WITH), after flushing this process's records.

        Returns a QueryResult(columns, rows). Raises dfa_lib_python.transport.Unavailable when the
        service cannot be reached and BadRequest when it refuses the query."""
        if flush:
            self.flush(flush_timeout)
        columns, rows = self.transport.query(sql, limit)
        return QueryResult(list(columns), [list(row) for row in rows])

    @property
    def status(self):
        """A dict describing the connection: url, spool, pending bytes, sent, rejected, down since."""
        return {
            "url": self.url,
            "spool_dir": self.spool_dir,
            "session": self.session.directory,
            "pending_bytes": self.session.pending_bytes(),
            "sent_messages": self._sender.sent_messages,
            "rejected_messages": self._sender.rejected_count,
            "down_since": self._sender.down_since,
            "rejected_file": self.rejected.path,
        }

    def close(self, timeout=None):
        """Flushes for at most `timeout` seconds (default: exit_timeout; shorter while the service is
        down), stops the sender and releases the spool session. What was not sent stays in the
        spool for the next process."""
        if self.closed:
            return
        if timeout is None:
            done = self.flush(self.exit_timeout, timeout_when_down=min(self.exit_timeout, EXIT_TIMEOUT_WHEN_DOWN))
        else:
            done = self.flush(timeout)
        self._sender.stopping = True
        stopped = self._sender.stop(join_timeout=1.0)
        self.closed = True
        if stopped:
            for session in self.adopted_sessions():
                session.close(remove_if_empty=True)
            removed = self.session.close(remove_if_empty=not self._overflow)
            if not done and not removed:
                logger.warning("dfa_lib_python: %d bytes of provenance could not be sent to %s before exit; they "
                               "are kept in %s and sent by the next program that uses this spool and URL.",
                               self.session.pending_bytes(), self.url, self.spool_dir)
        else:
            self.session.sync()
            logger.warning("dfa_lib_python: provenance not yet sent to %s is kept in %s and sent by the next program "
                           "that uses this spool and URL.", self.url, self.spool_dir)
        lost = self._dropped + len(self._overflow)
        if lost:
            logger.error("dfa_lib_python: %d records are lost because the spool %s could not be written "
                         "(is the disk full?).", lost, self.spool_dir)
        self.transport.close()
