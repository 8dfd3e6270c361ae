"""DfAnalyzer: the Keras-Prov provenance service on MonetDB."""
