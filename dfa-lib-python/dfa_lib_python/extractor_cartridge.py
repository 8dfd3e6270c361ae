"""What an extractor does."""
from enum import Enum


class ExtractorCartridge(Enum):
    """EXTRACTION reads values out of raw data files; INDEXING builds an index over them."""

    EXTRACTION = "EXTRACTION"
    INDEXING = "INDEXING"
