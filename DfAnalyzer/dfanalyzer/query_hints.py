"""Hints added to the engine's error for a query: names that must be written in double quotes.

Dataflow tags such as `keras-alexnet-df` and attributes such as `set` are stored as they are; in
SQL they need double quotes (`"keras-alexnet-df".otrainingmodel`, `"set"`), which MonetDB's
syntax error does not say.
"""
import re

from dfanalyzer.errors import QueryRejected
from dfanalyzer.query_guard import MAX_SQL_CHARACTERS, tokenize

PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def quoting_hint(store, sql):
    """A sentence naming what to quote in `sql`, or "" when nothing needs quotes (or the store
    cannot say: the hint must never replace the error it adds to)."""
    if len(sql) > MAX_SQL_CHARACTERS:
        return ""
    try:
        return _hint(store, sql)
    except Exception:  # noqa: BLE001 - a hint that cannot be made is left out; the error itself goes on
        return ""


def _hint(store, sql):
    keywords = _keywords(store)
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



_keyword_cache = []


def _keywords(store):
    """MonetDB's reserved words, read once: they do not change while the service runs."""
    if not _keyword_cache:
        words = {row[0].lower() for row in store.read("SELECT keyword FROM sys.keywords")[1]}
        if len(words) < 100 or not all(isinstance(word, str) and word.isascii() for word in words):
            raise ValueError("sys.keywords read back incomplete")  # not cached: tried again next time
        _keyword_cache.append(frozenset(words))
    return _keyword_cache[0]
