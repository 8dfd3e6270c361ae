"""One row per layer of a model: the iLayers set."""
from keras_prov.values import as_number


NUMERIC = "NUMERIC"
TEXT = "TEXT"

ATTRIBUTES = [
    ("layer_index", NUMERIC),
    ("name", TEXT),
    ("class_name", TEXT),
    ("output_shape", TEXT),
    ("parameters", NUMERIC),
    ("units", NUMERIC),
    ("filters", NUMERIC),
    ("kernel_size", TEXT),
    ("strides", TEXT),
    ("padding", TEXT),
    ("activation", TEXT),
    ("dropout_rate", NUMERIC),
]


class LayerTable:
    """Describes the layers of a Keras model as rows of the iLayers set.

    Each row holds the layer's position, name, class, output shape, parameter count and, where the
    layer has them, units, filters, kernel size, strides, padding, activation and dropout rate
    (None otherwise).

    Args:
        model: a built Keras model.

    Example:
        >>> rows = LayerTable(model).rows()
        >>> rows[0][:3]
        [0, 'conv2d', 'Conv2D']
    """

    def __init__(self, model):
        self.model = model

    def rows(self):
        return [self.describe(index, layer) for index, layer in enumerate(self.model.layers)]

    @staticmethod
    def describe(index, layer):
        activation = getattr(layer, "activation", None)
        if activation is not None and not isinstance(activation, str):
            activation = getattr(activation, "__name__", None) or type(activation).__name__
        dropout = getattr(layer, "rate", None) if "Dropout" in type(layer).__name__ else getattr(layer, "dropout", None)
        return [
            index,
            layer.name,
            type(layer).__name__,
            _output_shape(layer),
            _count(layer),
            as_number(getattr(layer, "units", None)),
            as_number(getattr(layer, "filters", None)),
            _text(getattr(layer, "kernel_size", getattr(layer, "pool_size", None))),
            _text(getattr(layer, "strides", None)),
            _text(getattr(layer, "padding", None)),
            activation,
            as_number(dropout),
        ]


def _output_shape(layer):
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        shape = getattr(layer, "output_shape", None) or _shape_from_build(layer)
        if shape is None:
            return None
    return str(tuple(shape))


def _shape_from_build(layer):
    """The output shape of a layer of a subclassed model (which has no symbolic output), from the
    input shape it was built with, batch dimension None as for functional models."""
    build_shapes = getattr(layer, "_build_shapes_dict", None)
    if not build_shapes or len(build_shapes) != 1:
        return None
    try:
        shape = layer.compute_output_shape(next(iter(build_shapes.values())))
    except Exception:  # noqa: BLE001 - many layers cannot tell; the shape is then unknown
        return None
    if not isinstance(shape, (tuple, list)) or not shape or not all(d is None or isinstance(d, int) for d in shape):
        return None
    return (None,) + tuple(shape[1:])  # the batch size it was built with is not the layer's


def _count(layer):
    try:
        return layer.count_params()
    except ValueError:  # a layer that is not built yet has no weights to count
        return None


def _text(value):
    return None if value is None else str(value)
