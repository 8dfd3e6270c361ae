"""The REST API of DfAnalyzer (FastAPI)."""
