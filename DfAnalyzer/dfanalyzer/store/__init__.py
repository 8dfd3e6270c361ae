"""Storage of provenance in MonetDB: embedded (default) or a server."""
import os

from dfanalyzer.store.base import Store, Transaction


def open_store(data_dir=None, monetdb_url=None, query_timeout=30, monetdb_reader_url=None, wait_for_server=False):
    """Opens the store: a MonetDB server when `monetdb_url` is given (user SQL then runs as the
    read-only user of `monetdb_reader_url`, created when missing; `wait_for_server`: a server not
    reachable yet is waited for instead of raising), else embedded MonetDB in
    `<data_dir>/monetdb`; either stops a user query after `query_timeout` seconds."""
    if monetdb_url:
        from dfanalyzer.store.server import ServerStore

        return ServerStore(monetdb_url, reader_url=monetdb_reader_url, query_timeout=query_timeout,
                           wait_for_server=wait_for_server)
    if not data_dir:
        raise ValueError("open_store needs a data_dir (embedded MonetDB) or a monetdb_url")
    from dfanalyzer.store.embedded import EmbeddedStore

    return EmbeddedStore(os.path.join(os.path.abspath(data_dir), "monetdb"), query_timeout=query_timeout)


__all__ = ["Store", "Transaction", "open_store"]
