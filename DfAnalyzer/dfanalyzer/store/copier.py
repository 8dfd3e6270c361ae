"""Copying all provenance from one store to another (embedded MonetDB <-> a MonetDB server).

The catalog, every dataflow's set tables and the trained model files are copied with their ids,
in one transaction of the target: the copy is all there or not at all. A target that already
holds data is refused unless merging, which adds the source's dataflows (none of which the target
may already have) with their ids shifted past the target's.
"""
import os
import re
import shutil

from dfanalyzer.errors import InvalidInput
from dfanalyzer.identifiers import qualified, quote
from dfanalyzer.model_store import sha256_of
from dfanalyzer.store.base import catalog_statements

ROWS_PER_READ = 5000
ROWS_PER_INSERT = 50
# Which table an id column of the catalog points to ("id" points to its own table).
REFERENCES = {"df_id": "dataflow", "dt_id": "data_transformation", "previous_dt_id": "data_transformation",
              "next_dt_id": "data_transformation", "ds_id": "data_set", "exec_id": "dataflow_execution",
              "task_id": "task", "depends_on_task_id": "task"}
APPEND_KINDS = {"bigint": "bigint", "int": "bigint", "smallint": "bigint", "tinyint": "bigint",
                "double": "double", "real": "double"}


def catalog_tables():
    """Names of the catalog tables, in the order catalog.sql creates them."""
    return [re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", statement).group(1) for statement in catalog_statements()]


class StoreCopier:
    """Copies `source` into `target`.

    Args:
        source, target: `dfanalyzer.store.Store`s (embedded or server, either way).
        source_models_dir, target_models_dir: folders of the trained model files.
        progress: called with a line of text after each table (the CLI prints it).

    Example:
        >>> StoreCopier(open_store(data_dir="old"), open_store(monetdb_url=url),
        ...             "old/models", "/shared/models", progress=print).copy()
    """

    def __init__(self, source, target, source_models_dir, target_models_dir, progress=lambda line: None):
        self.source = source
        self.target = target
        self.source_models_dir = source_models_dir
        self.target_models_dir = target_models_dir
        self.progress = progress

    def copy(self, merge=False):
        """Copies everything; returns {table: rows copied}."""
        dataflows = self.source.read("SELECT tag, schema_name FROM dataflow ORDER BY id")[1]
        offsets = self._offsets(dataflows, merge)
        copied = {"model files": self._copy_model_files()}  # first: a failed copy leaves no rows without files
        with self.target.write() as tx:
            for table in catalog_tables():
                copied[table] = self._copy_catalog_table(tx, table, offsets)
            for tag, schema in dataflows:
                tx.execute(f"CREATE SCHEMA {quote(schema)}")
                for table in self._tables_of(schema):
                    copied[f"{schema}.{table}"] = self._copy_set_table(tx, schema, table, offsets)
        return copied

    def _offsets(self, dataflows, merge):
        """How much each catalog id grows in the target (all 0 unless merging into data)."""
        _, [(held,)] = self.target.read("SELECT CAST((SELECT COUNT(*) FROM dataflow) + (SELECT COUNT(*) FROM "
                                        "ingested_message) + (SELECT COUNT(*) FROM model_file) AS BIGINT)")
        if held and not merge:
            raise InvalidInput("the target already holds provenance; copy into an empty database / data directory, "
                               "or add --merge to add the source's dataflows to it")
        offsets = {}
        if not held:
            return offsets
        existing = {row[0] for row in self.target.read("SELECT LOWER(tag) FROM dataflow")[1]}
        clashing = sorted(tag for tag, _ in dataflows if tag.lower() in existing)
        if clashing:
            raise InvalidInput(f"--merge cannot join dataflows the target already has: {', '.join(clashing)}")
        for table in catalog_tables():
            if "id" in self.target.table_columns("sys", table) and table != "ingested_message":
                offsets[table] = int(self.target.read(f"SELECT CAST(MAX(id) AS BIGINT) FROM {quote(table)}")[1][0][0] or 0)
        return offsets

    def _copy_catalog_table(self, tx, table, offsets):
        columns = self.source.table_columns("sys", table)
        shifts = [offsets.get(table if name == "id" else REFERENCES.get(name), 0) for name in columns]
        skip_known = table == "ingested_message" and offsets
        count = 0
        for rows in self._pages(f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)}", columns):
            if skip_known:
                rows = self._not_in_target(rows)
            if offsets and table == "saved_query":
                rows = self._unnamed_in_target(rows, columns.index("name"))
            rows = [[value + shift if shift and value is not None else value for value, shift in zip(row, shifts)]
                    for row in rows]
            for start in range(0, len(rows), ROWS_PER_INSERT):
                chunk = rows[start:start + ROWS_PER_INSERT]
                placeholders = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * len(chunk))
                tx.execute(f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES {placeholders}",
                           [value for row in chunk for value in row])
            count += len(rows)
        self.progress(f"catalog {table}: {count} rows")
        return count

    def _not_in_target(self, rows):
        ids = [row[0] for row in rows]
        held = set()
        for start in range(0, len(ids), ROWS_PER_INSERT):
            chunk = ids[start:start + ROWS_PER_INSERT]
            held.update(row[0] for row in self.target.read(
                f"SELECT id FROM ingested_message WHERE id IN ({', '.join('?' * len(chunk))})", chunk)[1])
        return [row for row in rows if row[0] not in held]

    def _unnamed_in_target(self, rows, name_index):
        """Saved queries whose name the target does not use yet; the target's own are kept."""
        taken = {row[0] for row in self.target.read("SELECT name FROM saved_query")[1]}
        for row in rows:
            if row[name_index] in taken:
                self.progress(f"saved query {row[name_index]!r}: the target has one of that name, kept")
        return [row for row in rows if row[name_index] not in taken]

    def _tables_of(self, schema):
        _, rows = self.source.read("SELECT t.name FROM sys.tables t JOIN sys.schemas s ON t.schema_id = s.id "
                                   "WHERE s.name = ? AND NOT t.system ORDER BY t.id", [schema])
        return [row[0] for row in rows]

    def _copy_set_table(self, tx, schema, table, offsets):
        _, described = self.source.read(
            "SELECT c.name, c.type, c.type_digits FROM sys.columns c JOIN sys.tables t ON c.table_id = t.id "
            "JOIN sys.schemas s ON t.schema_id = s.id WHERE s.name = ? AND t.name = ? ORDER BY c.number",
            [schema, table])
        definitions = ", ".join(f"{quote(name)} {_sql_type(kind, digits)}" for name, kind, digits in described)
        tx.execute(f"CREATE TABLE {qualified(schema, table)} ({definitions})")
        names = [name for name, _, _ in described]
        kinds = {name: APPEND_KINDS.get(kind, "text") for name, kind, _ in described}
        task_shift = offsets.get("task", 0)
        count = 0
        for rows in self._pages(f"SELECT {', '.join(quote(n) for n in names)} FROM {qualified(schema, table)}", names):
            columns = {name: [row[index] for row in rows] for index, name in enumerate(names)}
            for name in names:
                if task_shift and name.endswith("_task_id"):
                    columns[name] = [None if v is None else v + task_shift for v in columns[name]]
            tx.append(schema, table, columns, kinds)
            count += len(rows)
        self.progress(f"dataflow {schema}: {table}: {count} rows")
        return count

    def _pages(self, select, columns):
        """The rows of `select` in pages, in the order of its first column."""
        offset = 0
        while True:
            _, rows = self.source.read(f"{select} ORDER BY {quote(columns[0])} LIMIT {ROWS_PER_READ} OFFSET {offset}")
            if rows:
                yield [list(row) for row in rows]
            if len(rows) < ROWS_PER_READ:
                return
            offset += ROWS_PER_READ

    def _copy_model_files(self):
        _, rows = self.source.read("SELECT path, sha256 FROM model_file ORDER BY id")
        for number, (path, sha256) in enumerate(rows, 1):
            source = os.path.join(self.source_models_dir, path)
            target = os.path.join(self.target_models_dir, path)
            if not os.path.isfile(source):
                raise InvalidInput(f"model file {path!r} is recorded but missing from {self.source_models_dir}; "
                                   "give the folder that holds it with --models-dir")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(source, target)
            if sha256 and sha256_of(target) != sha256:
                raise InvalidInput(f"model file {path!r} copied to {target} does not have the recorded sha256")
            self.progress(f"model file {number}/{len(rows)}: {path}")
        return len(rows)


def _sql_type(kind, digits):
    if kind in ("varchar", "char") and digits:
        return f"{kind.upper()}({int(digits)})"
    return kind.upper()

