"""The background thread that moves spooled messages to the service, in order, exactly once."""
import json
import logging
import random
import threading
import time

from dfa_lib_python.transport import BadRequest, Rejected, Unavailable

logger = logging.getLogger("dfa_lib_python")

FIRST_RETRY_DELAY = 0.25
MAX_RETRY_DELAY = 15.0
ORPHAN_RESCAN_SECONDS = 30.0
MAX_LOGGED_REJECTIONS = 5
SERVER_ERRORS_BEFORE_BISECT = 3  # 5xx answers to the same batch, with /health fine, before bisecting it


def _message_id(line):
    try:
        return json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None


class Sender(threading.Thread):
    """Reads batches from the spool sessions (adopted ones first, then this process's own), sends
    them through the transport, acknowledges them in the spool once stored.

    Batches are cut by count (`batch_size`) and by time (`flush_interval`). When the service is
    unreachable or answers 5xx, the batch stays in the spool and is retried with exponential
    backoff; one warning says so. A message the service refuses as bad data goes to the rejected
    file and the rest of its batch is sent again.

    A service that answers 5xx to the same batch again and again while its /health is fine fails on
    something in the batch: the batch is bisected (halves sent in order, the failing half split
    again) until the one message that fails is found; it goes to the rejected file with the answer
    and the rest is delivered, so one poisonous record never jams the spool. Messages sent twice on
    the way are stored once (the service deduplicates by message id).
    """

    def __init__(self, client, batch_size, flush_interval, max_batch_bytes):
        super().__init__(name="dfa_lib_python-sender", daemon=True)
        self.client = client
        self.batch_size = batch_size
        self.batch_limit = batch_size  # lowered while batches time out or are too large
        self.flush_interval = flush_interval
        self.max_batch_bytes = max_batch_bytes
        self.wake = threading.Event()
        self.progress = threading.Condition()
        self.stopping = False
        self.stop_now = False
        self.retry_now = False
        self.rescan_now = False
        self.rescans = 0  # looks through the spool for orphaned sessions, made on request
        self._rescan_lock = threading.Lock()
        self.down_since = None
        self.failures = 0
        self.sent_messages = 0
        self.sent_while_down = 0
        self.rejected_count = 0
        self._rejected_ids = set()
        self._failing_batch = (None, 0)  # (first message id, 5xx answers in a row) of the batch being retried
        self._last_rescan = time.monotonic()
        self._logged_errors = set()

    # ----------------------------------------------------------------- loop
    def run(self):
        while not self.stop_now:
            try:
                worked = self._step()
            except Exception as error:  # noqa: BLE001 - the sender must outlive any surprise
                key = type(error).__name__
                if key not in self._logged_errors:
                    self._logged_errors.add(key)
                    logger.exception("dfa_lib_python: unexpected error while sending provenance; "
                                     "the records stay in the spool %s and are retried", self.client.spool_dir)
                self._wait(self._retry_delay())
                continue
            with self.progress:
                self.progress.notify_all()
            if not worked:
                if self.stopping:
                    break
                self._wait(self.flush_interval)

    def _wait(self, seconds):
        if self.wake.wait(seconds):
            self.wake.clear()

    def _step(self):
        """Sends one batch if there is one. Returns False when there was nothing to do."""
        self.client.drain_overflow()
        if self.rescan_now:
            with self._rescan_lock:  # a rescan counted after a request started after it
                self.rescan_now = False
                self.client.adopt_orphans()
                self.rescans += 1
        session = self._next_session()
        if session is None:
            return False
        if session.writable:
            session.sync()
        batch = session.read_batch(min(self.batch_size, self.batch_limit), self.max_batch_bytes)
        if batch is None:
            if not session.writable and not session.has_pending():
                self.client.forget_adopted(session)
                return True
            return False
        self._deliver(batch)
        if (session.writable and len(batch.lines) < min(self.batch_size, self.batch_limit) and self.down_since is None
                and not self.stopping and not self.client.flush_waiting):
            self._wait(self.flush_interval)  # batch by time: let the next one fill up
        return True

    def _next_session(self):
        for session in self.client.adopted_sessions():
            return session
        own = self.client.session
        if own.has_pending():
            return own
        now = time.monotonic()
        if now - self._last_rescan > ORPHAN_RESCAN_SECONDS:
            self._last_rescan = now
            self.client.adopt_orphans()
        return None

    # ----------------------------------------------------------------- one batch
    def _deliver(self, batch):
        lines = batch.lines
        if self._rejected_ids:
            lines = [line for line in lines if _message_id(line) not in self._rejected_ids]
        while lines:
            try:
                self.client.transport.send(lines)
            except Unavailable as error:
                if error.too_big:
                    self.batch_limit = max(1, len(lines) // 2)  # smaller batches until one succeeds
                if self._keeps_failing(lines, error) and self.client.transport.healthy():
                    if not self._bisect(lines, error):
                        return
                    lines = []
                    break
                self._outage(str(error), error.retry_after)
                return
            except Rejected as error:
                lines = self._set_aside(lines, error.message_id, error.reason)
                continue
            except BadRequest as error:
                if not self._send_one_by_one(lines, error):
                    return
                lines = []
                break
            break
        batch.session.ack(batch)
        self._failing_batch = (None, 0)
        self._rejected_ids.clear()  # only needed until the batch holding them is acknowledged
        self.sent_messages += len(batch.lines)
        self._recovered(len(batch.lines))

    def _keeps_failing(self, lines, error):
        """Counts 5xx answers to the batch starting with the same message; True once they are enough
        to suspect a message of the batch rather than the service."""
        if not error.server_error:
            self._failing_batch = (None, 0)
            return False
        first = _message_id(lines[0])
        count = self._failing_batch[1] + 1 if self._failing_batch[0] == first else 1
        self._failing_batch = (first, count)
        return count >= SERVER_ERRORS_BEFORE_BISECT

    def _bisect(self, lines, error):
        """Delivers `lines`, which the service answered 5xx as a whole, except the message that
        makes it fail (set aside with the answer). False if the service went away meanwhile."""
        if len(lines) == 1:
            return self._retry_or_set_aside(lines[0], error)
        middle = len(lines) // 2
        for part in (lines[:middle], lines[middle:]):
            while part:
                try:
                    self.client.transport.send(part)
                    break
                except Unavailable as failure:
                    if not (failure.server_error and self.client.transport.healthy()):
                        self._outage(str(failure))
                        return False
                    if not self._bisect(part, failure):
                        return False
                    break
                except Rejected as refusal:
                    part = self._set_aside(part, refusal.message_id, refusal.reason)
                except BadRequest as refusal:
                    if not self._send_one_by_one(part, refusal):
                        return False
                    break
        return True

    def _retry_or_set_aside(self, line, error):
        """One message the service failed on: tried again (the failure may have been passing), then
        set aside with the service's answer."""
        for _ in range(SERVER_ERRORS_BEFORE_BISECT - 1):
            try:
                self.client.transport.send([line])
                return True
            except Unavailable as failure:
                if not (failure.server_error and self.client.transport.healthy()):
                    self._outage(str(failure))
                    return False
                error = failure
            except (Rejected, BadRequest) as refusal:
                self._reject(line, str(refusal.reason))
                return True
        self._reject(line, f"the service fails on this record ({error}); it is set aside so that the records "
                           "after it are delivered")
        return True

    def _set_aside(self, lines, message_id, reason):
        """Moves the offending message to the rejected file; returns the others."""
        for index, line in enumerate(lines):
            if _message_id(line) == message_id:
                self._reject(line, reason)
                return lines[:index] + lines[index + 1:]
        # The service named a message that is not in this batch: send the lines one by one.
        self._send_one_by_one(lines, BadRequest(422, reason))
        return []

    def _send_one_by_one(self, lines, error):
        """Finds the bad lines of a batch refused as a whole. False if the service went away."""
        if len(lines) == 1:
            self._reject(lines[0], str(error.reason))
            return True
        for line in lines:
            try:
                self.client.transport.send([line])
            except Unavailable as outage:
                self._outage(str(outage))
                return False
            except (Rejected, BadRequest) as refusal:
                self._reject(line, str(refusal.reason))
        return True

    def _reject(self, line, reason):
        message_id = _message_id(line)
        if message_id:
            self._rejected_ids.add(message_id)
        self.rejected_count += 1
        self.client.rejected.add(line, reason, self.client.url)
        if self.rejected_count <= MAX_LOGGED_REJECTIONS:
            logger.warning("dfa_lib_python: DfAnalyzer refused a record as bad data: %s. The record is set "
                           "aside in %s and will not be retried.", reason, self.client.rejected.path)
        elif self.rejected_count == MAX_LOGGED_REJECTIONS + 1:
            logger.warning("dfa_lib_python: more records were refused; further ones are only written to %s",
                           self.client.rejected.path)

    # ----------------------------------------------------------------- outages
    def _outage(self, reason, retry_after=None):
        self.failures += 1
        if self.down_since is None:
            self.down_since = time.time()
            logger.warning(
                "dfa_lib_python: DfAnalyzer at %s is not reachable or cannot store now (%s). Provenance records "
                "are kept in %s and sent when it can; your program goes on.", self.client.url, reason, self.client.spool_dir)
        # New records do not shorten the wait (they are safe in the spool); flush() and close() do.
        deadline = time.monotonic() + self._retry_delay(retry_after)
        while not (self.retry_now or self.stop_now):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wait(remaining)
        self.retry_now = False

    def _retry_delay(self, retry_after=None):
        """The wait before the next try: what the service asked for (Retry-After, at most
        MAX_RETRY_DELAY; never sooner, spread a little so clients do not return together), else
        an exponential backoff."""
        if self.stopping:
            return 0.05
        if retry_after is not None:
            return min(MAX_RETRY_DELAY, retry_after) * random.uniform(1.0, 1.2)
        delay = min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * (2 ** min(self.failures, 10)))
        return delay * random.uniform(0.8, 1.2)

    def _recovered(self, count):
        self.failures = 0
        self.batch_limit = min(self.batch_size, self.batch_limit * 2)
        if self.down_since is not None:
            logger.info("dfa_lib_python: DfAnalyzer at %s is reachable again after %.0f s; sending the kept records",
                        self.client.url, time.time() - self.down_since)
            self.down_since = None

    # ----------------------------------------------------------------- control
    def request_retry(self):
        """Wakes the thread and skips the backoff wait (flush() calls this)."""
        self.retry_now = True
        self.wake.set()

    def request_rescan(self):
        """Asks the thread to look for orphaned sessions before its next batch (a read that must
        see what a killed process left calls this); returns the count of rescans done so far."""
        with self._rescan_lock:
            done = self.rescans
            self.rescan_now = True
        self.wake.set()
        return done

    def stop(self, join_timeout):
        self.stop_now = True
        self.wake.set()
        if self.ident is None:
            return True  # never started (client made during interpreter exit)
        self.join(join_timeout)
        return not self.is_alive()

