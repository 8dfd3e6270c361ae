"""`keras_prov.Sequential`: keras.Sequential that records its own provenance."""
import keras

from keras_prov.provenance_mixin import ProvenanceMixin


@keras.saving.register_keras_serializable(package="keras_prov")
class Sequential(ProvenanceMixin, keras.Sequential):
    """A Keras `Sequential` whose `fit` and `evaluate` record their provenance in DfAnalyzer.

    Example:
        >>> import keras_prov as keras
        >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
        ...                           keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
        >>> model.provenance(dataflow_tag="alexnet", hyperparameters=True, adaptation=True)
        >>> model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
        >>> model.fit(x, y, epochs=5, validation_split=0.2)
    """

    _keras_prov_plain_class = keras.Sequential
