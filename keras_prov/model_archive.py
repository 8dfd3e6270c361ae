"""Saving a trained model to files and describing them (format, size, sha256)."""
import hashlib
import logging
import os
import shutil
import warnings
import zipfile

import keras

logger = logging.getLogger("keras_prov")

KERAS_FILE = "model.keras"
WEIGHTS_FILE = "model.weights.h5"
SUMMARY_FILE = "model.summary.txt"


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
        self.fallback_reason = None  # why only the weights and the summary were saved, if so

    def save(self, model, include_optimizer=False):
        """Writes `model.keras` (call on the training thread: the model must not change meanwhile).

        A model Keras cannot save whole (a subclass without `get_config()`, an object in its config
        that does not serialize) is saved as its weights (`model.weights.h5`) and its summary
        (`model.summary.txt`) instead, with one warning line; `fallback_reason` says why. Raises
        only when even the weights cannot be written."""
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, KERAS_FILE)
        try:
            with _as_plain_keras(model), _without_optimizer(model, not include_optimizer), warnings.catch_warnings():
                # Said of subclasses whose train_step calls their parts, never the model: we save what they hold.
                warnings.filterwarnings("ignore", "You are saving a model that has not yet been built")
                model.save(path)
            return path
        except Exception as error:  # noqa: BLE001 - whatever stops Keras's saver, the weights can still be kept
            self.fallback_reason = _one_line(error)
        if os.path.exists(path):
            os.remove(path)  # a partial archive
        weights_path = os.path.join(self.directory, WEIGHTS_FILE)
        with _counted_as_built(model):
            model.save_weights(weights_path)
            with open(os.path.join(self.directory, SUMMARY_FILE), "w", encoding="utf-8") as summary:
                model.summary(print_fn=lambda text, *args, **kwargs: summary.write(text + "\n"))
        logger.warning("keras_prov stored the trained model as %s and %s: Keras could not save it whole (%s)",
                       WEIGHTS_FILE, SUMMARY_FILE, self.fallback_reason)
        return weights_path

    def describe(self, weights=False):
        """One description per file: file_name, local_path, format, size_bytes, sha256, note. With
        `weights`, first writes `model.weights.h5` out of the saved `.keras` file (which holds that
        very HDF5 file). Needs no model, so it runs off the training thread."""
        if self.fallback_reason is not None:
            note = f"not saved whole: {self.fallback_reason}"
            return [dict(_described(self.directory, name, file_format), note=note)
                    for name, file_format in ((WEIGHTS_FILE, "weights.h5"), (SUMMARY_FILE, "summary.txt"))]
        keras_path = os.path.join(self.directory, KERAS_FILE)
        files = [(KERAS_FILE, keras_path, "keras")]
        if weights:
            weights_path = os.path.join(self.directory, WEIGHTS_FILE)
            with zipfile.ZipFile(keras_path) as archive, archive.open("model.weights.h5") as source, \
                    open(weights_path, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
            files.append((WEIGHTS_FILE, weights_path, "weights.h5"))
        return [_described(self.directory, name, file_format) for name, _, file_format in files]


def _described(directory, file_name, file_format):
    path = os.path.join(directory, file_name)
    return {"file_name": file_name, "local_path": path, "format": file_format, "size_bytes": os.path.getsize(path),
            "sha256": sha256_of(path), "note": None}


def _one_line(error):
    """`Type: first sentence of the message` on one line, short enough for a warning line and a
    table cell (Keras's messages go on with advice and examples)."""
    message = " ".join(str(error).split())
    sentence = message.split(". ")[0].rstrip(".")
    text = f"{type(error).__name__}: {sentence}" if sentence else type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


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


class _counted_as_built:
    """While saving the weights, counts as built a model whose layers hold weights although its own
    `call` never ran (a VAE or a GAN whose train_step calls its encoder and decoder): Keras refuses
    to save the weights of an unbuilt model, though every weight exists."""

    def __init__(self, model):
        self.model = model
        self.active = not model.built and bool(model.weights)

    def __enter__(self):
        if self.active:
            object.__setattr__(self.model, "built", True)
        return self.model

    def __exit__(self, *exc):
        if self.active:
            object.__setattr__(self.model, "built", False)
        return False


def load(path):
    """Loads a `.keras` file saved by ModelArchive (same as `keras.saving.load_model`)."""
    return keras.saving.load_model(path)
