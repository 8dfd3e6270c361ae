"""A write transaction that gathers the rows appended to each table and inserts them together."""
from dfanalyzer.store.base import Transaction


class GroupedAppends(Transaction):
    """Wraps a store Transaction: `append` only collects rows, per table, and they are written
    in one go before the next other statement (which may read them) and before the commit
    (`flush`). A batch of single-row messages thus costs a few statements, not one per message.

    Args:
        transaction: the store's Transaction.
    """

    def __init__(self, transaction):
        self.transaction = transaction
        self._pending = {}  # (schema, table, column names) -> ([row tuples], kinds)
        self.pending_rows = 0

    def execute(self, sql, params=()):
        self.flush()
        return self.transaction.execute(sql, params)

    def fetch(self, sql, params=()):
        self.flush()
        return self.transaction.fetch(sql, params)

    def append(self, schema, table, columns, kinds):
        self.append_rows(schema, table, tuple(columns), kinds, list(zip(*columns.values())))

    def append_rows(self, schema, table, names, kinds, rows):
        """Like `append`, with the rows given as tuples of values in the order of `names` (a
        tuple): cheaper for the one row most messages carry."""
        key = (schema, table, names)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = ([], kinds)
        pending[0].extend(rows)
        self.pending_rows += len(rows)

    def flush(self):
        """Writes the gathered rows, in the order their tables were first appended to."""
        pending, self._pending = self._pending, {}
        self.pending_rows = 0
        if pending:
            self.transaction.append_tables([(schema, table, dict(zip(names, map(list, zip(*rows)))), kinds)
                                            for (schema, table, names), (rows, kinds) in pending.items()])
