"""Capture library compatible with the original dfa-lib-python, asynchronous and lossless.

Scripts written for the original library import the same modules (`dfa_lib_python.dataflow`,
`.task`, `.dataset`, `.element`, ...) and run unchanged with DFA_URL pointing at DfAnalyzer.
Sending never blocks and never raises: records go to an on-disk spool at the call and a background
thread delivers them in order, exactly once.

Functions:
    connect(url=None, spool_dir=None, **options): the Client for a service URL or
        "embedded:/path" (in-process MonetDB); replaces the current one.
    flush(timeout=30): waits until every record so far is stored; True when it is.
    query(sql, limit=1000): QueryResult(columns, rows) of a read-only query.
    close(timeout=None): flushes (bounded in time) and stops sending; runs at exit by itself.
"""
from dfa_lib_python.version import __version__
from dfa_lib_python.registry import registry as _registry


def connect(url=None, spool_dir=None, **options):
    """Connects this process to DfAnalyzer and returns the Client.

    Args:
        url: "http://host:port" or "embedded:/path/to/data-dir". Default: DFA_URL, else
            http://localhost:22000/.
        spool_dir: where unsent records are kept. Default: DFA_SPOOL_DIR, else
            ~/.cache/dfa_lib_python/spool.
        **options: batch_size, flush_interval, exit_timeout (see Client).

    Example:
        dfa_lib_python.connect("embedded:/content/dfa-data")   # no server needed (Colab)
    """
    from dfa_lib_python.client import Client

    return _registry.connect(Client(url, spool_dir, **options))


def get_client(create=True):
    """The current Client, made from DFA_URL on first use; with `create=False`, None when there is
    none yet (or it was closed)."""
    if not create:
        client = _registry.current()
        return client if client is not None and not client.closed else None
    return _registry.client()


def flush(timeout=30.0):
    """Waits at most `timeout` seconds until every record given so far is stored. Never raises."""
    return _registry.client().flush(timeout)


def query(sql, limit=1000):
    """QueryResult(columns, rows) of a read-only SQL query, after flushing this process's records."""
    return _registry.client().query(sql, limit=limit)


def close(timeout=None):
    """Flushes (bounded in time) and stops sending; the next send starts a new client."""
    _registry.close_client(timeout)


__all__ = ["__version__", "close", "connect", "flush", "query", "get_client"]
