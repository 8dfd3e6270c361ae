"""Transports: how batches of messages reach DfAnalyzer (HTTP service or embedded store)."""
from dfa_lib_python.transport.base import BadRequest, Rejected, Transport, Unavailable


def make_transport(url):
    """The transport for a DFA_URL: `http(s)://host:port` or `embedded:/path/to/data-dir`."""
    if url.startswith("embedded:"):
        from dfa_lib_python.transport.embedded import EmbeddedTransport

        return EmbeddedTransport(url[len("embedded:"):])
    from dfa_lib_python.transport.http import HttpTransport

    return HttpTransport(url)


__all__ = ["BadRequest", "Rejected", "Transport", "Unavailable", "make_transport"]
