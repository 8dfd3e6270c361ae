"""Error types of keras_prov. Each message says what was wrong and how to fix it."""
import logging

logger = logging.getLogger("keras_prov")
_reported_settings = set()


class ProvenanceError(Exception):
    """Base class of the errors keras_prov raises."""


class ProvenanceConfigError(ProvenanceError, ValueError):
    """`model.provenance(...)` or `keras_prov.Provenance(...)` was given something it cannot use."""


def report_unusable_settings(error):
    """Logs, once per process and on one line, a setting that stops all recording (e.g. a
    malformed DFA_URL); True if `error` was such a setting. Training goes on without provenance."""
    # Imported here: a plain Keras script loads keras_prov.errors but must not load dfa_lib_python.
    from dfa_lib_python.errors import ConfigurationError

    if not isinstance(error, ConfigurationError):
        return False
    if str(error) not in _reported_settings:
        _reported_settings.add(str(error))
        logger.warning("keras_prov cannot record provenance: %s; training goes on without it", error)
    return True
