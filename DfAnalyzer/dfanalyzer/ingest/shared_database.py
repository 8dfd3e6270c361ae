"""The ingestor the service runs: an `Ingestor` made safe for a database other services write too,
committing the batches that arrive together in one transaction."""
import collections
import threading

from dfanalyzer.errors import StoreUnavailable
from dfanalyzer.ingest.fair_lock import FairLock
from dfanalyzer.ingest.ingestor import BatchResult, Ingestor, MessageRejected
from dfanalyzer.store.retry import retrying

GROUP_MESSAGES = 5000  # at most this many messages of waiting batches in one transaction


class _WaitingBatch:
    def __init__(self, messages):
        self.remaining = messages  # not stored yet
        self.result = BatchResult()
        self.error = None
        self.done = False
        self.started = False  # a part of it is stored: it is only grouped with itself from then on
        self.alone = False  # a group it was in failed without naming a message: committed on its own


class SharedDatabaseIngestor:
    """Same methods as `Ingestor`; each transaction is re-run when it lost a write conflict to
    another service (MonetDB server), and the ingestor's catalog caches are dropped whenever
    another service wrote since this one's last write.

    Batches are written one transaction (a part of about `TRANSACTION_SECONDS`) at a time, and
    the turns to write one go round in the order batches asked (`FairLock`): a batch that is not
    finished after its part goes to the back of the queue, so another client's one-row insert
    waits for one part at most, however large the batch being written (issue 23: 5,000 new tasks).

    Batches that are waiting when a turn comes are written together, in one transaction (group
    commit): a transaction costs the same few statements and one commit whether it holds one epoch
    or many, and clients send one epoch per message. If the group is refused (a bad message), only
    the batch holding the bad message gets the 422; the others are written again without it.

    A store that went away is never blamed on a message: the client gets 503 (507 for a full disk)
    and sends the batch again, instead of a 422 that would set a good message aside.

    Args:
        store: the `dfanalyzer.store.Store` to write to.
    """

    def __init__(self, store):
        self._store = store
        self._ingestor = Ingestor(store)
        store.on_foreign_write(self._ingestor.another_writer_seen)
        self._waiting = collections.deque()
        self._waiting_lock = threading.Lock()
        self._turns = FairLock()

    def ingest_batch(self, messages):
        """Stores the batch, each id once and each message whole (a bad message leaves the parts
        before it stored, as a re-sent batch finds)."""
        batch = _WaitingBatch(self._ingestor.validated(messages))
        if not batch.remaining:
            return batch.result
        with self._waiting_lock:
            self._waiting.append(batch)
        while not batch.done:
            with self._turns:  # whoever has the turn writes one part of what waits, maybe this batch
                if not batch.done:
                    self._write_part()
        if batch.error is not None:
            raise batch.error
        return batch.result

    def check_space(self, needed=0):
        """Raises DiskFull when the store's disk could not take `needed` more bytes."""
        self._store.check_space(needed)

    def ingest_dataflow(self, spec):
        return self._retried(self._ingestor.ingest_dataflow, spec)

    def ingest_task(self, message, skip_stored_elements=True):
        return self._retried(self._ingestor.ingest_task, message, skip_stored_elements)

    def _take_group(self):
        """The batches that write in this turn: the first waiting one, with the fresh batches
        waiting behind it when it is fresh too."""
        with self._waiting_lock:
            group = [self._waiting.popleft()]
            size = len(group[0].remaining)
            if not (group[0].started or group[0].alone):
                while (self._waiting and not (self._waiting[0].started or self._waiting[0].alone)
                       and size + len(self._waiting[0].remaining) <= GROUP_MESSAGES):
                    batch = self._waiting.popleft()
                    group.append(batch)
                    size += len(batch.remaining)
            return group

    def _write_part(self):
        group = self._take_group()
        combined = group[0].remaining if len(group) == 1 else [m for batch in group for m in batch.remaining]
        try:
            part, rest = self._retried(self._ingestor.ingest_one_part, combined)
        except MessageRejected as rejected:  # that message's batch gets the 422; the others go again
            owner = next((batch for batch in group if any(m["id"] == rejected.message_id for m in batch.remaining)),
                         group[0])
            self._finish(owner, rejected)
            self._requeue([batch for batch in group if batch is not owner], front=True)
            return
        except StoreUnavailable as unavailable:
            for batch in group:
                self._finish(batch, unavailable)
            return
        except Exception as error:  # noqa: BLE001 - handed to the batch's own request, which raises it
            if len(group) == 1:
                self._finish(group[0], error)
            else:  # not known whose: each batch on its own, to answer each rightly
                for batch in group:
                    batch.alone = True
                self._requeue(group, front=True)
            return
        self._share(group, part, len(combined) - len(rest))

    def _share(self, group, part, stored_count):
        """Hands the part's acknowledgements to the batches whose first `stored_count` messages
        (in group order) it stored."""
        duplicates = set(part.duplicates)
        left = stored_count
        for batch in group:
            taken, batch.remaining = batch.remaining[:left], batch.remaining[left:]
            left -= len(taken)
            ids = [message["id"] for message in taken]
            batch.result.acknowledged += ids
            batch.result.duplicates += [i for i in ids if i in duplicates]
            if batch.remaining:
                batch.started = True
            else:
                batch.done = True
        self._requeue([batch for batch in group if not batch.done], front=False)

    @staticmethod
    def _finish(batch, error):
        batch.error, batch.done = error, True

    def _requeue(self, batches, front):
        with self._waiting_lock:
            if front:
                self._waiting.extendleft(reversed(batches))
            else:
                self._waiting.extend(batches)

    @staticmethod
    def _retried(method, *args):
        def attempt():
            try:
                return method(*args)
            except MessageRejected as rejected:
                if isinstance(rejected.__cause__, StoreUnavailable):
                    raise rejected.__cause__ from None
                raise

        return retrying(attempt)
