"""keras_prov's integrations with other libraries; each module is imported only when its library
is in use. Tuners are recorded as searches: one module per library (`keras_tuner`, `optuna`),
each imported only once the program itself has imported that library, so a program without them
pays nothing.

`watch()` runs from `keras_patch.install()`. For each library it waits for the module defining
the classes the integration patches (KerasTuner's `Tuner`, Optuna's `Study`): already loaded, it
activates the integration at once; else a finder at the front of `sys.meta_path` lets the module
load as usual and activates the integration right after. Watching that module, not the package,
works whichever of Keras or the tuner the program imports first (KerasTuner imports Keras before
its own engine).
"""
import importlib
import logging
import sys

logger = logging.getLogger("keras_prov")

# The library module that must have loaded -> the keras_prov module that records that library.
INTEGRATIONS = {
    "keras_tuner.src.engine.tuner": "keras_prov.integrations.keras_tuner",
    "optuna.study.study": "keras_prov.integrations.optuna",
}
_activated = set()


def watch():
    """Activates the integrations of the libraries loaded, and watches for the others (idempotent)."""
    waiting = []
    for module_name, integration in INTEGRATIONS.items():
        if module_name in sys.modules:
            activate(integration)
        elif integration not in _activated:
            waiting.append(module_name)
    if waiting and not any(isinstance(finder, _TunerImportWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TunerImportWatcher())


def activate(integration):
    """Imports `integration` and calls its `activate()`; a failure is logged and leaves the library alone."""
    if integration in _activated:
        return
    module = sys.modules.get(integration)
    if module is not None and not hasattr(module, "activate"):
        return  # the program imports the integration itself, which imports the library: not yet
    _activated.add(integration)
    try:
        importlib.import_module(integration).activate()
    except Exception as error:  # noqa: BLE001 - the user's tuner must work whatever happens here
        logger.warning("keras_prov could not record the searches of %s (%s: %s); the tuner works as usual",
                       integration.rsplit(".", 1)[-1], type(error).__name__, error)


class _TunerImportWatcher:
    """A meta-path finder that finds nothing itself: for a watched module it asks the finders
    after it and wraps the loader so that the integration activates once the module has loaded."""

    def find_spec(self, fullname, path=None, target=None):
        integration = INTEGRATIONS.get(fullname)
        if integration is None or integration in _activated:
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, _TunerImportWatcher):
                continue
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ActivatingLoader(spec.loader, integration)
                return spec
        return None


class _ActivatingLoader:
    def __init__(self, loader, integration):
        self.loader = loader
        self.integration = integration

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        activate(self.integration)
        if all(name in _activated for name in INTEGRATIONS.values()):
            sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _TunerImportWatcher)]

    def __getattr__(self, name):
        return getattr(self.loader, name)
