"""The built-in hyperparameters keras_prov reads from a model, its optimizer and a `fit` call."""
import math
import re

import keras

from keras_prov.errors import ProvenanceConfigError
from keras_prov.values import as_number

NUMERIC = "NUMERIC"
TEXT = "TEXT"

# (attribute name, type). Names are the column names in iTrainingModel; the order is the column order.
BUILT_IN = [
    ("optimizer_name", TEXT),
    ("learning_rate", NUMERIC),
    ("momentum", NUMERIC),
    ("nesterov", TEXT),
    ("weight_decay", NUMERIC),
    ("beta_1", NUMERIC),
    ("beta_2", NUMERIC),
    ("epsilon", NUMERIC),
    ("clipnorm", NUMERIC),
    ("clipvalue", NUMERIC),
    ("loss", TEXT),
    ("metrics", TEXT),
    ("epochs", NUMERIC),
    ("initial_epoch", NUMERIC),
    ("batch_size", NUMERIC),
    ("steps_per_epoch", NUMERIC),
    ("validation_split", NUMERIC),
    ("validation_freq", NUMERIC),
    ("training_samples", NUMERIC),
    ("num_layers", NUMERIC),
    ("trainable_params", NUMERIC),
    ("non_trainable_params", NUMERIC),
    ("shuffle", TEXT),
    ("class_weight", TEXT),
    ("keras_version", TEXT),
    ("backend", TEXT),
]
# Recorded only when `hyps` asks for them. DECAY is the original Keras-Prov's: Keras 2's time decay
# of the learning rate, which Keras 3 spells as an InverseTimeDecay schedule (its decay_rate; NULL
# without one).
ON_REQUEST = [("decay", NUMERIC)]
BUILT_IN_TYPES = dict(BUILT_IN + ON_REQUEST)
COLUMN_ORDER = [name for name, _ in BUILT_IN[:5] + ON_REQUEST + BUILT_IN[5:]]

# Names the original Keras-Prov used in `hyps`, mapped to ours.
ALIASES = {
    "num_epochs": "epochs",
    "optimizer": "optimizer_name",
    "lr": "learning_rate",
}

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OPTIMIZER_FIELDS = ("momentum", "nesterov", "weight_decay", "beta_1", "beta_2", "epsilon", "clipnorm", "clipvalue")


class HyperparameterCatalog:
    """Which hyperparameters a run records, and their values.

    Args:
        hyperparameters: True records every built-in hyperparameter (see `BUILT_IN`); False
            records only those switched on in `hyps`.
        hyps: `{"LEARNING_RATE": True, "BATCH_SIZE": True, ...}` as in the original Keras-Prov;
            names are case-insensitive; False removes a name `hyperparameters=True` took.
        extra: the user's own hyperparameters with their values, e.g. `{"dropout": 0.3}`;
            numbers become NUMERIC columns, anything else TEXT.

    Example:
        >>> catalog = HyperparameterCatalog(False, hyps={"LEARNING_RATE": True})
        >>> catalog.attributes()
        [('learning_rate', 'NUMERIC')]
    """

    def __init__(self, hyperparameters=True, hyps=None, extra=None):
        selected = [name for name, _ in BUILT_IN] if hyperparameters else []
        for key, wanted in (hyps or {}).items():
            name = self.built_in_name(key)
            if wanted and name not in selected:
                selected.append(name)
            elif not wanted and name in selected:
                selected.remove(name)
        order = {name: position for position, name in enumerate(COLUMN_ORDER)}
        self.selected = sorted(selected, key=order.__getitem__)
        self.extra = self._checked_extra(extra or {})

    @staticmethod
    def built_in_name(key):
        if not isinstance(key, str):
            raise ProvenanceConfigError(f"hyps keys must be strings naming hyperparameters, got {key!r}")
        name = ALIASES.get(key.lower(), key.lower())
        if name not in BUILT_IN_TYPES:
            known = ", ".join(name.upper() for name in COLUMN_ORDER)
            raise ProvenanceConfigError(f"hyps has an unknown hyperparameter {key!r}; built-in ones are: {known}. "
                                        "Put your own hyperparameters in extra={name: value}.")
        return name

    def _checked_extra(self, extra):
        if not isinstance(extra, dict):
            raise ProvenanceConfigError(f"extra must be a dict of name -> value, got {type(extra).__name__}")
        checked = {}
        for name, value in extra.items():
            if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
                raise ProvenanceConfigError(
                    f"extra hyperparameter name {name!r} cannot be a column name: use letters, digits and '_', "
                    "starting with a letter or '_'")
            column = name.lower()
            if column in BUILT_IN_TYPES:
                raise ProvenanceConfigError(
                    f"extra hyperparameter {name!r} has the name of a built-in one; keras_prov reads that value "
                    "itself (choose it with hyps), or rename yours")
            if column in checked:
                raise ProvenanceConfigError(f"extra names {name!r} twice (names are case-insensitive)")
            if not (value is None or isinstance(value, (bool, int, float, str))):
                value = str(value)
            checked[column] = value
        return checked

    def attributes(self):
        """(name, type) of every recorded hyperparameter, built-in ones first."""
        extra = [(name, NUMERIC if _is_number(value) else TEXT) for name, value in self.extra.items()]
        return [(name, BUILT_IN_TYPES[name]) for name in self.selected] + extra

    def values(self, model, fit_arguments, params):
        """Values in the order of `attributes()`; None where the model or optimizer lacks one.

        Args:
            model: the compiled Keras model being fitted.
            fit_arguments: the arguments of this `fit` call by name (see `ProvenanceCallback`).
            params: the `params` dict Keras gives callbacks (`epochs`, `steps`).
        """
        known = self.read_all(model, fit_arguments, params)
        values = [known.get(name) for name in self.selected]
        for value in self.extra.values():
            values.append(_text(value) if isinstance(value, bool) else value)
        return values

    @staticmethod
    def read_all(model, fit_arguments, params):
        optimizer = getattr(model, "optimizer", None)
        values = {}
        if optimizer is not None:
            values["optimizer_name"] = type(optimizer).__name__
            values["learning_rate"] = current_learning_rate(optimizer)
            values["decay"] = _time_decay(optimizer)
            for field in OPTIMIZER_FIELDS:
                if hasattr(optimizer, field):
                    value = getattr(optimizer, field)
                    values[field] = _text(value) if isinstance(value, bool) else as_number(value)
        compile_config = _compile_config(model)
        values["loss"] = _describe(compile_config.get("loss", getattr(model, "loss", None)))
        values["metrics"] = _describe(compile_config.get("metrics"))
        values["epochs"] = as_number(fit_arguments.get("epochs", params.get("epochs")))
        values["initial_epoch"] = as_number(fit_arguments.get("initial_epoch", 0))
        values["steps_per_epoch"] = as_number(params.get("steps") or fit_arguments.get("steps_per_epoch"))
        values["validation_split"] = as_number(fit_arguments.get("validation_split", 0.0))
        values["validation_freq"] = as_number(fit_arguments.get("validation_freq", 1))
        values["shuffle"] = _text(fit_arguments.get("shuffle", True))
        values["class_weight"] = _text(fit_arguments.get("class_weight") is not None)
        samples = training_samples(fit_arguments)
        values["training_samples"] = samples
        batch_size = fit_arguments.get("batch_size")
        if batch_size is None and samples is not None:
            batch_size = 32  # Keras's default for arrays
        values["batch_size"] = as_number(batch_size)
        values["num_layers"] = len(model.layers)
        trainable = sum(_size(w) for w in model.trainable_weights)
        values["trainable_params"] = trainable
        values["non_trainable_params"] = sum(_size(w) for w in model.non_trainable_weights)
        values["keras_version"] = keras.__version__
        values["backend"] = keras.backend.backend()
        return values


def current_learning_rate(optimizer):
    """The learning rate the optimizer uses now, as a float (a schedule is evaluated at the current step)."""
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (TypeError, ValueError, AttributeError):
        return None


def _time_decay(optimizer):
    """Keras 2's `decay`: the decay_rate of an InverseTimeDecay schedule with one step per decay."""
    schedule = getattr(optimizer, "_learning_rate", None)
    if isinstance(schedule, keras.optimizers.schedules.InverseTimeDecay):
        return as_number(schedule.decay_rate / schedule.decay_steps)
    return None


def training_samples(fit_arguments):
    """Number of samples trained on, for array-like `x`; None for datasets and generators."""
    x = fit_arguments.get("x")
    if isinstance(x, dict):
        x = next(iter(x.values()), None)
    elif isinstance(x, (list, tuple)) and x and hasattr(x[0], "shape"):
        x = x[0]
    shape = getattr(x, "shape", None)
    if not shape:
        return None
    try:
        count = int(shape[0])
    except (TypeError, ValueError):
        return None
    split = fit_arguments.get("validation_split") or 0.0
    if split and fit_arguments.get("validation_data") is None:
        count = int(math.ceil(count * (1.0 - split)))  # where Keras cuts the validation tail
    return count


def _compile_config(model):
    try:
        return model.get_compile_config() or {}
    except (AttributeError, TypeError, ValueError, NotImplementedError):
        return {}


def _describe(value):
    """A readable text for a loss or metric specification (strings, objects, lists, dicts)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            return value.get("config", {}).get("name") or value["class_name"]
        return ", ".join(f"{key}: {_describe(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(filter(None, (_describe(item) for item in value)))
    return getattr(value, "name", None) or getattr(value, "__name__", None) or type(value).__name__


def _text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _size(weight):
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size
