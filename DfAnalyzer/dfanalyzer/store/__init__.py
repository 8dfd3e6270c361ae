"""Storage of provenance in MonetDB: embedded (default) or a server."""
import os

from dfanalyzer.store.base import Store, Transaction


def open_store(data_dir=None, monetdb_url=None, query_timeout=30, monetdb_reader_url=None, wait_for_server=False,
               min_free=None):
    """Opens the store: a MonetDB server when `monetdb_url` is given (user SQL then runs as the
    read-only user of `monetdb_reader_url`, created when missing; `wait_for_server`: a server not
    reachable yet is waited for instead of raising), else embedded MonetDB in
    `<data_dir>/monetdb`; either stops a user query after `query_timeout` seconds. Embedded
    MonetDB refuses writes (DiskFull) that would leave less than `min_free` bytes (or a size such
    as "1GB"; default DFA_MIN_FREE, else 256 MB) free on its disk."""
    if monetdb_url:
        from dfanalyzer.store.server import ServerStore

        return ServerStore(monetdb_url, reader_url=monetdb_reader_url, query_timeout=query_timeout,
                           wait_for_server=wait_for_server)
    if not data_dir:
        raise ValueError("open_store needs a data_dir (embedded MonetDB) or a monetdb_url")
    from dfanalyzer.disk_space import min_free_from
    from dfanalyzer.store.embedded import EmbeddedStore

    return EmbeddedStore(os.path.join(os.path.abspath(data_dir), "monetdb"), query_timeout=query_timeout,
                         min_free=min_free_from(min_free))


__all__ = ["Store", "Transaction", "open_store"]
