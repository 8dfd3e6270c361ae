"""Recording a training loop that does not call `fit`: `keras_prov.start_run(...)`."""
import logging
import os
import shutil
import sys
import time

from dfa_lib_python.dataset import DataSet

from keras_prov import hyperparameter_catalog, layer_table, training_dataflow
from keras_prov.errors import ProvenanceConfigError
from keras_prov.execution_recorder import ExecutionRecorder, connect_to, mark_failed, utc_text
from keras_prov.integrations import distribution
from keras_prov.model_archive import sha256_of
from keras_prov.model_store_client import ModelStoreClient
from keras_prov.provenance import DEFAULT_DATAFLOW_TAG, Provenance
from keras_prov.recording_thread import recording
from keras_prov.values import as_number

logger = logging.getLogger("keras_prov")


class Run:
    """One training run recorded by hand, with the same sets a `fit` fills.

    Made by `keras_prov.start_run(...)`; use it as a context manager. Inside, every call only
    copies its arguments and puts them on keras_prov's recording queue (values such as tensors
    are turned into numbers there, off your thread); the one heavier call is `log_model`, which
    saves the model on your thread, as `fit` does at its end.

    - start: a TrainingModel task with iTrainingModel (your hyperparameters, plus what the model
      tells: parameter counts, layers, a Keras model's optimizer) and, for a Keras model, iLayers.
    - `log_epoch(epoch, loss=..., val_loss=...)`: one oTrainingModel row (the epoch as you number
      it, timestamp, seconds since the previous epoch, the learning rate in effect, your metrics).
    - `log_learning_rate(rate)`: an Adaptation task when the rate differs from the last one.
    - `log_test(loss=..., accuracy=...)`: a TestingModel task (oTestingModel), after the run too.
    - `log_model(model)` or `log_model(path="file")`: the trained model into DfAnalyzer's model
      store (oTrainedModel). A Keras model is saved as `model.keras`, a `torch.nn.Module` as its
      `state_dict` in `model.pt`, any other file as it is.
    - end: the model given to `start_run` is stored unless `log_model` was called (or
      `store_model=False`); the task ends FINISHED, FAILED when the block raised, ABORTED on
      KeyboardInterrupt (the exception goes on).

    Attributes:
        dataflow_tag: the dataflow the run records into.
        exec_tag: the run's execution tag.
        recording: False on a process that does not record (a worker that is not the chief);
            every method then does nothing.

    Example:
        with keras_prov.start_run("mnist_tape", hyperparameters={"learning_rate": 0.01, "epochs": 2},
                                  model=model) as run:
            for epoch in range(1, 3):
                loss = train_one_epoch()
                run.log_epoch(epoch, loss=loss, val_loss=validate())
            run.log_test(loss=test_loss, accuracy=test_accuracy)
    """

    def __init__(self, dataflow_tag=DEFAULT_DATAFLOW_TAG, hyperparameters=None, model=None, adaptation=True,
                 exec_tag=None, store_model=True, url=None, store_weights=False):
        hyperparameters = dict(hyperparameters or {})
        if not all(isinstance(name, str) for name in hyperparameters):
            raise ProvenanceConfigError(f"hyperparameters must map names to values, got keys "
                                        f"{[name for name in hyperparameters if not isinstance(name, str)]!r}")
        self.model = model
        self.recording = distribution.records_here(model)
        built_in, extra = _split_hyperparameters(hyperparameters)
        # On several devices: the strategy, replicas, workers and global batch size, unless given.
        extra = {**distribution.describe(model, built_in.get("batch_size")), **extra}
        self._given = {**built_in, **extra}
        described = set(_model_column_names(model))
        settings = Provenance(dataflow_tag, hyperparameters=False, adaptation=adaptation,
                              hyps={name: True for name in set(built_in) | described}, extra=extra,
                              exec_tag=exec_tag, store_model=store_model, url=url, store_weights=store_weights)
        self.recorder = ExecutionRecorder(settings)
        self.dataflow_tag = settings.dataflow_tag
        self.exec_tag = self.recorder.exec_tag
        self.task = None
        self._ended = False
        self._model_logged = False
        self._described = False
        self._last_epoch = 0
        self._last_time = time.time()
        self._rate = as_number(built_in.get("learning_rate"))  # as the recording thread knows it
        if self.recording:
            if url:
                connect_to(url)  # before anything asks dfa_lib_python for its client
            self._begin()

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, error, traceback):
        if error is None or (isinstance(error, SystemExit) and not error.code):
            self.end()
        else:
            self.fail(error)
        return False

    # -- what a loop calls -------------------------------------------------------------------

    def log_epoch(self, epoch, learning_rate=None, **metrics):
        """One oTrainingModel row for `epoch` (numbered as you like; `fit` counts from 1).

        Args:
            epoch: the epoch number.
            learning_rate: the rate this epoch trained with, when it changed (same as calling
                `log_learning_rate` first); otherwise the last one given is recorded.
            **metrics: name=value; numbers, NumPy, TensorFlow, JAX or PyTorch scalars. A name
                seen for the first time adds a column.
        """
        if not self.recording:
            return
        now = time.time()
        if not self._described:
            self._describe_model()
        if learning_rate is not None:
            self.log_learning_rate(learning_rate, epoch=epoch)
        elapsed = now - self._last_time
        self._last_time = now
        self._last_epoch = epoch
        recording.submit(self._send_epoch, epoch, now, elapsed, metrics)

    def log_learning_rate(self, rate, epoch=None, cause="manual"):
        """The learning rate from `epoch` on (default: the epoch after the last one logged). A rate
        that differs from the previous one is recorded as an Adaptation task with `cause`."""
        if not self.recording:
            return
        first_epoch = self._last_epoch + 1 if epoch is None else epoch
        recording.submit(self._send_rate, first_epoch, rate, str(cause), time.time())

    def log_test(self, elapsed_time=None, **metrics):
        """A TestingModel task (one oTestingModel row) with your test metrics; `elapsed_time` in
        seconds if you measured it. Can be called after the run ended, as `evaluate` after `fit`."""
        if not self.recording:
            return
        recording.submit(self._send_test, metrics, utc_text(), elapsed_time)

    def log_model(self, model=None, path=None):
        """Stores the trained model in DfAnalyzer's model store, recorded in oTrainedModel.

        Args:
            model: a Keras model (saved as `model.keras`) or a `torch.nn.Module` (its
                `state_dict`, saved with `torch.save` as `model.pt`); saved now, on your thread.
            path: instead of a model, a file you saved yourself (copied now; its format is its
                extension, e.g. `npz`).
        """
        if not self.recording:
            return
        if (model is None) == (path is None):
            raise ProvenanceConfigError("log_model takes a model or path='file you saved', one of the two")
        if path is not None and not os.path.isfile(path):
            raise ProvenanceConfigError(f"log_model: {path!r} is not a file")
        self._model_logged = True
        models = ModelStoreClient.for_recorder(self.recorder)
        if path is not None:
            saved = models.save(path, self.task, archive_class=_CopiedFileArchive)
        elif _is_torch_module(model):
            saved = models.save(model, self.task, archive_class=_TorchStateArchive)
        else:
            saved = models.save(model, self.task)
        if saved is not None:
            recording.submit(self._send_model, models, saved)

    def end(self):
        """Ends the run as FINISHED (the `with` block does it), storing the model given to
        `start_run` if `log_model` was not called."""
        if not self.recording or self._ended:
            return
        if not self._described:
            self._describe_model()  # a run without epochs still has its hyperparameters
        if self.model is not None and self.recorder.provenance.store_model and not self._model_logged:
            self.log_model(self.model)
        self._ended = True
        recording.submit(self.task.end)

    def fail(self, error):
        """Ends the run as FAILED with `error`'s message (ABORTED for KeyboardInterrupt)."""
        if not self.recording or self._ended:
            return
        self._ended = True
        if not self._described:
            self._describe_model()  # never raises: the loop's own exception goes on
        recording.submit(mark_failed, self.task, error)

    # -- on the recording thread -------------------------------------------------------------

    def _begin(self):
        self.task = self.recorder.new_task(training_dataflow.TRAINING)
        self.recorder.last_training_task = self.task
        recording.submit(self._send_begin)
        if _is_built(self.model):
            self._describe_model()  # otherwise at the first epoch, once the first batch has built it

    def _describe_model(self):
        """The model's columns of iTrainingModel and its iLayers rows, read on the caller's thread
        once (the model must not change under us), sent with the next message."""
        self._described = True
        try:
            values = _model_values(self.model)
            layers = layer_table.LayerTable(self.model).rows() if _is_keras_model(self.model) else []
        except Exception:  # noqa: BLE001 - an unusual model must not stop the loop; your values are kept
            logger.warning("keras_prov could not read the model's parameters and layers; recording the "
                           "hyperparameters you gave", exc_info=True)
            values, layers = {}, []
        values.update(self._given)
        recording.submit(self._send_description, values, layers)

    def _send_begin(self):
        self.recorder.start()
        self.task.begin()

    def _send_description(self, values, layers):
        flow = self.recorder.flow
        if self._rate is None:
            self._rate = as_number(values.get("learning_rate"))
        values = {name: _stored_value(value) for name, value in values.items()}
        self.task.add_dataset(DataSet(training_dataflow.HYPERPARAMETERS,
                                      [flow.row(training_dataflow.HYPERPARAMETERS, values)]))
        if layers:
            columns = [name for name, _ in layer_table.ATTRIBUTES]
            self.task.add_dataset(DataSet(training_dataflow.LAYERS, [
                flow.row(training_dataflow.LAYERS, dict(zip(columns, row))) for row in layers]))

    def _send_epoch(self, epoch, stamp, elapsed, metrics):
        flow = self.recorder.flow
        values = {training_dataflow.column_name(name): _number(value) for name, value in metrics.items()}
        if flow.add_metrics(metrics.keys()):
            self.recorder.save_dataflow()
        values.update(epoch=as_number(epoch), timestamp=utc_text(stamp), elapsed_time=elapsed,
                      learning_rate=self._rate)
        self.task.add_dataset(DataSet(training_dataflow.EPOCHS, [flow.row(training_dataflow.EPOCHS, values)]))
        self.task.save()

    def _send_test(self, metrics, stamp, elapsed):
        self.recorder.record_test({name: _number(value) for name, value in metrics.items()}, stamp, elapsed)

    def _send_rate(self, epoch, rate, cause, stamp):
        new_rate = _number(rate)
        old_rate, self._rate = self._rate, new_rate
        if self.recorder.provenance.adaptation and old_rate is not None and new_rate != old_rate:
            self.recorder.record_adaptation(self.task, as_number(epoch), old_rate, new_rate, cause, stamp)

    def _send_model(self, models, saved):
        files = models.finish(self.task, saved)
        if files:
            flow = self.recorder.flow
            self.task.add_dataset(DataSet(training_dataflow.TRAINED_MODEL,
                                          [flow.row(training_dataflow.TRAINED_MODEL, f) for f in files]))
            self.task.save()


def start_run(dataflow_tag=DEFAULT_DATAFLOW_TAG, hyperparameters=None, model=None, adaptation=True, exec_tag=None,
              store_model=True, url=None, store_weights=False):
    """Starts recording a training loop that does not call `fit` (GradientTape, JAX, PyTorch, a
    Keras model trained by hand) as a run like any other: same sets, same web pages, same PROV.

    Args:
        dataflow_tag: the dataflow to record into (as `model.provenance(dataflow_tag=...)`).
        hyperparameters: {name: value}. Built-in names (learning_rate, optimizer or
            optimizer_name, epochs, batch_size, momentum, ...; see `keras_prov.Provenance`) fill
            their usual columns; any other name becomes a column of its own.
        model: the model being trained, optional: a Keras model or a `torch.nn.Module` gives its
            parameter counts (and a Keras model its layers and optimizer); it is stored at the end.
        adaptation: record learning-rate changes (`log_learning_rate`) as Adaptation tasks.
        exec_tag: the execution tag; a new one by default.
        store_model: store `model` at the end when `log_model` was not called.
        url: where DfAnalyzer is; None uses `DFA_URL`.
        store_weights: with a Keras model, also store `model.weights.h5`.

    Returns:
        a `Run`, to use with `with`.

    Example:
        with keras_prov.start_run("torch_digits", hyperparameters={"optimizer": "SGD", "learning_rate": 0.05},
                                  model=net) as run:
            for epoch in range(1, epochs + 1):
                run.log_epoch(epoch, loss=train_loss, val_loss=val_loss)
    """
    return Run(dataflow_tag, hyperparameters=hyperparameters, model=model, adaptation=adaptation, exec_tag=exec_tag,
               store_model=store_model, url=url, store_weights=store_weights)


def _split_hyperparameters(hyperparameters):
    """({built-in column: value}, {other name: value}) of what the user gave."""
    built_in, extra = {}, {}
    for name, value in hyperparameters.items():
        column = hyperparameter_catalog.ALIASES.get(name.lower(), name.lower())
        if column == "optimizer" or column in hyperparameter_catalog.BUILT_IN_TYPES:
            column = "optimizer_name" if column == "optimizer" else column
            if column in built_in:
                raise ProvenanceConfigError(f"hyperparameters name {column!r} twice (as {name!r} too)")
            built_in[column] = value
        else:
            extra[name] = value
    return built_in, extra


def _model_column_names(model):
    """The built-in columns a model tells about itself (none of fit's own, such as epochs)."""
    if _is_keras_model(model):
        names = ["num_layers", "trainable_params", "non_trainable_params", "keras_version", "backend"]
        if getattr(model, "optimizer", None) is not None:
            names += ["optimizer_name", "learning_rate", *hyperparameter_catalog.OPTIMIZER_FIELDS]
        if getattr(model, "compiled", False):
            names += ["loss", "metrics"]
        return names
    if _is_torch_module(model):
        return ["num_layers", "trainable_params", "non_trainable_params"]
    return []


def _model_values(model):
    """{column: value} of `_model_column_names(model)`, read from the built model."""
    names = _model_column_names(model)
    if _is_keras_model(model):
        known = hyperparameter_catalog.HyperparameterCatalog.read_all(model, {}, {})
        return {name: known.get(name) for name in names}
    if _is_torch_module(model):
        parameters = list(model.parameters())
        trainable = sum(p.numel() for p in parameters if p.requires_grad)
        leaves = sum(1 for module in model.modules() if not any(True for _ in module.children()))
        return {"num_layers": leaves, "trainable_params": trainable,
                "non_trainable_params": sum(p.numel() for p in parameters) - trainable}
    return {}


def _is_keras_model(model):
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(model, keras.Model)


def _is_torch_module(model):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _is_built(model):
    return not _is_keras_model(model) or bool(model.built)


def _number(value):
    """A float from a number or a scalar of NumPy, TensorFlow, JAX or PyTorch (detached first, so
    that a loss still tied to its graph gives no warning); None when not a number."""
    detach = getattr(value, "detach", None)
    if callable(detach):
        value = detach()
    return as_number(value)


def _stored_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, (int, float, str)):
        return value
    number = _number(value)
    return number if number is not None else str(value)


class _TorchStateArchive:
    """A torch module's `state_dict`, saved with `torch.save` as `model.pt` (format "pt")."""

    FILE = "model.pt"

    def __init__(self, directory):
        self.directory = directory

    def save(self, model, include_optimizer=False):
        import torch

        os.makedirs(self.directory, exist_ok=True)
        torch.save(model.state_dict(), os.path.join(self.directory, self.FILE))

    def describe(self, weights=False):
        return [_described(self.directory, self.FILE, "pt")]


class _CopiedFileArchive:
    """A model file the user saved, copied as it is; its format is its extension."""

    def __init__(self, directory):
        self.directory = directory
        self.file_name = None

    def save(self, path, include_optimizer=False):
        os.makedirs(self.directory, exist_ok=True)
        self.file_name = os.path.basename(path)
        shutil.copyfile(path, os.path.join(self.directory, self.file_name))

    def describe(self, weights=False):
        extension = self.file_name.split(".", 1)[1] if "." in self.file_name.strip(".") else "file"
        return [_described(self.directory, self.file_name, extension)]


def _described(directory, file_name, file_format):
    path = os.path.join(directory, file_name)
    return {"file_name": file_name, "local_path": path, "format": file_format, "size_bytes": os.path.getsize(path),
            "sha256": sha256_of(path)}

