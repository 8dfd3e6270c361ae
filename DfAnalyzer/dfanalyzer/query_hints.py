"""Hints added to the engine's error for a query: names that must be written in double quotes.

Dataflow tags such as `keras-alexnet-df` and attributes such as `set` are stored as they are; in
SQL they need double quotes (`"keras-alexnet-df".otrainingmodel`, `"set"`), which MonetDB's
syntax error does not say.
"""
import re

from dfanalyzer.errors import DfaError, QueryRejected
from dfanalyzer.query_guard import MAX_SQL_CHARACTERS, tokenize

PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def quoting_hint(store, sql):
    """A sentence naming what to quote in `sql`, or "" when nothing needs quotes (or the store
    cannot say: the hint must never replace the error it adds to)."""
    if len(sql) > MAX_SQL_CHARACTERS:
        return ""
    try:
        return _hint(store, sql)
    except DfaError:
        return ""


def _hint(store, sql):
    keywords = {row[0].lower() for row in store.read("SELECT keyword FROM sys.keywords")[1]}
    schemas = [row[0] for row in store.read("SELECT schema_name FROM dataflow")[1]]
    lowered = sql.lower()
    quoted = []
    for schema in schemas:
        if PLAIN_NAME.fullmatch(schema) and schema not in keywords:
            continue
        if re.search(r'(?<!")' + re.escape(schema) + r'\s*\.', lowered):
            quoted.append(f'"{schema}".<set>')
    try:
        tokens = tokenize(sql)
    except QueryRejected:
        tokens = []
    words = sorted({token.text.lower() for token in tokens if token.kind == "word"} & keywords)
    if words:
        _, columns = store.read(f"SELECT DISTINCT column_name FROM attribute WHERE column_name IN "
                                f"({', '.join('?' * len(words))})", words)
        quoted += sorted(f'"{name}"' for (name,) in columns)
    if not quoted:
        return ""
    return f" Hint: write {', '.join(quoted)} in double quotes; these names are SQL keywords or hold characters " \
           "such as '-'."

