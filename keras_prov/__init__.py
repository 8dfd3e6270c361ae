"""Keras 3 that records its own provenance.

`import keras_prov as keras` gives the whole Keras 3 API unchanged (`keras.layers.Dense`,
`keras.optimizers.SGD`, `from keras_prov import layers`, ...) except that `Model` and
`Sequential` record every `fit` and `evaluate` in DfAnalyzer: hyperparameters, layers, one row
per epoch, learning-rate adaptations, test results and the trained model, as W3C PROV data you
can query with SQL while training runs.

Example:
    import keras_prov as keras

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    model.provenance(dataflow_tag="digits", hyperparameters=True, adaptation=True, extra={"seed": 1})
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=5, validation_split=0.2)     # DFA_URL says where DfAnalyzer is
    model.evaluate(x_test, y_test)
    keras.flush()                                       # optional: wait until everything is stored

Functions:
    autolog(...): the same for code that keeps `import keras`.
    start_run(...): records a training loop that does not call `fit` (GradientTape, JAX, PyTorch).
    flush(timeout=30): waits until the provenance and the trained models are stored.
    runs(), epochs(run), query(sql), compare(runs), run(tag), graph(run), show(), watch(run),
        searches(), search(tuner): reading
        and viewing from a notebook (keras_prov.notebook; loads pandas and IPython on first use).

Importing keras_prov imports Keras but not the recording machinery (dfa_lib_python, threads):
`Model`, `Sequential` and `models` load it on first use.
"""
import importlib
import sys
import types

import keras as _keras

from keras_prov import keras_patch
from keras_prov.autolog import autolog  # noqa: F401 - public API
from keras_prov.errors import ProvenanceConfigError, ProvenanceError  # noqa: F401 - public API
from keras_prov.provenance import Provenance  # noqa: F401 - public API

__version__ = "0.1.0"
__keras_version__ = _keras.__version__

_OWN = {"Model", "Sequential", "Provenance", "autolog", "flush", "ProvenanceError", "ProvenanceConfigError",
        "models", "runs", "epochs", "query", "compare", "run", "graph", "show", "watch", "notebook",
        "searches", "search", "start_run",
        "Run"}


def flush(timeout=30.0):
    """Waits at most `timeout` seconds until every record and trained model given so far is stored,
    models that earlier programs left waiting in the spool included. Returns True when everything
    is stored. Never raises."""
    import time

    import dfa_lib_python

    from keras_prov.model_store_client import background
    from keras_prov.recording_thread import recording

    from keras_prov.execution_recorder import deliver_pending_models_once

    deadline = time.monotonic() + timeout
    deliver_pending_models_once()  # models an earlier program could not upload, too
    recorded = recording.drain(timeout)
    stored = recorded and dfa_lib_python.flush(max(0.0, deadline - time.monotonic()))
    models_stored = background.wait(max(0.0, deadline - time.monotonic()))
    return bool(stored and models_stored)


# Loaded on first use: they bring dfa_lib_python and the recording threads with them.
_LAZY = {"Model": ("keras_prov.model", "Model"), "Sequential": ("keras_prov.sequential", "Sequential"),
         "models": ("keras_prov.models", None), "start_run": ("keras_prov.manual_run", "start_run"),
         "Run": ("keras_prov.manual_run", "Run")}
_LAZY.update({name: ("keras_prov.notebook", name)
              for name in ("runs", "epochs", "query", "compare", "run", "graph", "show", "watch", "searches", "search")})


def __getattr__(name):
    """Model, Sequential, models, start_run and Run on first use; everything else comes from Keras itself."""
    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        module = importlib.import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value
        return value
    try:
        return getattr(_keras, name)
    except AttributeError:
        raise AttributeError(f"module 'keras_prov' has no attribute {name!r} (nor has keras)") from None


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(dir(_keras)))


def _alias_keras_submodules():
    """Makes `import keras_prov.layers` and `from keras_prov.layers import Dense` work: every public
    Keras submodule is also importable under keras_prov."""
    for name in dir(_keras):
        value = getattr(_keras, name, None)
        if isinstance(value, types.ModuleType) and not name.startswith("_") and name not in _OWN:
            sys.modules.setdefault(f"{__name__}.{name}", value)


_alias_keras_submodules()
if not keras_patch.disabled():
    keras_patch.install()  # done already when keras_prov_hook saw Keras load
