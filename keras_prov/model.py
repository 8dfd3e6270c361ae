"""`keras_prov.Model`: keras.Model that records its own provenance."""
import keras
from keras.src.models import model as _keras_model
from keras.src.models.functional import Functional

from keras_prov.provenance_mixin import ProvenanceMixin


def _functional_call(args, kwargs):
    """Whether Model(...) was called the functional way: Model(inputs, outputs)."""
    return (len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)
            or ("inputs" in kwargs and "outputs" in kwargs))


@keras.saving.register_keras_serializable(package="keras_prov")
class Model(ProvenanceMixin, keras.Model):
    """A Keras `Model` whose `fit` and `evaluate` record their provenance in DfAnalyzer.

    Used exactly like `keras.Model`: subclass it, or call it with inputs and outputs (functional
    API). Recording is set with `model.provenance(...)` (before or after compile) or per call
    with `fit(..., provenance=keras_prov.Provenance(...))`; see `ProvenanceMixin`.

    Example:
        >>> import keras_prov as keras
        >>> inputs = keras.Input((64,))
        >>> outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Dense(32)(inputs))
        >>> model = keras.Model(inputs, outputs)
        >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        >>> model.provenance(dataflow_tag="digits", extra={"seed": 1})
        >>> model.fit(x, y, epochs=3, validation_split=0.2)
        >>> model.evaluate(x_test, y_test)
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _functional_call(args, kwargs):
            return FunctionalModel.__new__(FunctionalModel, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if _functional_call(args, kwargs) and not isinstance(self, Functional):
            # A subclass of ours built the functional way. Keras would rewrite the bases of every
            # class up to keras.Model, keras_prov.Model included, which would turn all later
            # subclasses functional; we make only the user's class a FunctionalModel.
            _make_functional(type(self))
            _keras_model.Trainer.__init__(self)
            Functional.__init__(self, *args, **kwargs)
        else:
            super().__init__(*args, **kwargs)


def _make_functional(cls):
    """Puts FunctionalModel in place of keras_prov.Model among the bases of `cls` and its parents."""
    if cls is Model:
        return FunctionalModel
    if cls is object or not issubclass(cls, Model) or issubclass(cls, Functional):
        return cls
    cls.__bases__ = tuple(_make_functional(base) for base in cls.__bases__)
    return cls


@keras.saving.register_keras_serializable(package="keras_prov")
class FunctionalModel(Model, Functional):
    """The class of `keras_prov.Model(inputs, outputs)`: Keras's Functional model with provenance."""

    _keras_prov_plain_class = Functional

    def __new__(cls, *args, **kwargs):
        return Functional.__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        Functional.__init__(self, *args, **kwargs)
