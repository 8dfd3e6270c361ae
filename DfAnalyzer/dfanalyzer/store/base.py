"""The storage interface. Callers never know whether they hold the embedded engine or a server."""
import abc
import decimal
import math
from importlib import resources


def catalog_statements():
    """The CREATE TABLE statements of the PROV-Df catalog (catalog.sql)."""
    text = resources.files("dfanalyzer.store").joinpath("catalog.sql").read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def plain_value(value):
    """A read value as plain Python: NULL doubles (NaN in MonetDB) become None, decimals floats."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


class Transaction(abc.ABC):
    """One write transaction; every value is bound as a parameter (`?`)."""

    @abc.abstractmethod
    def execute(self, sql, params=()):
        """Runs one statement."""

    @abc.abstractmethod
    def fetch(self, sql, params=()):
        """Runs one query inside the transaction and returns its rows."""

    @abc.abstractmethod
    def append(self, schema, table, columns, kinds):
        """Bulk-inserts rows given as {column name: [values]}, every column of the table named.
        `kinds` maps each column to "double", "bigint", "text" or "timestamp"; None is NULL."""

    def append_tables(self, appends):
        """Runs `append(schema, table, columns, kinds)` for each tuple of `appends`, in order; a
        store may do them in one go."""
        for schema, table, columns, kinds in appends:
            self.append(schema, table, columns, kinds)


class QueryScope:
    """The user queries (`isolated` reads) one request runs, entered (`with`) on the thread that
    runs them; `cancel()`, from any thread, stops those running and refuses the next ones (their
    client left). This default scope stops nothing; each store's own scope stops its queries."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def cancel(self):
        """Stops the scope's queries."""


class Store(abc.ABC):
    """A MonetDB database holding the PROV-Df catalog and the per-dataflow set tables."""

    query_timeout = 0  # seconds a user query (an `isolated` read) may run; 0 for no limit

    @abc.abstractmethod
    def read(self, sql, params=(), limit=None, isolated=False):
        """Runs a query and returns (column names, rows), at most `limit` rows when given.
        `isolated` runs it inside a transaction that is rolled back, for user SQL."""

    @abc.abstractmethod
    def write(self):
        """A context manager yielding a Transaction; commits on success, rolls back on error.
        Writers are serialised: MonetDB aborts concurrent writers to the same table."""

    @abc.abstractmethod
    def close(self):
        """Releases connections and locks."""

    def on_foreign_write(self, callback):
        """Registers `callback`, called at the start of a write transaction when another process
        has written to the database since this store's last write (so caches may be stale).
        Only a MonetDB server has other writers; embedded MonetDB belongs to one process."""

    def ping(self):
        """Raises when the store does not answer; never waits behind other work where the
        store can avoid it (GET /health)."""
        self.read("SELECT 1")

    def check_space(self, needed=0):
        """Raises DiskFull when writing `needed` more bytes would leave the store's disk too
        full; a store whose disk is elsewhere (a MonetDB server) does not check."""

    def user_query_scope(self):
        """A QueryScope for the user queries of one request."""
        return QueryScope()

    def longest_query_seconds(self):
        """How long the longest user query (an `isolated` read) in flight has run; 0 if none or
        when the store does not track it."""
        return 0.0

    def create_catalog(self):
        with self.write() as tx:
            for statement in catalog_statements():
                tx.execute(statement)

    def table_columns(self, schema, table):
        """Column names of a table in order, or [] when it does not exist."""
        _, rows = self.read(
            "SELECT c.name FROM sys.columns c JOIN sys.tables t ON c.table_id = t.id "
            "JOIN sys.schemas s ON t.schema_id = s.id WHERE s.name = ? AND t.name = ? ORDER BY c.number",
            [schema, table],
        )
        return [row[0] for row in rows]

