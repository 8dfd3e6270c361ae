"""Turning captured Python/NumPy values into what NUMERIC provenance columns hold."""


def as_number(value):
    """A float, or None when `value` is missing or not a number (booleans are recorded as text).
    NaN and infinities are kept: the service stores them faithfully."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
