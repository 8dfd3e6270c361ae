"""The ingestor the service runs: an `Ingestor` made safe for a database other services write too."""
from dfanalyzer.errors import StoreUnavailable
from dfanalyzer.ingest.ingestor import Ingestor, MessageRejected
from dfanalyzer.store.retry import retrying


class SharedDatabaseIngestor:
    """Same methods as `Ingestor`; each call is one transaction, re-run when it lost a write
    conflict to another service (MonetDB server), and the ingestor's catalog caches are dropped
    whenever another service wrote since this one's last write.

    A store that went away is never blamed on a message: the client gets 503 and sends the batch
    again, instead of a 422 that would set a good message aside.

    Args:
        store: the `dfanalyzer.store.Store` to write to.
    """

    def __init__(self, store):
        self._ingestor = Ingestor(store)
        store.on_foreign_write(self._ingestor._forget_caches)

    def ingest_batch(self, messages):
        return self._retried(self._ingestor.ingest_batch, messages)

    def ingest_dataflow(self, spec):
        return self._retried(self._ingestor.ingest_dataflow, spec)

    def ingest_task(self, message, skip_stored_elements=True):
        return self._retried(self._ingestor.ingest_task, message, skip_stored_elements)

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
