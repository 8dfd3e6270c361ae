"""Errors raised at the user's call when the call itself is wrong.

Sending never raises: problems reaching the service are logged and the records are kept in the
spool. Only mistakes in the arguments raise, at the line that made them.
"""


class DfaError(Exception):
    """Base class of the errors dfa_lib_python raises."""


class SpecificationError(DfaError, ValueError):
    """A dataflow, transformation, set or attribute is described in a way that cannot be stored."""


class ElementLengthError(DfaError, ValueError):
    """An Element has a different number of values than its set has attributes."""


class ConfigurationError(DfaError, ValueError):
    """DFA_URL, the spool directory or another setting cannot be used."""
