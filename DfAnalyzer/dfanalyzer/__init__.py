"""DfAnalyzer: the Keras-Prov provenance service on MonetDB."""

__version__ = "0.1.0"
