"""Turning specifications and task messages into catalog rows and set-table rows."""
from dfanalyzer.ingest.ingestor import BatchResult, Ingestor, MessageRejected

__all__ = ["BatchResult", "Ingestor", "MessageRejected"]
