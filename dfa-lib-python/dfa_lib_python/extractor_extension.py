"""How an extractor reads raw data."""
from enum import Enum


class ExtractorExtension(Enum):
    """The kind of raw-data reader an extractor names (specification only, see Extractor)."""

    PROGRAM = "PROGRAM"
    CSV = "CSV"
    FASTBIT = "FASTBIT"
    OPTIMIZED_FASTBIT = "OPTIMIZED_FASTBIT"
    POSTGRES_RAW = "POSTGRES_RAW"
