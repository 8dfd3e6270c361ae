"""Roles a set plays in a transformation."""
from enum import Enum


class SetType(Enum):
    """Whether a transformation consumes a set (INPUT) or produces it (OUTPUT)."""

    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
