"""Saving a trained model to files and describing them (format, size, sha256)."""
import hashlib
import logging
import os

import keras

logger = logging.getLogger("keras_prov")

FORMATS = (("model.keras", "keras"), ("model.weights.h5", "weights.h5"))


class ModelArchive:
    """The files of one trained model: the whole model (`model.keras`) and its weights in HDF5
    (`model.weights.h5`, readable with h5py).

    The `.keras` file is written as a plain Keras model (class `Sequential` / `Functional` of
    Keras itself), so `keras.saving.load_model(path)` reads it without keras_prov installed.

    Args:
        directory: where the files are written (created when missing).

    Example:
        >>> files = ModelArchive("/tmp/run-1").save(model)
        >>> files[0]["format"], files[0]["sha256"][:8]
        ('keras', '3f2a9c1e')
    """

    def __init__(self, directory):
        self.directory = directory

    def save(self, model):
        """Writes the files and returns one description per file: file_name, local_path, format,
        size_bytes, sha256."""
        os.makedirs(self.directory, exist_ok=True)
        described = []
        for file_name, file_format in FORMATS:
            path = os.path.join(self.directory, file_name)
            if file_format == "keras":
                with _as_plain_keras(model):
                    model.save(path)
            else:
                model.save_weights(path)
            described.append({"file_name": file_name, "local_path": path, "format": file_format,
                              "size_bytes": os.path.getsize(path), "sha256": sha256_of(path)})
        return described


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


def load(path):
    """Loads a `.keras` file saved by ModelArchive (same as `keras.saving.load_model`)."""
    return keras.saving.load_model(path)
