"""The Keras callback that turns one `fit` into a TrainingModel task and its Adaptation tasks."""
import logging
import time

import keras
from dfa_lib_python.dataset import DataSet

from keras_prov import layer_table, training_dataflow
from keras_prov.errors import report_unusable_settings
from keras_prov.execution_recorder import mark_failed, utc_text
from keras_prov.integrations import distribution
from keras_prov.layer_table import LayerTable
from keras_prov.model_store_client import ModelStoreClient
from keras_prov.rate_watcher import RateWatcher
from keras_prov.recording_thread import recording
from keras_prov.run_capture import RunCapture
from keras_prov.search_recorder import is_pruning
from keras_prov.values import as_number

logger = logging.getLogger("keras_prov")

SCHEDULER_CAUSES = ("LearningRateScheduler",)
PLATEAU_CAUSES = ("ReduceLROnPlateau",)


class ProvenanceCallback(keras.callbacks.Callback):
    """Records one `fit` while it runs; added by keras_prov's `fit`, never by hand.

    - on_train_begin: the TrainingModel task starts with iTrainingModel (hyperparameters) and
      iLayers (one row per layer).
    - on_epoch_begin / on_epoch_end: one oTrainingModel row per epoch (epoch counted from 1 as
      Keras prints it, timestamp, elapsed seconds, the learning rate the epoch trained with, every
      metric in the logs; val_* None on epochs without validation). A learning rate that differs
      from the previous epoch's is recorded as an Adaptation task whose `epoch` is the first epoch
      trained with the new rate and whose cause is the callback that changed it, the schedule's
      class, or "manual".
    - on_train_end: EarlyStopping's outcome, the trained model's files (oTrainedModel), FINISHED.

    On the training thread each hook only copies the values it needs (the logs, a time, the
    learning rate known by `RateWatcher`) and submits them to keras_prov's recording thread, which
    builds the dfa_lib_python records; their sending is dfa_lib_python's background work. The
    one heavier step is `model.save` at the end of fit (`store_model=False` skips it). A failure
    inside a hook is logged once and turns capture off for the rest of the fit: provenance never
    stops training.

    Args:
        recorder: the model's `ExecutionRecorder`.
        fit_arguments: this fit's arguments by name (x, batch_size, epochs, validation_split, ...).
        user_callbacks: the callbacks the user passed to fit (to name the cause of a rate change).
    """

    def __init__(self, recorder, fit_arguments, user_callbacks):
        super().__init__()
        self.recorder = recorder
        self.fit_arguments = fit_arguments
        self.user_callbacks = list(user_callbacks)
        self.task = None
        self.enabled = True
        self.finished = False
        self.epoch_started = None
        self.epoch_rate = None
        self.previous_rate = None
        self.schedule_name = None
        self.rates = None
        self.description_pending = False
        self.distribution = {}  # strategy, replicas, workers, global batch size when on several devices
        self.callback_costs = []  # seconds spent in each epoch's hooks, for the overhead figures
        self.begin_cost = self.end_cost = 0.0  # seconds in on_train_begin / on_train_end (model saving)
        self.capture = None  # data, code, weights and system load of this fit (RunCapture)
        self._cost = 0.0
        self.epoch_keeper = _EpochKeeper(self)
        self.ending_epoch = None  # (epoch, logs, time) between the keeper's on_epoch_end and ours
        self.epochs_recorded = 0

    # -- Keras hooks -------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        started = time.perf_counter()
        self._guarded(self._train_begin)
        self.begin_cost = time.perf_counter() - started

    def on_epoch_begin(self, epoch, logs=None):
        if self.enabled:
            started = time.perf_counter()
            self._guarded(self._epoch_begin, epoch)
            self._cost = time.perf_counter() - started

    def on_epoch_end(self, epoch, logs=None):
        if self.enabled:
            started = time.perf_counter()
            self._guarded(self._epoch_end, epoch, logs or {})
            self.callback_costs.append(self._cost + time.perf_counter() - started)

    def on_train_end(self, logs=None):
        started = time.perf_counter()
        self._guarded(self._train_end)
        self.end_cost = time.perf_counter() - started

    def fail(self, error):
        """Ends the training task as FAILED (ABORTED for KeyboardInterrupt, PRUNED for a tuner's
        pruning); fit re-raises. The epoch whose end a tuner's pruning interrupted is recorded
        first: it was trained and judged (any other error leaves that epoch out, as unfinished)."""
        if self.task is None or self.finished:
            return
        self.finished = True
        if self.enabled and self.ending_epoch is not None and is_pruning(error):
            epoch, logs, now = self.ending_epoch
            self.ending_epoch = None
            self._guarded(self._record_epoch, epoch, logs, now)
        if self.rates is not None:
            self.rates.close()
        if self.capture is not None:
            self.capture.stop()
        recording.submit(mark_failed, self.task, error, self.epochs_recorded)

    # -- what the hooks do -------------------------------------------------------------------

    def _train_begin(self):
        recorder = self.recorder
        self.rates = RateWatcher(self.model.optimizer)
        self.schedule_name = self.rates.schedule_name
        self.task = recorder.new_task(training_dataflow.TRAINING)
        recorder.last_training_task = self.task
        self.distribution = distribution.describe_fit(self.model, self.fit_arguments)
        # Read from the model now, on the training thread (it must not change under us); the rest
        # is done by the recording thread. A subclassed model is built by its first batch: its
        # parameter counts and layer shapes are read at the end of the first epoch.
        self.description_pending = not self.model.built
        description = None if self.description_pending else self._description()
        expected_metrics = self._expected_metrics()
        self.capture = RunCapture(recorder, self.fit_arguments)
        recording.submit(self._send_begin, description, expected_metrics)
        self.capture.begin(self.model, self.task)  # after: what it starts sends rows once the task has begun
        rate = self.rates.rate()
        # A rate set by hand between two fits is an adaptation too.
        self.previous_rate = recorder.last_learning_rate if recorder.last_learning_rate is not None else rate

    def _description(self):
        """(hyperparameter values, layer rows) of the model as it is now."""
        hyperparameters = self.recorder.provenance.catalog.values(self.model, self.fit_arguments, self.params or {})
        return hyperparameters, LayerTable(self.model).rows()

    def _send_begin(self, description, expected_metrics):
        recorder = self.recorder
        recorder.start()
        if recorder.flow.add_metrics(expected_metrics):
            recorder.save_dataflow()
        if description is not None:
            self._add_description(*description)
        self.capture.send_begin(self.task)
        self.task.begin()

    def _add_description(self, hyperparameters, layers):
        """iTrainingModel and iLayers, sent with the task's next message."""
        flow = self.recorder.flow
        names = [name for name, _ in self.recorder.provenance.catalog.attributes()]
        values = dict(zip(names, hyperparameters))
        if self.distribution and flow.add_hyperparameters(self.distribution):
            self.recorder.save_dataflow()
        values.update(self.distribution)
        self.task.add_dataset(DataSet(training_dataflow.HYPERPARAMETERS,
                                      [flow.row(training_dataflow.HYPERPARAMETERS, values)]))
        layer_columns = [name for name, _ in layer_table.ATTRIBUTES]
        self.task.add_dataset(DataSet(training_dataflow.LAYERS, [
            flow.row(training_dataflow.LAYERS, dict(zip(layer_columns, row))) for row in layers]))

    def _epoch_begin(self, epoch):
        self.epoch_started = time.time()
        self.capture.epoch_begin(epoch)
        rate = self.rates.rate()
        if rate != self.previous_rate and self.recorder.provenance.adaptation and self.previous_rate is not None:
            cause = self.schedule_name or self._cause(SCHEDULER_CAUSES)
            recording.submit(self.recorder.record_adaptation, self.task, epoch + 1, self.previous_rate, rate, cause,
                             self.epoch_started)
        self.epoch_rate = rate
        self.previous_rate = rate

    def _epoch_end(self, epoch, logs):
        now = time.time()
        self.ending_epoch = None
        self._record_epoch(epoch, logs, now)
        if self.schedule_name is None:
            rate = self.rates.rate()
            if rate != self.epoch_rate and self.recorder.provenance.adaptation:
                recording.submit(self.recorder.record_adaptation, self.task, epoch + 2, self.epoch_rate, rate,
                                 self._cause(PLATEAU_CAUSES), now)
            self.previous_rate = rate

    def _record_epoch(self, epoch, logs, now):
        if self.description_pending:
            self.description_pending = False
            recording.submit(self._add_description, *self._description())
        self.epochs_recorded = epoch + 1
        recording.submit(self._send_epoch, epoch + 1, now, now - self.epoch_started, self.epoch_rate, dict(logs))

    def _send_epoch(self, epoch, stamp, elapsed, rate, logs):
        flow = self.recorder.flow
        metrics = {training_dataflow.column_name(name): as_number(value) for name, value in logs.items()}
        if flow.add_metrics(logs.keys()):
            self.recorder.save_dataflow()
        # The rate the epoch trained with wins over a "learning_rate" some callbacks put in the logs.
        metrics.update(epoch=epoch, timestamp=utc_text(stamp), elapsed_time=elapsed, learning_rate=rate)
        self.task.add_dataset(DataSet(training_dataflow.EPOCHS, [flow.row(training_dataflow.EPOCHS, metrics)]))
        self.task.save()

    def _train_end(self):
        if self.task is None or self.finished:
            return
        self.finished = True
        self.recorder.last_learning_rate = self.rates.rate()
        self.rates.close()
        self.capture.end(self.model)
        early_stopping = [_early_stopping_row(callback) for callback in self.user_callbacks
                          if isinstance(callback, keras.callbacks.EarlyStopping)]
        saved, models = None, None
        if self.recorder.provenance.store_model:
            models = ModelStoreClient.for_recorder(self.recorder)
            saved = models.save(self.model, self.task)
        recording.submit(self._send_end, early_stopping, models, saved)

    def _send_end(self, early_stopping, models, saved):
        files = models.finish(self.task, saved) if saved is not None else []
        flow = self.recorder.flow
        if early_stopping:
            self.task.add_dataset(DataSet(training_dataflow.EARLY_STOPPING,
                                          [flow.row(training_dataflow.EARLY_STOPPING, row) for row in early_stopping]))
        if files:
            self.task.add_dataset(DataSet(training_dataflow.TRAINED_MODEL,
                                          [flow.row(training_dataflow.TRAINED_MODEL, f) for f in files]))
        self.capture.send_end(self.task)
        self.task.end()

    # -- helpers -----------------------------------------------------------------------------

    def _expected_metrics(self):
        """Metric names the logs will hold, predicted from compile() so that the columns exist from
        the first epoch; names the logs bring later are added then. A model's own train_step or
        test_step logs what it chooses: nothing is predicted for it (no column it never fills)."""
        if not _keras_own_step(self.model, "train_step"):
            return []
        names = ["loss"]
        try:
            names = [name for name in self.model.metrics_names if name != "compile_metrics"]
        except (AttributeError, ValueError):
            pass
        config = {}
        try:
            config = self.model.get_compile_config() or {}
        except (AttributeError, TypeError, ValueError, NotImplementedError):
            pass
        metrics = config.get("metrics")
        if isinstance(metrics, (list, tuple)):
            for metric in metrics:
                name = metric if isinstance(metric, str) else (metric.get("config", {}).get("name")
                                                               if isinstance(metric, dict) else getattr(metric, "name", None))
                if name and name not in names:
                    names.append(name)
        arguments = self.fit_arguments
        if (arguments.get("validation_split") or arguments.get("validation_data") is not None) and \
                _keras_own_step(self.model, "test_step"):
            names += ["val_" + name for name in list(names)]
        return names

    def _cause(self, likely_classes):
        """The class of the callback that most likely changed the rate, or "manual"."""
        for callback in self.user_callbacks:
            for klass in type(callback).__mro__:
                if klass.__name__ in likely_classes:
                    return type(callback).__name__
        return "manual"

    def _guarded(self, hook, *args):
        if not self.enabled:
            return
        try:
            hook(*args)
        except Exception as error:  # noqa: BLE001 - provenance must never stop training
            self.enabled = False
            if report_unusable_settings(error):
                return
            logger.exception("keras_prov stopped recording this fit after an error in %s; training goes on",
                             hook.__name__)


def _keras_own_step(model, name):
    """Whether `model`'s train_step / test_step is Keras's own (whose logs compile() predicts)."""
    return getattr(getattr(type(model), name, None), "__module__", "").startswith("keras.")


def _early_stopping_row(callback):
    stopped = getattr(callback, "stopped_epoch", 0) or None
    best_epoch = getattr(callback, "best_epoch", None)
    return {
        "monitor": callback.monitor, "patience": as_number(callback.patience),
        "min_delta": as_number(abs(getattr(callback, "min_delta", 0.0))),
        "stopped_epoch": None if stopped is None else stopped + 1,
        "best_epoch": None if best_epoch is None else best_epoch + 1,
        "best_value": as_number(getattr(callback, "best", None)),
        "restore_best_weights": "true" if callback.restore_best_weights else "false",
    }


class _EpochKeeper(keras.callbacks.Callback):
    """Put first among fit's callbacks: keeps each epoch's logs until the ProvenanceCallback (last)
    records them, so that an epoch whose end another callback interrupts (Optuna's pruning
    callback raises in on_epoch_end) is recorded when the fit fails."""

    def __init__(self, owner):
        super().__init__()
        self.owner = owner

    def on_epoch_end(self, epoch, logs=None):
        if self.owner.enabled and self.owner.epoch_started is not None:
            self.owner.ending_epoch = (epoch, dict(logs or {}), time.time())
