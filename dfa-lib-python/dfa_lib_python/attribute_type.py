"""Types an attribute of a set can have."""
from enum import Enum


class AttributeType(Enum):
    """Type of an attribute (a column of a set's table).

    NUMERIC values are stored as DOUBLE; TEXT, FILE, RDFILE (raw-data file) and LONG_TEXT as text.

    Example:
        Attribute("loss", AttributeType.NUMERIC)
    """

    TEXT = "TEXT"
    NUMERIC = "NUMERIC"
    FILE = "FILE"
    RDFILE = "RDFILE"
    LONG_TEXT = "LONG_TEXT"
