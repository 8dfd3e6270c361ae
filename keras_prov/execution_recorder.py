"""One model's execution in DfAnalyzer: its dataflow, its execution tag and its tasks."""
import datetime
import logging
import threading

import dfa_lib_python
from dfa_lib_python.client import normalize_url
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.registry import registry
from dfa_lib_python.task import Task
from dfa_lib_python.task_status import TaskStatus

from keras_prov import training_dataflow
from keras_prov.environment import Environment
from keras_prov.training_dataflow import TrainingDataflow
from keras_prov.values import as_number

logger = logging.getLogger("keras_prov")


class ExecutionRecorder:
    """Records the fits and evaluations of one model as tasks of one execution.

    Created by `model.provenance(...)`; every `fit` adds a TrainingModel task (and its Adaptation
    tasks), every `evaluate` a TestingModel task depending on the last training task.

    Args:
        provenance: the `Provenance` settings.

    Attributes:
        flow: the `TrainingDataflow` (its `.dataflow` is what `model.get_dataflow()` returns).
        exec_tag: the execution tag all tasks of this model share.
        last_training_task: the dfa_lib_python Task of the latest fit, or None.
    """

    def __init__(self, provenance):
        self.provenance = provenance
        self.flow = TrainingDataflow(provenance)
        self.exec_tag = self.flow.dataflow.exec_tag
        self.last_training_task = None
        self.last_callback = None  # the ProvenanceCallback of the latest fit (its costs, for benchmarks)
        self.last_learning_rate = None
        self._task_number = 0
        self._started = False
        self._lock = threading.Lock()

    @property
    def dataflow(self):
        return self.flow.dataflow

    @property
    def dataflow_tag(self):
        return self.flow.dataflow.tag

    def next_task_id(self):
        with self._lock:
            self._task_number += 1
            return str(self._task_number)

    def start(self):
        """Sends the dataflow specification, once per execution; the execution and its agents go
        with the first task."""
        if self._started:
            return
        if self.provenance.url:
            connect_to(self.provenance.url)
        Environment.current().add_to(self.flow.dataflow.execution)
        deliver_pending_models_once()
        self._adopt_stored_order()
        self.save_dataflow()
        self._started = True

    def _adopt_stored_order(self):
        """Earlier runs of this dataflow may have stored more attributes than this model knows, in
        another order; Elements are positional, so our sets take the stored order first."""
        tag = self.dataflow_tag
        if tag in _ADOPTED:
            return
        client = dfa_lib_python.get_client()
        sql = ("SELECT s.tag, a.column_name, a.type FROM attribute a JOIN data_set s ON a.ds_id = s.id "
               f"JOIN dataflow d ON s.df_id = d.id WHERE LOWER(d.tag) = '{tag}' ORDER BY s.id, a.id")
        try:  # the tag passed the tag pattern (letters, digits, _ - .): it cannot close the quotes
            _, rows = client.transport.query(sql, 100000)
        except Exception as error:  # noqa: BLE001 - DfAnalyzer down: record anyway
            logger.info("keras_prov could not read the stored specification of %r (%s); recording with its own", tag,
                        error)
            return
        self.flow.adopt_stored_order(rows)
        _ADOPTED.add(tag)

    def save_dataflow(self):
        self.dataflow.save()

    def new_task(self, transformation, dependency=None):
        return Task(self.next_task_id(), self.dataflow_tag, self.exec_tag, transformation.lower(),
                    dependency=dependency)

    def record_test(self, metrics, started, elapsed, lineage=None):
        """A TestingModel task with the metrics `evaluate` returned (and its data's identities:
        `lineage`, a `DataLineage`)."""
        self.start()
        if self.flow.add_test_metrics(metrics):
            self.save_dataflow()
        task = self.new_task(training_dataflow.TESTING, dependency=self.last_training_task)
        values = {training_dataflow.column_name(name): as_number(value) for name, value in metrics.items()}
        values.update(timestamp=started, elapsed_time=elapsed)
        task.add_dataset(DataSet(training_dataflow.TEST_RESULTS, [self.flow.row(training_dataflow.TEST_RESULTS, values)]))
        if lineage is not None:
            from keras_prov.run_capture import record_test_data

            record_test_data(self, task, lineage)
        task.begin()
        task.end()
        return task

    def record_adaptation(self, training_task, epoch, old_rate, new_rate, cause, stamp=None, output=None):
        """An Adaptation task: the learning rate changed from `old_rate` to `new_rate` for `epoch`
        (the first epoch trained with the new rate); `stamp` is when (time.time()); `output` the
        task's output text (a steering action says who asked and why)."""
        task = self.new_task(training_dataflow.ADAPTATION, dependency=training_task)
        task.output = output or ""
        adaptation_id = f"{training_task.id}-{task.id}"
        values = {"adaptation_id": adaptation_id, "epoch": epoch, "old_learning_rate": old_rate,
                  "new_learning_rate": new_rate, "cause": cause, "timestamp": utc_text(stamp)}
        task.add_dataset(DataSet(training_dataflow.ADAPTATION_INPUT,
                                 [self.flow.row(training_dataflow.ADAPTATION_INPUT, values)]))
        task.begin()
        task.add_dataset(DataSet(training_dataflow.ADAPTATION_OUTPUT,
                                 [self.flow.row(training_dataflow.ADAPTATION_OUTPUT, values)]))
        task.end()
        return task


_ADOPTED = set()  # dataflow tags whose stored attribute order this process has adopted
_PENDING_CHECKED = set()  # URLs whose pending model uploads this process has taken up


def deliver_pending_models_once():
    """Models an earlier program saved but could not upload are uploaded in the background."""
    from keras_prov.model_store_client import ModelStoreClient, background

    models = ModelStoreClient.for_recorder(None)
    if models.url not in _PENDING_CHECKED:
        _PENDING_CHECKED.add(models.url)
        background.submit(models.deliver_pending)


def mark_failed(task, error, epochs_done=None):
    """Ends `task` as FAILED (an exception), ABORTED (KeyboardInterrupt) or PRUNED (a tuner's
    pruning, see `search_recorder.register_pruning_error`) with the error's message."""
    from keras_prov.search_recorder import is_pruning

    message = f"{type(error).__name__}: {error}".strip().rstrip(":")
    if is_pruning(error):
        task.set_status(TaskStatus.PRUNED)
        message = f"pruned at epoch {epochs_done}: {message}" if epochs_done else message
    else:
        task.set_status(TaskStatus.ABORTED if isinstance(error, KeyboardInterrupt) else TaskStatus.FAILED)
    task.error = message
    task.end()


def connect_to(url):
    """Makes dfa_lib_python send to `url` unless it already does."""
    current = registry.current()  # not get_client(): that would open a client for DFA_URL first
    if current is None or current.closed or current.url != normalize_url(url):
        dfa_lib_python.connect(url)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def utc_text(stamp=None):
    """ISO 8601 UTC text of a time.time() value (now when None)."""
    if stamp is None:
        return utc_now()
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).isoformat(timespec="milliseconds")
