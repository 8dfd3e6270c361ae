"""The one entry point that writes provenance: used by the service and by embedded clients."""
import time
from dataclasses import dataclass, field

from dfanalyzer.errors import DfaError, InvalidInput, NotFound, StoreUnavailable
from dfanalyzer.identifiers import check_label
from dfanalyzer.ingest.catalog import load_dataflow
from dfanalyzer.ingest.executions import save_agents
from dfanalyzer.ingest.fair_lock import FairLock
from dfanalyzer.ingest.grouped_appends import GroupedAppends
from dfanalyzer.ingest.ids import IdAllocator
from dfanalyzer.ingest.known_ids import KnownMessageIds
from dfanalyzer.ingest.specification import SpecificationWriter
from dfanalyzer.ingest.tasks import TaskWriter
from dfanalyzer.ingest.values import now, timestamp

MESSAGE_KINDS = ("dataflow", "execution", "task")
ID_CHUNK = 200  # message ids per statement when looking them up
TRANSACTION_SECONDS = 0.3  # a batch is committed in parts of about this long (plus one message)
FLUSH_ROWS = 2000  # rows gathered before they are written within a part (about 25 ms of writing)
_MESSAGE_ID_KINDS = {"id": "text", "received_at": "timestamp"}


@dataclass
class BatchResult:
    acknowledged: list = field(default_factory=list)
    duplicates: list = field(default_factory=list)


class MessageRejected(InvalidInput):
    """One message of a batch is bad; nothing of the batch was stored."""

    def __init__(self, message_id, error):
        super().__init__(str(error))
        self.message_id = message_id
        self.status_code = getattr(error, "status_code", 422)


class Ingestor:
    """Writes dataflow specifications, executions and tasks into a Store.

    Args:
        store: the `dfanalyzer.store.Store` to write to. The ingestor keeps caches of the catalog,
            so it must be the only writer of that store.
    """

    def __init__(self, store):
        self.store = store
        self._ids = IdAllocator()
        self._known_ids = KnownMessageIds()
        self._dataflows = {}
        self._executions = {}
        self._tasks = {}
        self._specifications = SpecificationWriter(self._ids)
        self._dependents = {}
        self._task_writer = TaskWriter(self._ids, self._executions, self._tasks, self._dependents)
        self._lock = FairLock()

    def ingest_dataflow(self, spec):
        """Stores a dataflow specification (POST /pde/dataflow/json)."""
        with self._transaction() as tx:
            info = self._specifications.save(tx, spec, self._dataflow(tx, spec.get("tag") if isinstance(spec, dict) else None))
            self._dataflows[info.tag.lower()] = info
            self._task_writer.forget()  # the dataflow's sets may have changed in place
        return info

    def ingest_task(self, message, skip_stored_elements=True):
        """Stores one task message (POST /pde/task/json); returns the task's id."""
        with self._transaction() as tx:
            return self._save_task(tx, message, skip_stored_elements)

    def ingest_batch(self, messages):
        """Stores a batch of {id, kind, body} messages, each id once and each message whole.

        The batch is written in transactions of about TRANSACTION_SECONDS each, so that a large
        batch never keeps other clients' writes waiting long. A bad message raises
        MessageRejected: the messages before it may be stored already, none after it; sending
        the batch again without it stores the rest, each id once."""
        remaining = self.validated(messages)
        result = BatchResult()
        while remaining:
            part, remaining = self.ingest_one_part(remaining)
            result.acknowledged += part.acknowledged
            result.duplicates += part.duplicates
        return result

    def validated(self, messages):
        """The batch's messages, ids as text, once each has an id, a kind and a body; raises
        InvalidInput (or MessageRejected naming the message) otherwise. Nothing is stored."""
        return self._validated(messages)

    def ingest_one_part(self, messages):
        """Stores `validated` messages, in order, in one transaction of about TRANSACTION_SECONDS
        (at least one message); returns (BatchResult of the messages stored, the messages left)."""
        result = BatchResult()
        with self._transaction() as tx:
            remaining = self._ingest_part(tx, messages, result)
        return result, remaining

    def _ingest_part(self, tx, messages, result):
        """Stores messages until the transaction has run TRANSACTION_SECONDS; returns the rest."""
        started = time.monotonic()
        stored_now, seen = [], set()
        position = 0
        over_time = False
        while position < len(messages) and not over_time:
            block = messages[position:position + ID_CHUNK]
            seen |= self._stored_ids(tx, [m["id"] for m in block])
            for message in block:
                position += 1
                if message["id"] in seen:
                    result.duplicates.append(message["id"])
                    result.acknowledged.append(message["id"])
                    continue
                try:
                    self._apply(tx, message)
                except StoreUnavailable:
                    raise  # the store's fault (a full disk, a lost server), never the message's
                except DfaError as error:
                    raise MessageRejected(message["id"], error) from error
                seen.add(message["id"])
                stored_now.append(message["id"])
                result.acknowledged.append(message["id"])
                if tx.pending_rows >= FLUSH_ROWS:
                    tx.flush()  # written now, so that the time measured includes writing them
                over_time = time.monotonic() - started >= TRANSACTION_SECONDS
                if over_time:
                    break
        self._record_ids(tx, stored_now)
        return messages[position:]

    def _validated(self, messages):
        if not isinstance(messages, list):
            raise InvalidInput("'messages' must be a list of {id, kind, body}")
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or not message.get("id") or message.get("kind") not in MESSAGE_KINDS:
                raise InvalidInput(f"message #{index} needs an 'id' and a 'kind' among {', '.join(MESSAGE_KINDS)}")
            if not isinstance(message.get("body"), dict):
                raise MessageRejected(str(message["id"]), InvalidInput(f"message {message['id']!r} needs a 'body' object"))
            message["id"] = str(message["id"])
            if len(message["id"]) > 128:
                raise InvalidInput(f"message id {message['id'][:20]!r}... is longer than 128 characters")
        return messages

    def _stored_ids(self, tx, message_ids):
        seen = set()
        candidates = self._known_ids.possibly_stored(tx, message_ids)
        for start in range(0, len(candidates), ID_CHUNK):
            chunk = candidates[start:start + ID_CHUNK]
            placeholders = ", ".join("?" * len(chunk))
            seen.update(row[0] for row in tx.fetch(f"SELECT id FROM ingested_message WHERE id IN ({placeholders})", chunk))
        return seen

    def _record_ids(self, tx, message_ids):
        if message_ids:
            received = now()
            tx.append_rows("sys", "ingested_message", ("id", "received_at"), _MESSAGE_ID_KINDS,
                           [(message_id, received) for message_id in message_ids])
            self._known_ids.add(message_ids)

    def _apply(self, tx, message):
        body = message["body"]
        if message["kind"] == "dataflow":
            info = self._specifications.save(tx, body, self._dataflow(tx, body.get("tag")))
            self._dataflows[info.tag.lower()] = info
            self._task_writer.forget()
        elif message["kind"] == "task":
            self._save_task(tx, body, skip_stored_elements=False)
        else:
            info = self._known_dataflow(tx, body.get("dataflow"), f"execution {body.get('exec')!r}")
            if not body.get("exec"):
                raise InvalidInput("an execution message needs 'exec', the execution tag")
            exec_tag = check_label(body["exec"], "execution tag")
            where = f"execution {exec_tag!r}"
            exec_id = self._task_writer.execution_id(tx, info, exec_tag,
                                                     start_time=timestamp(body.get("startTime"), where))
            save_agents(tx, self._ids, exec_id, body.get("agents") or [], where)

    def _save_task(self, tx, message, skip_stored_elements):
        if not isinstance(message, dict):
            raise InvalidInput("a task message must be a JSON object")
        info = self._known_dataflow(tx, message.get("dataflow"), f"task {message.get('id')!r}")
        return self._task_writer.save(tx, info, message, skip_stored_elements)

    def _dataflow(self, tx, tag):
        if not isinstance(tag, str) or not tag:
            return None
        key = tag.lower()
        if key not in self._dataflows:
            info = load_dataflow(tx, tag)
            if info is None:
                return None
            self._dataflows[key] = info
        return self._dataflows[key]

    def _known_dataflow(self, tx, tag, where):
        info = self._dataflow(tx, tag)
        if info is None:
            raise NotFound(f"{where}: dataflow {tag!r} is unknown; send its specification first "
                           "(Dataflow.save() or POST /pde/dataflow/json)")
        return info

    def _transaction(self):
        return _CacheSafeTransaction(self)

    def another_writer_seen(self):
        """Another process wrote to the database: what this ingestor knows of it may be stale."""
        self._known_ids.disable()
        self._forget_caches()

    def _forget_caches(self):
        self._dataflows.clear()
        self._executions.clear()
        self._tasks.clear()
        self._dependents.clear()
        self._ids.forget_all()
        self._task_writer.forget()


class _CacheSafeTransaction:
    """A write transaction whose appends are gathered per table (GroupedAppends) and whose failure
    also drops the ingestor's caches, which may hold rows the rollback removed."""

    def __init__(self, ingestor):
        self.ingestor = ingestor
        self._context = None
        self._grouped = None

    def __enter__(self):
        self.ingestor._lock.acquire()
        self._context = self.ingestor.store.write()
        try:
            self._grouped = GroupedAppends(self._context.__enter__())
        except BaseException:
            self.ingestor._lock.release()
            raise
        return self._grouped

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                try:
                    self._grouped.flush()
                except BaseException as error:
                    exc_type = type(error)
                    self._context.__exit__(exc_type, error, error.__traceback__)  # rolls back
                    raise
            return self._context.__exit__(exc_type, exc, tb)
        finally:
            if exc_type is not None:
                self.ingestor._forget_caches()
            self.ingestor._lock.release()
