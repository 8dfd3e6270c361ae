"""What a model records about its training runs, and where."""
import re

from keras_prov.errors import ProvenanceConfigError
from keras_prov.hyperparameter_catalog import HyperparameterCatalog

TAG_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
DEFAULT_DATAFLOW_TAG = "keras_prov"


class Provenance:
    """The provenance settings of a model: what `fit` and `evaluate` record.

    Pass it to `model.provenance(...)` (same arguments) or to `model.fit(..., provenance=...)`.

    Args:
        dataflow_tag: name of the dataflow; also the SQL schema of its tables (lower-cased), e.g.
            "alexnet" gives `alexnet.otrainingmodel`. Letters, digits, '_', '-', '.'.
        hyperparameters: True records every built-in hyperparameter in iTrainingModel
            (optimizer, learning rate, momentum, ..., batch size, epochs, parameter counts);
            False only those switched on in `hyps`.
        adaptation: record every learning-rate change between epochs as an Adaptation task.
        hyps: `{"LEARNING_RATE": True, ...}` picks built-in hyperparameters as the original
            Keras-Prov did (case-insensitive).
        extra: your own hyperparameters with their values, e.g. `{"dropout": 0.3, "augment": "flip"}`.
            Each becomes a column of iTrainingModel; a name that is an SQL keyword (e.g. `seed`)
            must be double-quoted in queries (`SELECT "seed" FROM ...`).
        exec_tag: tag of the execution; by default one new tag per model and process
            ("<dataflow_tag>-<UTC time>-<random>"). Every fit/evaluate of the model joins it.
        store_model: at the end of fit save the model (`model.keras`, without the optimizer's
            state) into DfAnalyzer's model store and record it in oTrainedModel.
        store_weights: also store the weights alone (`model.weights.h5`, HDF5).
        store_optimizer: keep the optimizer's state in `model.keras` (to resume training; for
            Adam it doubles or triples the file).
        log_every_n_steps: N records the batch logs every N training steps in oStepMetrics (drawn
            live on the run page); None (the default) records none.
        data_steps: the DLProv data steps (dfa_lib_python Tasks of a `Dataflow(tag, predefined=True)`:
            LoadData, ApplyFilter, SplitData) the fit's data came from, one Task or a list; recorded in
            iDataSteps, and PROV documents derive the fit's data entities from those steps' outputs.
        system_metrics_every: seconds between two samples of the process and machine load
            (CPU, memory, GPU) in oSystemMetrics; 10 by default, 0 turns it off.
        url: where DfAnalyzer is, e.g. "http://127.0.0.1:22000" or "embedded:/path/to/dir";
            None uses `DFA_URL` (dfa_lib_python's default).
        live: in a notebook, draw the run's learning curves in the cell while each fit runs and
            redraw them as epochs are stored (what `keras_prov.watch(model)` does); False (the
            default) draws nothing and starts nothing.

    Example:
        >>> import keras_prov as keras
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])
        >>> model.compile("adam", "mse")
        >>> model.provenance(dataflow_tag="tiny", extra={"seed": 7})
        >>> model.fit(x, y, epochs=3)                      # recorded
        >>> model.fit(x, y, provenance=False)              # not recorded
    """

    def __init__(self, dataflow_tag=DEFAULT_DATAFLOW_TAG, hyperparameters=True, adaptation=True, hyps=None,
                 extra=None, exec_tag=None, store_model=True, url=None, store_weights=False, store_optimizer=False,
                 log_every_n_steps=None, system_metrics_every=10, data_steps=None, live=False):
        self.dataflow_tag = _checked_tag(dataflow_tag, "dataflow_tag")
        self.exec_tag = None if exec_tag is None else _checked_tag(exec_tag, "exec_tag")
        if hyps is not None and not isinstance(hyps, dict):
            raise ProvenanceConfigError(
                f"hyps must be a dict like {{'LEARNING_RATE': True}}, got {type(hyps).__name__}")
        self.hyperparameters = bool(hyperparameters)
        self.adaptation = bool(adaptation)
        self.hyps = dict(hyps or {})
        self.catalog = HyperparameterCatalog(self.hyperparameters, self.hyps, extra)
        self.extra = dict(self.catalog.extra)
        self.store_model = bool(store_model)
        self.store_weights = bool(store_weights)
        self.store_optimizer = bool(store_optimizer)
        if url is not None and not isinstance(url, str):
            raise ProvenanceConfigError(f"url must be a string such as 'http://127.0.0.1:22000', got {url!r}")
        self.url = url
        self.log_every_n_steps = _checked_count(log_every_n_steps, "log_every_n_steps", none_allowed=True)
        self.system_metrics_every = _checked_seconds(system_metrics_every)
        self.data_steps = _checked_steps(data_steps)
        self.live = bool(live)  # how fits are shown, not what they record: left out of repr and same_as

    def replace(self, **changes):
        """A copy with some arguments changed, e.g. `settings.replace(hyps={"DECAY": True})`."""
        arguments = dict(dataflow_tag=self.dataflow_tag, hyperparameters=self.hyperparameters,
                         adaptation=self.adaptation, hyps=self.hyps, extra=self.extra, exec_tag=self.exec_tag,
                         store_model=self.store_model, url=self.url, store_weights=self.store_weights,
                         store_optimizer=self.store_optimizer, log_every_n_steps=self.log_every_n_steps,
                         system_metrics_every=self.system_metrics_every, data_steps=list(self.data_steps),
                         live=self.live)
        arguments.update(changes)
        return Provenance(**arguments)

    def same_as(self, other):
        """Whether `other` records the same way (then it can share this execution)."""
        return repr(self) == repr(other) and self.hyps == other.hyps and self.url == other.url

    def __repr__(self):
        return (f"Provenance(dataflow_tag={self.dataflow_tag!r}, hyperparameters={self.hyperparameters}, "
                f"adaptation={self.adaptation}, extra={self.extra!r}, exec_tag={self.exec_tag!r}, "
                f"store_model={self.store_model}, store_weights={self.store_weights}, "
                f"store_optimizer={self.store_optimizer}, log_every_n_steps={self.log_every_n_steps}, "
                f"system_metrics_every={self.system_metrics_every}, data_steps={self.data_steps!r})")


def _checked_tag(tag, what):
    if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag) or len(tag) > 255:
        raise ProvenanceConfigError(
            f"{what} {tag!r} cannot name a dataflow: use up to 255 letters, digits, '_', '-' or '.', "
            "starting with a letter or '_'")
    return tag


def _checked_count(value, what, none_allowed=False):
    if value is None and none_allowed:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProvenanceConfigError(f"{what} takes a whole number of steps >= 1 (or None: off), got {value!r}")
    return value


def _checked_seconds(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != value:
        raise ProvenanceConfigError(f"system_metrics_every takes seconds >= 0 (0: off), got {value!r}")
    return value


def _checked_steps(steps):
    """(dataflow, execution, task id, transformation) of each DLProv step Task given."""
    if steps is None:
        return []
    checked = []
    for step in steps if isinstance(steps, (list, tuple)) else [steps]:
        if isinstance(step, tuple) and len(step) == 4:
            checked.append(step)
            continue
        if not all(hasattr(step, name) for name in ("dataflow_tag", "exec_tag", "id", "transformation_tag")):
            raise ProvenanceConfigError(f"data_steps takes dfa_lib_python Tasks (e.g. the SplitData task of a "
                                        f"Dataflow(tag, predefined=True)), got {step!r}")
        checked.append((step.dataflow_tag, step.exec_tag, str(step.id), step.transformation_tag))
    return checked
