"""Error types of keras_prov. Each message says what was wrong and how to fix it."""


class ProvenanceError(Exception):
    """Base class of the errors keras_prov raises."""


class ProvenanceConfigError(ProvenanceError, ValueError):
    """`model.provenance(...)` or `keras_prov.Provenance(...)` was given something it cannot use."""
