"""`keras_prov.autolog()`: provenance for code that keeps `import keras`."""
import functools

import keras

from keras_prov.provenance import Provenance
from keras_prov.provenance_mixin import ProvenanceMixin, evaluate_with_provenance, fit_with_provenance

_state = {"provenance": None, "originals": None}


def default_provenance():
    """The Provenance given to autolog(), used by models that did not call provenance() themselves."""
    return _state["provenance"]


def autolog(dataflow_tag="keras_prov", hyperparameters=True, adaptation=True, hyps=None, extra=None,
            exec_tag=None, store_model=True, url=None, disable=False):
    """Makes every `keras.Model` record its fits and evaluations, as `keras_prov.Model` does.

    Call it once, before training; the arguments are those of `keras_prov.Provenance` and apply to
    every model that does not call `model.provenance(...)` itself. Plain Keras models also gain
    `provenance()`, `get_dataflow()`, `get_exec_tag()` and `get_training_task()`.

    Args:
        disable: True undoes autolog (Keras's own fit and evaluate come back).

    Example:
        >>> import keras, keras_prov
        >>> keras_prov.autolog(dataflow_tag="mnist")
        >>> model = keras.Sequential([...]); model.compile(...); model.fit(x, y)   # recorded
    """
    if disable:
        _restore()
        return None
    _state["provenance"] = Provenance(dataflow_tag, hyperparameters=hyperparameters, adaptation=adaptation,
                                      hyps=hyps, extra=extra, exec_tag=exec_tag, store_model=store_model, url=url)
    if _state["originals"] is None:
        _patch()
    return _state["provenance"]


def _patch():
    model_class = keras.Model
    originals = {name: model_class.__dict__.get(name) for name in
                 ("fit", "evaluate", "provenance", "get_dataflow", "get_exec_tag", "get_training_task")}
    original_fit, original_evaluate = model_class.fit, model_class.evaluate

    @functools.wraps(original_fit)
    def fit(self, *args, provenance=None, **kwargs):
        if isinstance(self, ProvenanceMixin):  # a keras_prov model records by itself
            return original_fit(self, *args, **kwargs)
        return fit_with_provenance(self, functools.partial(original_fit, self), args, kwargs, provenance)

    @functools.wraps(original_evaluate)
    def evaluate(self, *args, provenance=None, **kwargs):
        if isinstance(self, ProvenanceMixin):
            return original_evaluate(self, *args, **kwargs)
        return evaluate_with_provenance(self, functools.partial(original_evaluate, self), args, kwargs, provenance)

    model_class.fit = fit
    model_class.evaluate = evaluate
    for name in ("provenance", "get_dataflow", "get_exec_tag", "get_training_task"):
        setattr(model_class, name, ProvenanceMixin.__dict__[name])
    _state["originals"] = originals


def _restore():
    originals = _state["originals"]
    if originals is None:
        return
    for name, original in originals.items():
        if original is None:
            if name in keras.Model.__dict__:
                delattr(keras.Model, name)
        else:
            setattr(keras.Model, name, original)
    _state["originals"] = None
    _state["provenance"] = None
