"""The ingestor the service runs: an `Ingestor` made safe for a database other services write too,
committing the batches that arrive together in one transaction."""
import threading

from dfanalyzer.errors import StoreUnavailable
from dfanalyzer.ingest.ingestor import BatchResult, Ingestor, MessageRejected
from dfanalyzer.store.retry import retrying

GROUP_MESSAGES = 5000  # at most this many messages of waiting batches in one transaction
PIECE_MESSAGES = 1000  # a larger batch queues in pieces of this many messages


class _WaitingBatch:
    def __init__(self, messages):
        self.messages = messages
        self.result = None
        self.error = None
        self.done = False


def _count(batch):
    return len(batch.messages) if isinstance(batch.messages, list) else 1


class SharedDatabaseIngestor:
    """Same methods as `Ingestor`; each call is one transaction, re-run when it lost a write
    conflict to another service (MonetDB server), and the ingestor's catalog caches are dropped
    whenever another service wrote since this one's last write.

    Batches that arrive while another is being committed wait and are then committed together,
    in one transaction (group commit): a transaction costs the same few statements and one
    commit whether it holds one epoch or many, and clients send one epoch per message. If the
    group is refused (a bad message), each batch of it is committed on its own, so only the batch
    holding the bad message gets the 422.

    A store that went away is never blamed on a message: the client gets 503 and sends the batch
    again, instead of a 422 that would set a good message aside.

    Args:
        store: the `dfanalyzer.store.Store` to write to.
    """

    def __init__(self, store):
        self._store = store
        self._ingestor = Ingestor(store)
        store.on_foreign_write(self._ingestor.another_writer_seen)
        self._waiting = []
        self._waiting_lock = threading.Lock()
        self._committer = threading.Lock()

    def ingest_batch(self, messages):
        """Stores the batch; a large one goes in pieces of PIECE_MESSAGES, each queued behind the
        batches that arrived meanwhile, so that another client's one-row insert never waits for
        all of it (each id once and each message whole still; a bad message leaves the pieces
        before it stored, as a re-sent batch finds)."""
        if not isinstance(messages, list) or len(messages) <= PIECE_MESSAGES:
            return self._ingest_whole(messages)
        result = BatchResult()
        for start in range(0, len(messages), PIECE_MESSAGES):
            piece = self._ingest_whole(messages[start:start + PIECE_MESSAGES])
            result.acknowledged += piece.acknowledged
            result.duplicates += piece.duplicates
        return result

    def _ingest_whole(self, messages):
        batch = _WaitingBatch(messages)
        with self._waiting_lock:
            self._waiting.append(batch)
        with self._committer:  # whoever holds it commits what waits, this batch included
            if not batch.done:
                self._commit(self._take_group())
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
        with self._waiting_lock:
            group, size = [], 0
            while self._waiting and (not group or size + _count(self._waiting[0]) <= GROUP_MESSAGES):
                batch = self._waiting.pop(0)
                group.append(batch)
                size += _count(batch)
            return group

    def _commit(self, group):
        if len(group) == 1:
            return self._commit_alone(group[0])
        combined = [message for batch in group for message in batch.messages]
        try:
            result = self._retried(self._ingestor.ingest_batch, combined)
        except StoreUnavailable as unavailable:
            for batch in group:
                batch.error, batch.done = unavailable, True
            return
        except Exception:  # a bad message (or batch): each batch on its own, to answer each rightly
            for batch in group:
                self._commit_alone(batch)
            return
        duplicates = set(result.duplicates)
        for batch in group:
            ids = [message["id"] for message in batch.messages]
            batch.result = BatchResult(acknowledged=ids, duplicates=[i for i in ids if i in duplicates])
            batch.done = True

    def _commit_alone(self, batch):
        try:
            batch.result = self._retried(self._ingestor.ingest_batch, batch.messages)
        except Exception as error:  # handed to the batch's own request, which raises it
            batch.error = error
        finally:
            batch.done = True

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
