"""Queries people saved from the SQL console, kept in the catalog table `saved_query`.

A name is unique: saving under an existing name replaces that query's SQL (the console's "save"
is also its "update").
"""
from dfanalyzer.errors import InvalidInput, NotFound
from dfanalyzer.identifiers import check_one_line
from dfanalyzer.ingest.values import now
from dfanalyzer.query_guard import check_read_only

MAX_NAME = 255
COLUMNS = "id, name, sql, created_at"


def _record(row):
    return dict(zip(("id", "name", "sql", "created"), row))


def list_saved(store):
    return [_record(row) for row in store.read(f"SELECT {COLUMNS} FROM saved_query ORDER BY LOWER(name), id")[1]]


def get_saved(store, query_id):
    rows = store.read(f"SELECT {COLUMNS} FROM saved_query WHERE id = ?", [int(query_id)])[1]
    if not rows:
        raise NotFound(f"saved query {query_id} does not exist; GET /api/v1/saved-queries lists them")
    return _record(rows[0])


def save(store, name, sql):
    """Stores (or replaces by name) a read-only query; returns its record."""
    name = check_one_line(name or "", "a saved query's name").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a saved query needs a name of 1 to {MAX_NAME} characters")
    sql = check_read_only(sql)
    with store.write() as tx:
        existing = tx.fetch("SELECT id FROM saved_query WHERE name = ?", [name])
        if existing:
            query_id = existing[0][0]
            tx.execute("UPDATE saved_query SET sql = ?, created_at = ? WHERE id = ?", [sql, now(), query_id])
        else:
            query_id = (tx.fetch("SELECT MAX(id) FROM saved_query")[0][0] or 0) + 1
            tx.execute("INSERT INTO saved_query (id, name, sql, created_at) VALUES (?, ?, ?, ?)",
                       [query_id, name, sql, now()])
    return get_saved(store, query_id)


def delete(store, query_id):
    get_saved(store, query_id)
    with store.write() as tx:
        tx.execute("DELETE FROM saved_query WHERE id = ?", [int(query_id)])
