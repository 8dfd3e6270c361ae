"""What keras_prov adds to a Keras model: `provenance()`, `get_dataflow()`, and recording `fit`/`evaluate`."""
import inspect
import logging
import sys
import threading
import time

import keras

from keras_prov import running_fits, search_recorder
from keras_prov.errors import ProvenanceConfigError
from keras_prov.execution_recorder import ExecutionRecorder, utc_now
from keras_prov.integrations.distribution import records_here
from keras_prov.provenance import Provenance
from keras_prov.data_lineage import DataLineage, evaluate_inputs
from keras_prov.provenance_callback import ProvenanceCallback
from keras_prov.run_capture import LINEAGE_TIMEOUT
from keras_prov.recording_thread import recording
from keras_prov.steering import SteeringCallback

logger = logging.getLogger("keras_prov")

_FIT_SIGNATURE = inspect.signature(keras.Model.fit)
_EVALUATE_SIGNATURE = inspect.signature(keras.Model.evaluate)
_recorders_lock = threading.Lock()  # makes the check-and-set of a model's recorder atomic


class ProvenanceMixin:
    """Mixed into Keras models by `keras_prov.Model` / `keras_prov.Sequential`; its methods are
    also those `keras_prov.keras_patch` gives `keras.Model`.

    A keras_prov model records without any call to `provenance()` (into the dataflow
    "keras_prov", with every built-in hyperparameter); a plain Keras model only when asked.
    `model.provenance(False)` or `fit(..., provenance=False)` turns recording off.
    """

    _keras_prov_records_itself = True

    def provenance(self, dataflow_tag="keras_prov", hyperparameters=True, adaptation=True, hyps=None, extra=None,
                   exec_tag=None, store_model=True, url=None,
                   store_weights=False, store_optimizer=False, log_every_n_steps=None, system_metrics_every=10,
                   data_steps=None, live=False):
        """Sets what this model records (see `keras_prov.Provenance` for the arguments); callable
        before or after `compile`. `model.provenance(False)` turns recording off. Returns the
        `Provenance`, or None when turned off."""
        if dataflow_tag is False or dataflow_tag is None:
            self._keras_prov_settings = False
            self._keras_prov_recorder = None
            return None
        settings = dataflow_tag if isinstance(dataflow_tag, Provenance) else Provenance(
            dataflow_tag, hyperparameters=hyperparameters, adaptation=adaptation, hyps=hyps, extra=extra,
            exec_tag=exec_tag, store_model=store_model, url=url,
            store_weights=store_weights, store_optimizer=store_optimizer, log_every_n_steps=log_every_n_steps,
            system_metrics_every=system_metrics_every, data_steps=data_steps, live=live)
        self._keras_prov_settings = settings
        self._keras_prov_recorder = None
        return settings

    def get_dataflow(self):
        """The dfa_lib_python `Dataflow` this model records into, to add your own Transformations and
        Sets before fit (they are saved with it). Tasks you create for them belong to the same
        execution when given `model.get_exec_tag()`."""
        recording.drain(60)  # what fit submitted is in dfa_lib_python's hands before the user adds to it
        recorder = ProvenanceMixin._keras_prov_current_recorder(self)
        if recorder is None:
            raise ProvenanceConfigError("provenance is turned off for this model; call model.provenance(...) first")
        return recorder.dataflow

    def get_exec_tag(self):
        """The execution tag of this model's fits and evaluations."""
        recorder = ProvenanceMixin._keras_prov_current_recorder(self)
        return None if recorder is None else recorder.exec_tag

    def provenance_run(self):
        """The run this model records into, a `keras_prov.notebook.Run` (shown inline in a
        notebook with its learning curves); None when it does not record."""
        recorder = ProvenanceMixin._keras_prov_current_recorder(self)
        if recorder is None:
            return None
        from keras_prov.notebook.inline_run import Run

        return Run(recorder.exec_tag, recorder.provenance.dataflow_tag, recorder.provenance.url)

    def get_training_task(self):
        """The dfa_lib_python Task of the latest (or running) fit, for tasks that depend on it."""
        recording.drain(60)  # the training task is sent before a task depending on it
        recorder = ProvenanceMixin._keras_prov_current_recorder(self)
        return None if recorder is None else recorder.last_training_task

    def fit(self, *args, provenance=None, hyperparameters=None, hyps=None, **kwargs):
        settings = settings_for_call(self, provenance, hyperparameters, hyps, records_by_default=True)
        return fit_with_provenance(self, super().fit, args, kwargs, settings)

    def evaluate(self, *args, provenance=None, **kwargs):
        settings = settings_for_call(self, provenance, records_by_default=True)
        return evaluate_with_provenance(self, super().evaluate, args, kwargs, settings)

    def _keras_prov_current_recorder(self):
        """The recorder of the model's own settings (None when it does not record)."""
        settings = settings_for_call(self, records_by_default=getattr(self, "_keras_prov_records_itself", False))
        return ProvenanceMixin._keras_prov_recorder_for(self, settings)

    def _keras_prov_recorder_for(self, settings):
        """The recorder for `settings` (a Provenance, or None when recording is off)."""
        if settings is None:
            return None
        # One recorder (one execution tag) even when a notebook reads `model.provenance_run()`
        # while a fit of the model starts in another thread.
        with _recorders_lock:
            recorder = getattr(self, "_keras_prov_recorder", None)
            if recorder is None or recorder.provenance is not settings:
                recorder = self._keras_prov_recorder = ExecutionRecorder(settings)
            return recorder


def settings_for_call(model, provenance=None, hyperparameters=None, hyps=None, records_by_default=False):
    """The Provenance one fit or evaluate records with, or None when it does not record.

    Args:
        model: the Keras model; what it was given with `model.provenance(...)` counts first.
        provenance: None (the model's settings), True (record, the model's settings or the
            defaults), False (not this call), a dataflow tag, or a `Provenance`.
        hyperparameters: True records with every built-in hyperparameter (the defaults).
        hyps: `{"LEARNING_RATE": True, ...}` as in `model.provenance(hyps=...)`.
        records_by_default: keras_prov's own models record with the defaults when nothing says
            otherwise; plain Keras models only when asked.

    The settings a call asks for become the model's, so that a later `evaluate` joins the same
    execution.
    """
    _check_call_options(provenance, hyperparameters, hyps)
    if provenance is False:
        return None
    current = getattr(model, "_keras_prov_settings", None)
    asked = provenance is not None or hyperparameters is True or hyps is not None
    if isinstance(provenance, Provenance):
        current = provenance
    elif isinstance(provenance, str):
        if not (isinstance(current, Provenance) and current.dataflow_tag == provenance):
            current = Provenance(provenance, hyperparameters=hyperparameters is not False)
    elif current is False or current is None:
        if current is False and not asked:
            return None
        current = _default_settings()
        if current is None:
            if not (asked or records_by_default):
                return None
            current = Provenance()
    wanted = current
    if (hyps is not None and hyps != current.hyps) or (hyperparameters is True and not current.hyperparameters):
        wanted = current.replace(hyperparameters=current.hyperparameters or hyperparameters is True,
                                 hyps={**current.hyps, **(hyps or {})})
        previous = getattr(model, "_keras_prov_settings", None)
        if isinstance(previous, Provenance) and previous.same_as(wanted):
            wanted = previous  # the same options as the model's last call: the same execution
    if getattr(model, "_keras_prov_settings", None) is not wanted:
        model._keras_prov_settings = wanted
    return wanted


def _check_call_options(provenance, hyperparameters, hyps):
    if provenance is not None and not isinstance(provenance, (bool, str, Provenance)):
        raise ProvenanceConfigError(
            f"provenance= takes True, False, a dataflow tag such as 'alexnet' or keras_prov.Provenance(...), "
            f"got {provenance!r}")
    if hyperparameters is not None and not isinstance(hyperparameters, bool):
        raise ProvenanceConfigError(f"hyperparameters= takes True or False, got {hyperparameters!r}")
    if hyps is not None and not isinstance(hyps, dict):
        raise ProvenanceConfigError(f"hyps= takes a dict such as {{'LEARNING_RATE': True, 'BATCH_SIZE': True}}, "
                                    f"got {hyps!r}")


def _default_settings():
    from keras_prov import keras_patch

    return keras_patch.default_settings()


def fit_with_provenance(model, fit, args, kwargs, settings):
    """Runs `fit(*args, **kwargs)` recording it as a TrainingModel task with `settings` (a
    Provenance; None: not recorded); an exception ends the task as FAILED (KeyboardInterrupt:
    ABORTED; a tuner's pruning: PRUNED) and is raised again. Inside a tuner's trial the fit is a
    run of that trial (see `keras_prov.search_recorder`)."""
    trial = search_recorder.active_trial() if settings is not None else None
    if trial is not None:  # inside a tuner's trial: a run of its own with the tuned values
        settings = model._keras_prov_settings = trial.settings_for_fit(settings)
    recorder = ProvenanceMixin._keras_prov_recorder_for(model, settings)
    if recorder is None or not records_here(model):  # on several processes, the chief records
        return fit(*args, **kwargs)
    if trial is not None:
        trial.fit_started(recorder)
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
    added = [callback] + step_metrics_callbacks(callback, settings)
    steering = SteeringCallback.for_fit(recorder, callback)  # first: it acts before the others see the epoch
    # The epoch keeper runs before the user's callbacks at each epoch's end, so an epoch whose
    # callbacks raise (a pruning callback) is still recorded.
    callbacks = ([steering] if steering else []) + [callback.epoch_keeper] + user_callbacks + added
    kwargs = dict(kwargs)
    positional = list(args)
    callbacks_index = list(_FIT_SIGNATURE.parameters).index("callbacks") - 1  # minus self
    if len(positional) > callbacks_index:
        positional[callbacks_index] = callbacks
    else:
        kwargs["callbacks"] = callbacks
    shell = _notebook_shell()
    if shell is not None:
        from keras_prov.notebook.cell_end import wait_for_records_at_cell_end

        wait_for_records_at_cell_end(shell)
    live = _live_curves(recorder) if settings.live else None
    running_fits.started(id(callback))
    try:
        history = fit(*positional, **kwargs)
    except BaseException as error:
        callback.fail(error)
        if trial is not None:
            trial.fit_raised(error, callback.epochs_recorded)
        raise
    finally:
        running_fits.ended(id(callback))
        if steering:
            steering.close()
        if live is not None:
            live.stop()  # after one last drawing with every epoch
    if trial is not None:
        trial.fit_finished(recorder, history)
    from keras_prov.notebook.recorded_history import with_run

    return with_run(history, recorder)


def _notebook_shell():
    """The IPython shell this process runs cells for (a notebook kernel), else None."""
    ipython = sys.modules.get("IPython")
    return None if ipython is None else ipython.get_ipython()


def _live_curves(recorder):
    """The live chart of a fit recorded with live=True (`keras_prov.watch` of its run; outside a
    notebook a warning only); None when it cannot be drawn."""
    try:
        from keras_prov.notebook.inline_run import Run
        from keras_prov.notebook.live_curves import LiveCurves

        provenance = recorder.provenance
        return LiveCurves(Run(recorder.exec_tag, provenance.dataflow_tag, provenance.url)).start()
    except Exception:  # noqa: BLE001 - a chart must never stop a fit
        logger.exception("keras_prov could not draw the live curves of this fit; training goes on")
        return None


def step_metrics_callbacks(callback, settings):
    """[StepMetrics] when `settings.log_every_n_steps` is set, else []."""
    if not settings.log_every_n_steps:
        return []
    from keras_prov.step_metrics import StepMetrics

    return [StepMetrics(callback, settings.log_every_n_steps)]


def evaluate_with_provenance(model, evaluate, args, kwargs, settings):
    """Runs `evaluate` and records a TestingModel task with every metric it returned, depending on
    the latest training task. Keras's own evaluation of validation data inside fit is not recorded."""
    if "_use_cached_eval_dataset" in kwargs:  # fit's validation pass
        return evaluate(*args, **kwargs)
    recorder = ProvenanceMixin._keras_prov_recorder_for(model, settings)
    if recorder is None or not records_here(model):
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
    lineage = DataLineage.start(evaluate_inputs(arguments))
    started_at, started = utc_now(), time.perf_counter()
    result = evaluate(**arguments)
    elapsed = time.perf_counter() - started
    lineage.wait_for_arrays(LINEAGE_TIMEOUT)
    recording.submit(recorder.record_test, listener.metrics, started_at, elapsed, lineage)
    return result


class _TestResults(keras.callbacks.Callback):
    """Keeps the metrics Keras reports at the end of evaluate, by name."""

    def __init__(self):
        super().__init__()
        self.metrics = {}

    def on_test_end(self, logs=None):
        self.metrics = dict(logs or {})
