"""The DfAnalyzer web app: pages over the same reading layer as the REST API.

Pages are Jinja templates (templates/) that draw their data from the REST API with plain
JavaScript (static/); front-end libraries come from npm at setup (static/vendor/, see assets.py).
"""
from dfanalyzer.web.app_mount import mount_web

__all__ = ["mount_web"]
