"""What keras_prov adds to a Keras model: `provenance()`, `get_dataflow()`, and recording `fit`/`evaluate`."""
import inspect
import logging
import time

import keras

from keras_prov.errors import ProvenanceConfigError
from keras_prov.execution_recorder import ExecutionRecorder, utc_now
from keras_prov.provenance import Provenance
from keras_prov.provenance_callback import ProvenanceCallback
from keras_prov.recording_thread import recording

logger = logging.getLogger("keras_prov")

_FIT_SIGNATURE = inspect.signature(keras.Model.fit)
_EVALUATE_SIGNATURE = inspect.signature(keras.Model.evaluate)


class ProvenanceMixin:
    """Mixed into Keras models by `keras_prov.Model` / `keras_prov.Sequential` (and into
    `keras.Model` by `keras_prov.autolog()`).

    Without any call to `provenance()`, fit and evaluate record into the dataflow "keras_prov"
    with every built-in hyperparameter; `model.provenance(False)` or `fit(..., provenance=False)`
    turns recording off.
    """

    def provenance(self, dataflow_tag="keras_prov", hyperparameters=True, adaptation=True, hyps=None, extra=None,
                   exec_tag=None, store_model=True, url=None):
        """Sets what this model records (see `keras_prov.Provenance` for the arguments); callable
        before or after `compile`. `model.provenance(False)` turns recording off. Returns the
        `Provenance`, or None when turned off."""
        if dataflow_tag is False or dataflow_tag is None:
            self._keras_prov_settings = False
            self._keras_prov_recorder = None
            return None
        settings = dataflow_tag if isinstance(dataflow_tag, Provenance) else Provenance(
            dataflow_tag, hyperparameters=hyperparameters, adaptation=adaptation, hyps=hyps, extra=extra,
            exec_tag=exec_tag, store_model=store_model, url=url)
        self._keras_prov_settings = settings
        self._keras_prov_recorder = None
        return settings

    def get_dataflow(self):
        """The dfa_lib_python `Dataflow` this model records into, to add your own Transformations and
        Sets before fit (they are saved with it). Tasks you create for them belong to the same
        execution when given `model.get_exec_tag()`."""
        recording.drain(60)  # what fit submitted is in dfa_lib_python's hands before the user adds to it
        recorder = ProvenanceMixin._keras_prov_recorder_for(self, None)
        if recorder is None:
            raise ProvenanceConfigError("provenance is turned off for this model; call model.provenance(...) first")
        return recorder.dataflow

    def get_exec_tag(self):
        """The execution tag of this model's fits and evaluations."""
        recorder = ProvenanceMixin._keras_prov_recorder_for(self, None)
        return None if recorder is None else recorder.exec_tag

    def get_training_task(self):
        """The dfa_lib_python Task of the latest (or running) fit, for tasks that depend on it."""
        recording.drain(60)  # the training task is sent before a task depending on it
        recorder = ProvenanceMixin._keras_prov_recorder_for(self, None)
        return None if recorder is None else recorder.last_training_task

    def fit(self, *args, provenance=None, **kwargs):
        return fit_with_provenance(self, super().fit, args, kwargs, provenance)

    def evaluate(self, *args, provenance=None, **kwargs):
        return evaluate_with_provenance(self, super().evaluate, args, kwargs, provenance)

    def _keras_prov_recorder_for(self, provenance):
        """The recorder for this call: None when recording is off."""
        if provenance is False:
            return None
        if isinstance(provenance, Provenance):
            recorder = getattr(self, "_keras_prov_recorder", None)
            if recorder is None or recorder.provenance is not provenance:
                self._keras_prov_settings = provenance
                recorder = self._keras_prov_recorder = ExecutionRecorder(provenance)
            return recorder
        if provenance is not None:
            raise ProvenanceConfigError(f"provenance= takes a keras_prov.Provenance(...) or False, got {provenance!r}")
        settings = getattr(self, "_keras_prov_settings", None)
        if settings is False:
            return None
        recorder = getattr(self, "_keras_prov_recorder", None)
        if recorder is None:
            if settings is None:
                settings = self._keras_prov_settings = _default_settings()
            recorder = self._keras_prov_recorder = ExecutionRecorder(settings)
        return recorder


def _default_settings():
    import importlib

    # keras_prov.autolog is also the name of the function keras_prov exports, hence import_module.
    return importlib.import_module("keras_prov.autolog").default_provenance() or Provenance()


def fit_with_provenance(model, fit, args, kwargs, provenance):
    """Runs `fit(*args, **kwargs)` recording it as a TrainingModel task; an exception ends the task
    as FAILED (KeyboardInterrupt: ABORTED) and is raised again."""
    try:
        recorder = ProvenanceMixin._keras_prov_recorder_for(model, provenance)
    except ProvenanceConfigError:
        raise
    if recorder is None:
        return fit(*args, **kwargs)
    try:
        bound = _FIT_SIGNATURE.bind(model, *args, **kwargs)
        arguments = dict(bound.arguments)
        arguments.update(arguments.pop("kwargs", {}) or {})
    except TypeError:
        return fit(*args, **kwargs)  # Keras reports the wrong call itself
    for name, parameter in _FIT_SIGNATURE.parameters.items():
        if name not in arguments and parameter.default is not inspect.Parameter.empty:
            arguments[name] = parameter.default
    user_callbacks = list(arguments.get("callbacks") or [])
    if isinstance(arguments.get("callbacks"), keras.callbacks.CallbackList):
        user_callbacks = list(arguments["callbacks"].callbacks)
    callback = ProvenanceCallback(recorder, arguments, user_callbacks)
    recorder.last_callback = callback
    kwargs = dict(kwargs)
    positional = list(args)
    callbacks_index = list(_FIT_SIGNATURE.parameters).index("callbacks") - 1  # minus self
    if len(positional) > callbacks_index:
        positional[callbacks_index] = user_callbacks + [callback]
    else:
        kwargs["callbacks"] = user_callbacks + [callback]
    try:
        return fit(*positional, **kwargs)
    except BaseException as error:
        callback.fail(error)
        raise


def evaluate_with_provenance(model, evaluate, args, kwargs, provenance):
    """Runs `evaluate` and records a TestingModel task with every metric it returned, depending on
    the latest training task. Keras's own evaluation of validation data inside fit is not recorded."""
    if "_use_cached_eval_dataset" in kwargs:  # fit's validation pass
        return evaluate(*args, **kwargs)
    recorder = ProvenanceMixin._keras_prov_recorder_for(model, provenance)
    if recorder is None:
        return evaluate(*args, **kwargs)
    try:
        bound = _EVALUATE_SIGNATURE.bind(model, *args, **kwargs)
    except TypeError:
        return evaluate(*args, **kwargs)  # Keras reports the wrong call itself
    listener = _TestResults()
    arguments = dict(bound.arguments)
    arguments.pop("self", None)
    arguments.update(arguments.pop("kwargs", {}) or {})
    callbacks = arguments.get("callbacks") or []
    if isinstance(callbacks, keras.callbacks.CallbackList):
        callbacks = list(callbacks.callbacks)
    arguments["callbacks"] = list(callbacks) + [listener]
    started_at, started = utc_now(), time.perf_counter()
    result = evaluate(**arguments)
    elapsed = time.perf_counter() - started
    recording.submit(recorder.record_test, listener.metrics, started_at, elapsed)
    return result


class _TestResults(keras.callbacks.Callback):
    """Keeps the metrics Keras reports at the end of evaluate, by name."""

    def __init__(self):
        super().__init__()
        self.metrics = {}

    def on_test_end(self, logs=None):
        self.metrics = dict(logs or {})
