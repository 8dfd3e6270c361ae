"""Gives Keras provenance in every process of an environment where Keras-Prov is installed.

`keras_prov_hook.pth` (installed beside this module in site-packages) runs `install()` when the
interpreter starts. That only puts a small finder at the front of `sys.meta_path` and imports
nothing else: Keras, TensorFlow and dfa_lib_python are not imported at start. When the program
imports `keras` (directly, through `tensorflow.keras`, or through another library), the finder
lets Keras load as usual and then calls `keras_prov.keras_patch.install()`, which gives every
Keras model `provenance(...)` and the provenance options of `fit` and `evaluate`. Nothing is
recorded unless the program asks for it.

Environment:
    KERAS_PROV_DISABLE=1: leave Keras untouched.
"""
import os
import sys

WATCHED_MODULE = "keras"


class KerasImportWatcher:
    """A meta-path finder that finds nothing itself: for `keras` it asks the finders after it and
    wraps the loader they return so that Keras is patched as soon as it has loaded.

    It stays in place until Keras has loaded: `importlib.util.find_spec("keras")` also asks the
    finders (TensorFlow probes for Keras so before it imports it), and a probe loads nothing."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != WATCHED_MODULE:
            return None
        for finder in sys.meta_path:
            if isinstance(finder, KerasImportWatcher):
                continue
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = PatchingLoader(spec.loader)
                return spec
        return None


class PatchingLoader:
    """Loads Keras with its own loader, then patches it; everything else is the loader's."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        remove()  # one shot: Keras loads once per process
        patch_keras()

    def __getattr__(self, name):
        return getattr(self.loader, name)


def patch_keras():
    """Patches the Keras just loaded; a failure is reported and leaves Keras as it is."""
    try:
        from keras_prov import keras_patch

        keras_patch.install()
    except Exception as error:  # noqa: BLE001 - `import keras` must work whatever happens here
        import logging

        logging.getLogger("keras_prov").warning(
            "keras_prov could not add provenance to Keras (%s: %s); Keras works as usual. "
            "Set KERAS_PROV_DISABLE=1 to silence this.", type(error).__name__, error)


def install():
    """Registers the watcher, unless KERAS_PROV_DISABLE=1 or Keras is already loaded."""
    if os.environ.get("KERAS_PROV_DISABLE", "").strip().lower() in ("1", "true", "yes"):
        return
    if WATCHED_MODULE in sys.modules:
        return
    if not any(isinstance(finder, KerasImportWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, KerasImportWatcher())


def remove():
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, KerasImportWatcher)]
