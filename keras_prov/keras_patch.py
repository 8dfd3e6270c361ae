"""What Keras-Prov adds to Keras itself: provenance on every `keras.Model`, and the Keras 2 names
the original Keras-Prov scripts use.

`install()` runs when the program imports Keras (see `keras_prov_hook`, installed with the
package) or on `keras_prov.autolog()`. Importing this module imports Keras and nothing heavier:
dfa_lib_python and keras_prov's recording machinery load only when a model is asked to record
(`model.provenance(...)`, `fit(..., hyperparameters=True | provenance=... | hyps=...)`,
`keras_prov.autolog()` or `KERAS_PROV_AUTOLOG=<dataflow tag>`). Without that, `fit` and
`evaluate` are Keras's own calls behind one attribute lookup.

Added to `keras.Model` (so to Sequential, functional models and subclasses):
    provenance(...), get_dataflow(), get_exec_tag(), get_training_task();
    fit(..., provenance=None, hyperparameters=None, hyps=None); evaluate(..., provenance=None).

Tuners: `install()` also watches for KerasTuner and Optuna (`keras_prov.integrations`), whose
searches are then recorded as searches when their fits record.

Keras 2 names given back, each with a one-time DeprecationWarning naming the Keras 3 spelling:
    optimizer.lr (read and set) for optimizer.learning_rate; Optimizer(lr=...) for
    learning_rate=...; keras.backend.get_value(x) / set_value(x, v) for
    keras.ops.convert_to_numpy(x) / x.assign(v).
"""
import functools
import os
import sys
import threading
import warnings

import keras
from keras.src.optimizers.base_optimizer import BaseOptimizer

AUTOLOG_VARIABLE = "KERAS_PROV_AUTOLOG"
MODEL_METHODS = ("fit", "evaluate", "provenance", "get_dataflow", "get_exec_tag", "get_training_task",
                 "provenance_run")

_state = {"originals": None, "autolog": None, "environment_autolog": None}
_warned = set()
_warned_lock = threading.Lock()


def install():
    """Patches Keras (idempotent)."""
    if _state["originals"] is not None:
        return
    originals = {name: keras.Model.__dict__.get(name) for name in MODEL_METHODS}
    originals["fit_inherited"], originals["evaluate_inherited"] = keras.Model.fit, keras.Model.evaluate
    keras.Model.fit = _recording_fit(keras.Model.fit)
    keras.Model.evaluate = _recording_evaluate(keras.Model.evaluate)
    for name in MODEL_METHODS[2:]:
        setattr(keras.Model, name, _mixin_method(name))
    _give_back_keras2_names(originals)
    _state["originals"] = originals
    from keras_prov import integrations

    integrations.watch()  # KerasTuner and Optuna searches, once the program imports them


def uninstall():
    """Gives Keras back its own methods (used by tests and `autolog(disable=True)` without the hook)."""
    originals = _state["originals"]
    if originals is None:
        return
    for name in MODEL_METHODS:
        if originals[name] is None:
            if name in keras.Model.__dict__:
                delattr(keras.Model, name)
        else:
            setattr(keras.Model, name, originals[name])
    BaseOptimizer.__init__ = originals["optimizer_init"]
    if originals["optimizer_lr"] is None and "lr" in BaseOptimizer.__dict__:
        del BaseOptimizer.lr
    _state["originals"] = None


def disabled():
    """KERAS_PROV_DISABLE=1: the import hook leaves Keras alone (autolog() still patches it)."""
    return os.environ.get("KERAS_PROV_DISABLE", "").strip().lower() in ("1", "true", "yes")


def installed():
    return _state["originals"] is not None


def set_autolog(settings):
    """The Provenance every model records with unless it has its own (None: none)."""
    _state["autolog"] = settings


def default_settings():
    """The Provenance of `autolog()`, else of KERAS_PROV_AUTOLOG=<dataflow tag>, else None."""
    if _state["autolog"] is not None:
        return _state["autolog"]
    tag = os.environ.get(AUTOLOG_VARIABLE, "").strip()
    if not tag:
        return None
    cached = _state["environment_autolog"]
    if cached is None or cached.dataflow_tag != tag:
        from keras_prov.provenance import Provenance

        cached = _state["environment_autolog"] = Provenance(tag)
    return cached


def recording_requested(model):
    """Whether `model` records without being asked in the call: it called provenance(), or autolog
    / KERAS_PROV_AUTOLOG is on. Cheap: this runs on every plain fit and evaluate."""
    settings = getattr(model, "_keras_prov_settings", None)
    if settings is not None:
        return settings is not False
    return _state["autolog"] is not None or bool(os.environ.get(AUTOLOG_VARIABLE))


def _recording_fit(original_fit):
    @functools.wraps(original_fit)
    def fit(self, *args, provenance=None, hyperparameters=None, hyps=None, **kwargs):
        if getattr(self, "_keras_prov_records_itself", False):  # keras_prov.Model: its own fit has decided
            return original_fit(self, *args, **kwargs)
        if provenance is None and hyperparameters is None and hyps is None and not recording_requested(self):
            return original_fit(self, *args, **kwargs)
        from keras_prov import provenance_mixin

        settings = provenance_mixin.settings_for_call(self, provenance, hyperparameters, hyps)
        return provenance_mixin.fit_with_provenance(self, functools.partial(original_fit, self), args, kwargs,
                                                    settings)

    return fit


def _recording_evaluate(original_evaluate):
    @functools.wraps(original_evaluate)
    def evaluate(self, *args, provenance=None, **kwargs):
        if getattr(self, "_keras_prov_records_itself", False) or "_use_cached_eval_dataset" in kwargs:
            return original_evaluate(self, *args, **kwargs)
        if provenance is None and not recording_requested(self):
            return original_evaluate(self, *args, **kwargs)
        from keras_prov import provenance_mixin

        settings = provenance_mixin.settings_for_call(self, provenance)
        return provenance_mixin.evaluate_with_provenance(self, functools.partial(original_evaluate, self), args,
                                                         kwargs, settings)

    return evaluate


def _mixin_method(name):
    """A keras.Model method that loads keras_prov's recording machinery on its first call."""

    def method(self, *args, **kwargs):
        from keras_prov.provenance_mixin import ProvenanceMixin

        return getattr(ProvenanceMixin, name)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"keras_prov: see keras_prov.provenance_mixin.ProvenanceMixin.{name}."
    return method


# -- Keras 2 names -------------------------------------------------------------------------------


def warn_once(old, new):
    """One DeprecationWarning per Keras 2 name and process."""
    with _warned_lock:
        if old in _warned:
            return
        _warned.add(old)
    warnings.warn(f"{old} is a Keras 2 name; Keras 3 spells it {new}. keras_prov maps it for now.",
                  DeprecationWarning, stacklevel=_user_stacklevel())


def _user_stacklevel():
    """The stacklevel of the first caller outside Keras and keras_prov: the line to point at."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in ("keras", "keras_prov"):
        frame, level = frame.f_back, level + 1
    return level


def _lr_get(self):
    warn_once("optimizer.lr", "optimizer.learning_rate")
    return self.learning_rate


def _lr_set(self, value):
    warn_once("optimizer.lr", "optimizer.learning_rate")
    self.learning_rate = value


def _optimizer_init(original_init):
    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        if "lr" in kwargs:
            warn_once("Optimizer(lr=...)", "Optimizer(learning_rate=...)")
            learning_rate = kwargs.pop("lr")
            if args:
                args = (learning_rate,) + args[1:]
            else:
                kwargs["learning_rate"] = learning_rate
        original_init(self, *args, **kwargs)

    return __init__


def get_value(x):
    """Keras 2's keras.backend.get_value: the value of a variable or tensor as NumPy."""
    warn_once("keras.backend.get_value(x)", "keras.ops.convert_to_numpy(x)")
    return keras.ops.convert_to_numpy(x)


def set_value(x, value):
    """Keras 2's keras.backend.set_value: assigns `value` to the variable `x`."""
    warn_once("keras.backend.set_value(x, value)", "x.assign(value)")
    x.assign(value)


def _give_back_keras2_names(originals):
    originals["optimizer_init"] = BaseOptimizer.__init__
    originals["optimizer_lr"] = BaseOptimizer.__dict__.get("lr")
    BaseOptimizer.__init__ = _optimizer_init(BaseOptimizer.__init__)
    if not hasattr(BaseOptimizer, "lr"):
        BaseOptimizer.lr = property(_lr_get, _lr_set, doc="Keras 2's name of `learning_rate`.")
    if not hasattr(keras.backend, "get_value"):
        keras.backend.get_value = get_value
    if not hasattr(keras.backend, "set_value"):
        keras.backend.set_value = set_value
    _fix_legacy_set_value()


def _fix_legacy_set_value():
    """`tf.keras.backend.set_value` (Keras's legacy backend, loaded with TensorFlow) reads
    `x.dtype.name`, which a Keras 3 variable (dtype a string) lacks: `K.set_value(optimizer.lr, v)`
    of Keras 2 scripts would raise. Such variables are assigned directly; anything else goes to
    the legacy function."""
    for name in ("keras.src.legacy.backend", "keras._tf_keras.keras.backend"):
        module = sys.modules.get(name)
        original = getattr(module, "set_value", None)
        if original is None or getattr(original, "_keras_prov_legacy", False):
            continue

        def legacy_set_value(x, value, original=original):
            if isinstance(getattr(x, "dtype", None), str):
                x.assign(value)
            else:
                original(x, value)

        legacy_set_value._keras_prov_legacy = True
        legacy_set_value.__doc__ = original.__doc__
        module.set_value = legacy_set_value
