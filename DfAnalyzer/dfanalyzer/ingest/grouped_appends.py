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
        self._pending = {}  # (schema, table, column names) -> ({column: [values]}, kinds)

    def execute(self, sql, params=()):
        self.flush()
        return self.transaction.execute(sql, params)

    def fetch(self, sql, params=()):
        self.flush()
        return self.transaction.fetch(sql, params)

    def append(self, schema, table, columns, kinds):
        key = (schema, table, tuple(columns))
        if key not in self._pending:
            self._pending[key] = ({name: [] for name in columns}, dict(kinds))
        gathered = self._pending[key][0]
        for name, values in columns.items():
            gathered[name].extend(values)

    def flush(self):
        """Writes the gathered rows, in the order their tables were first appended to."""
        pending, self._pending = self._pending, {}
        for (schema, table, _), (columns, kinds) in pending.items():
            self.transaction.append(schema, table, columns, kinds)
