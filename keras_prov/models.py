"""`keras_prov.models`: `keras.models` with keras_prov's Model and Sequential."""
import keras.models as _keras_models
from keras.models import *  # noqa: F401,F403 - the whole keras.models namespace, unchanged

from keras_prov.model import Model  # noqa: F401
from keras_prov.sequential import Sequential  # noqa: F401


def __getattr__(name):
    return getattr(_keras_models, name)
