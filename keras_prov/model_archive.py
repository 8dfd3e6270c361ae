"""Saving a trained model to files and describing them (format, size, sha256)."""
import hashlib
import logging
import os
import shutil
import zipfile

import keras

logger = logging.getLogger("keras_prov")

KERAS_FILE = "model.keras"
WEIGHTS_FILE = "model.weights.h5"


class ModelArchive:
    """The files of one trained model: the whole model (`model.keras`) and, on request, its weights
    alone in HDF5 (`model.weights.h5`, readable with h5py).

    The `.keras` file is written as a plain Keras model (class `Sequential` / `Functional` of
    Keras itself), so `keras.saving.load_model(path)` reads it without keras_prov installed. It
    holds the optimizer's state (its slots: twice the weights for Adam) only when asked: loading
    a file without it gives a compiled model whose optimizer starts afresh (Keras says so).

    Args:
        directory: where the files are written (created when missing).

    Example:
        >>> archive = ModelArchive("/tmp/run-1")
        >>> archive.save(model)                    # on the training thread
        >>> files = archive.describe(weights=True) # anywhere, later
        >>> files[0]["format"], files[1]["format"]
        ('keras', 'weights.h5')
    """

    def __init__(self, directory):
        self.directory = directory

    def save(self, model, include_optimizer=False):
        """Writes `model.keras` (call on the training thread: the model must not change meanwhile)."""
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, KERAS_FILE)
        with _as_plain_keras(model), _without_optimizer(model, not include_optimizer):
            model.save(path)
        return path

    def describe(self, weights=False):
        """One description per file: file_name, local_path, format, size_bytes, sha256. With
        `weights`, first writes `model.weights.h5` out of the saved `.keras` file (which holds that
        very HDF5 file). Needs no model, so it runs off the training thread."""
        keras_path = os.path.join(self.directory, KERAS_FILE)
        files = [(KERAS_FILE, keras_path, "keras")]
        if weights:
            weights_path = os.path.join(self.directory, WEIGHTS_FILE)
            with zipfile.ZipFile(keras_path) as archive, archive.open("model.weights.h5") as source, \
                    open(weights_path, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
            files.append((WEIGHTS_FILE, weights_path, "weights.h5"))
        return [{"file_name": name, "local_path": path, "format": file_format, "size_bytes": os.path.getsize(path),
                 "sha256": sha256_of(path)}
                for name, path, file_format in files]


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _as_plain_keras:
    """While saving, presents a keras_prov Sequential/Model as the Keras class it extends, so the
    saved config names a Keras class. User subclasses are left as they are (their own class is
    what the file must name)."""

    def __init__(self, model):
        self.model = model
        self.original = type(model)

    def __enter__(self):
        plain = getattr(self.original, "_keras_prov_plain_class", None)
        if plain is not None and self.original.__dict__.get("_keras_prov_plain_class") is plain:
            self.model.__class__ = plain
        return self.model

    def __exit__(self, *exc):
        self.model.__class__ = self.original
        return False


class _without_optimizer:
    """While saving, hides the optimizer from Keras's saver, so its state is not written. The
    attribute is set around Keras's tracking (which would record the change)."""

    def __init__(self, model, active):
        self.model = model
        self.active = active and getattr(model, "optimizer", None) is not None
        self.optimizer = None

    def __enter__(self):
        if self.active:
            self.optimizer = self.model.optimizer
            object.__setattr__(self.model, "optimizer", None)
        return self.model

    def __exit__(self, *exc):
        if self.active:
            object.__setattr__(self.model, "optimizer", self.optimizer)
        return False


def load(path):
    """Loads a `.keras` file saved by ModelArchive (same as `keras.saving.load_model`)."""
    return keras.saving.load_model(path)
