"""Storing task messages: the task row, its dependencies, performances, files and set elements."""
import math

from dfanalyzer.errors import InvalidInput, NotFound
from dfanalyzer.identifiers import check_label, check_one_line, qualified, quote
from dfanalyzer.ingest.values import NUMERIC, now, numeric_value, text_value, timestamp
from dfanalyzer.runs import status as run_status

DEFAULT_EXECUTION = "default"
FINAL_STATUSES = set(run_status.FINAL_TASK_STATUSES)
KNOWN_STATUSES = FINAL_STATUSES | {"READY", "RUNNING", "PAUSED", "BLOCKED", "SETUP"}
CACHED_ENTRIES = 10_000  # running tasks and set targets remembered; beyond, they are worked out again
_KEY_TYPES = (str, int, type(None))  # what the fields of a running task's key may hold as sent


def _list(message, key, where):
    value = message.get(key)
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: '{key}' must be a list")
    return value


def _identifier(value, what):
    """Task ids arrive as numbers or strings; 1, 1.0, "1" and " 1" are the same task. Checked
    before spaces are trimmed, so that "1\n" is refused rather than taken for "1"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return check_label(value, what).strip()


def _dependency_pairs(dependency, where):
    """(transformation tag, task id) pairs from {"tags": [{"tag"}], "ids": [{"id"}]}."""
    if not dependency:
        return []
    if not isinstance(dependency, dict):
        raise InvalidInput(f"{where}: 'dependency' must be an object with 'tags' and 'ids'")
    tags = [t.get("tag") if isinstance(t, dict) else t for t in dependency.get("tags") or []]
    ids = [i.get("id") if isinstance(i, dict) else i for i in dependency.get("ids") or []]
    if not tags or not ids:
        return []
    if len(tags) == len(ids):
        return list(zip(tags, ids))
    if len(tags) == 1:
        return [(tags[0], task_id) for task_id in ids]
    raise InvalidInput(f"{where}: dependency has {len(tags)} tags and {len(ids)} ids; give one tag, "
                       "or one tag per id")


def _only_new_elements(message):
    """Whether `message` changes nothing of its task but adds set elements (no dependency,
    performance, file or text)."""
    get = message.get
    if get("performances") or get("files") or get("workspace") or get("resource") or get("output") or get("error"):
        return False
    dependency = get("dependency")
    return not dependency or (isinstance(dependency, dict) and not dependency.get("tags") and not dependency.get("ids"))


def _running_task_key(info, message):
    """What identifies a message's task as the client wrote it, or None when a field is of a kind
    only the full checks handle (True and 1 must not look alike)."""
    get = message.get
    key = (id(info), get("id"), get("sub_id"), get("exec"), get("transformation"), get("status"))
    for value in key:
        if type(value) not in _KEY_TYPES:
            return None
    return key


class _RunningTask:
    """A stored, not finished task whose next messages only add elements."""

    __slots__ = ("info", "task_key", "task_id", "status", "dt_id", "dt_tag")

    def __init__(self, info, task_key, task_id, status, dt_id, dt_tag):
        self.info, self.task_key, self.task_id, self.status = info, task_key, task_id, status
        self.dt_id, self.dt_tag = dt_id, dt_tag


class _SetTarget:
    """What storing elements of one set by one transformation needs, worked out once."""

    def __init__(self, info, set_info, dt_id, dt_tag):
        self.set_info = set_info
        self.table = set_info.table
        self.expected = len(set_info.attributes)
        self.numeric = [a.type == NUMERIC for a in set_info.attributes]
        self.task_column = set_info.task_column(dt_tag)
        self.consumes = dt_id in set_info.consumers
        self.produces = dt_id in set_info.producers
        self.task_columns = [set_info.task_column(info.transformation_tag(linked))
                             for linked in sorted(set_info.linked_transformations())]
        self.numeric_positions = [position for position, numeric in enumerate(self.numeric) if numeric]
        self.names = ("id", *self.task_columns, *(a.column for a in set_info.attributes))
        self.kinds = {"id": "bigint", **{name: "bigint" for name in self.task_columns},
                      **{a.column: "double" if a.type == NUMERIC else "text" for a in set_info.attributes}}

    def converted(self, elements, where):
        """The elements as rows of column values; InvalidInput names the first bad one."""
        set_info, expected, numeric = self.set_info, self.expected, self.numeric
        rows = []
        for index, element in enumerate(elements):
            values = element.get("values") if isinstance(element, dict) else element
            if not isinstance(values, list):
                values = [values]
            if len(values) != expected:
                raise InvalidInput(f"{where}: element #{index} of set {set_info.tag!r} has {len(values)} values; "
                                   f"the set declares {expected} attributes "
                                   f"({', '.join(a.name for a in set_info.attributes)})")
            row = []
            for value, is_numeric, attribute in zip(values, numeric, set_info.attributes):
                kind = type(value)
                if is_numeric:
                    row.append(value if kind is float else numeric_value(
                        value, f"{where}, set {set_info.tag!r}, attribute {attribute.name!r}"))
                else:
                    row.append(value if kind is str else text_value(value))
            rows.append(row)
        return rows


def _same(stored, new):
    """Whether a stored value equals a new one; a NaN arrives where NULL is stored."""
    if isinstance(new, float) and math.isnan(new):
        return stored is None
    return stored == new


def _millis(moment):
    """A time at the millisecond precision TIMESTAMP columns keep."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000) if moment else None


class TaskWriter:
    """Stores task messages of known dataflows."""

    def __init__(self, ids, executions, tasks, dependents):
        self.ids = ids
        self.executions = executions  # (df_id, exec tag) -> execution id, shared cache
        self.tasks = tasks  # (exec_id, dt_id, identifier, sub_id) -> (task id, status), shared cache
        self.dependents = dependents  # task id -> [(dependent task id, its transformation id)], shared cache
        self._running = {}  # _running_task_key -> _RunningTask
        self._targets = {}  # (id(info), dt_id, set tag) -> (info, _SetTarget)

    def forget(self):
        """Drops what this writer worked out from stored rows (after a rollback)."""
        self._running.clear()
        self._targets.clear()

    def execution_id(self, tx, info, exec_tag, create=True, start_time=None):
        key = (info.id, exec_tag)
        if key not in self.executions:
            rows = tx.fetch("SELECT id FROM dataflow_execution WHERE df_id = ? AND tag = ?", [info.id, exec_tag])
            if rows:
                self.executions[key] = rows[0][0]
            elif create:
                exec_id = self.ids.take(tx, "sys", "dataflow_execution")
                tx.execute("INSERT INTO dataflow_execution (id, df_id, tag, start_time, status) VALUES (?, ?, ?, ?, ?)",
                           [exec_id, info.id, exec_tag, start_time or now(), "RUNNING"])
                self.executions[key] = exec_id
            else:
                return None
        return self.executions[key]

    def save(self, tx, info, message, skip_stored_elements):
        """Stores one task message of dataflow `info`. With `skip_stored_elements`, an element the
        same task already stored in the same set is not stored again (clients that re-send)."""
        running = None if skip_stored_elements else self._running_task(info, message)
        if running is not None:
            # Nothing of the task changes: the elements are all there is to store.
            where = f"task {message.get('id')!r}"
            for data_set in _list(message, "sets", where):
                self._save_elements(tx, info, running.dt_id, running.dt_tag, running.task_id, [], data_set, where, False)
            return running.task_id
        where = f"task {message.get('id')!r}"
        dt_key = str(message.get("transformation") or "").lower()
        if dt_key not in info.transformations:
            raise NotFound(f"{where}: transformation {message.get('transformation')!r} is not part of dataflow "
                           f"{info.tag!r}; send its specification first (known: "
                           f"{', '.join(t for _, t in info.transformations.values()) or 'none'})")
        dt_id, dt_tag = info.transformations[dt_key]
        if message.get("id") in (None, ""):
            raise InvalidInput("a task message needs an 'id'")
        exec_tag = check_label(message.get("exec") or DEFAULT_EXECUTION, f"{where}: execution tag")
        exec_id = self.execution_id(tx, info, exec_tag)
        task_id = self._upsert_task(tx, info, exec_id, dt_id, message, where)
        dependencies = self._save_dependencies(tx, info, exec_id, task_id, dt_id, message, where)
        self._save_performances(tx, task_id, message, where, skip_stored_elements)
        self._save_files(tx, task_id, message, where)
        for data_set in _list(message, "sets", where):
            self._save_elements(tx, info, dt_id, dt_tag, task_id, dependencies, data_set, where, skip_stored_elements)
        self._link_dependents(tx, info, dt_id, dt_tag, task_id, dependencies)
        self._remember_running(info, message, exec_id, dt_id, dt_tag)
        return task_id

    def _running_task(self, info, message):
        """The _RunningTask a message only adds elements to, or None when it needs the full path."""
        key = _running_task_key(info, message)
        running = self._running.get(key) if key is not None else None
        if running is None or running.info is not info or not _only_new_elements(message):
            return None
        if self.tasks.get(running.task_key) != (running.task_id, running.status):
            return None  # the task changed since (another message's status, a rollback)
        return running

    def _remember_running(self, info, message, exec_id, dt_id, dt_tag):
        key = _running_task_key(info, message)
        if key is None or not _only_new_elements(message):
            return
        task_key = (exec_id, dt_id, _identifier(message["id"], "task id"),
                    _identifier(message.get("sub_id") or "", "sub_id"))
        task_id, status = self.tasks.get(task_key, (None, None))
        if task_id is not None and status not in FINAL_STATUSES:  # a final status dates the end at each message
            if len(self._running) >= CACHED_ENTRIES:
                self._running.clear()
            self._running[key] = _RunningTask(info, task_key, task_id, status, dt_id, dt_tag)

    def _upsert_task(self, tx, info, exec_id, dt_id, message, where):
        identifier = _identifier(message["id"], "task id")
        sub_id = _identifier(message.get("sub_id") or "", f"{where}: sub_id")
        status = str(message.get("status") or "RUNNING").upper()
        if status not in KNOWN_STATUSES:
            raise InvalidInput(f"{where}: status {message.get('status')!r} is unknown; use one of "
                               f"{', '.join(sorted(KNOWN_STATUSES))}")
        performances = _list(message, "performances", where)
        start = next((timestamp(p.get("startTime"), where) for p in performances if isinstance(p, dict) and p.get("startTime")), None)
        end = next((timestamp(p.get("endTime"), where) for p in reversed(performances) if isinstance(p, dict) and p.get("endTime")), None)
        if status in FINAL_STATUSES and end is None:
            end = now()
        texts = {column: message.get(key) or None for column, key in
                 (("workspace", "workspace"), ("resource", "resource"), ("output_msg", "output"), ("error_msg", "error"))}
        for column in ("workspace", "resource"):  # they name a folder and a machine; output and error are free text
            if texts[column] is not None:
                texts[column] = check_one_line(text_value(texts[column]), f"{where}: {column}")
        key = (exec_id, dt_id, identifier, sub_id)
        task_id, stored_status = self.tasks.get(key, (None, None))
        if task_id is None:
            rows = tx.fetch("SELECT id, status FROM task WHERE exec_id = ? AND dt_id = ? AND identifier = ? AND sub_id = ?",
                            [exec_id, dt_id, identifier, sub_id])
            task_id, stored_status = rows[0] if rows else (None, None)
        if task_id is None:
            task_id = self.ids.take(tx, "sys", "task")
            tx.execute("INSERT INTO task (id, df_id, exec_id, dt_id, identifier, sub_id, status, start_time, end_time, "
                       "workspace, resource, output_msg, error_msg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [task_id, info.id, exec_id, dt_id, identifier, sub_id, status, start or now(), end,
                        texts["workspace"], texts["resource"], texts["output_msg"], texts["error_msg"]])
        else:
            assignments, params = [], []
            if status != stored_status:
                assignments.append("status = ?")
                params.append(status)
            if start is not None:
                assignments.append("start_time = ?")
                params.append(start)
            if end is not None:
                assignments.append("end_time = ?")
                params.append(end)
            for column, value in texts.items():
                if value is not None:
                    assignments.append(f"{column} = ?")
                    params.append(value)
            if assignments:  # most messages of a running task only carry new elements
                tx.execute(f"UPDATE task SET {', '.join(assignments)} WHERE id = ?", params + [task_id])
        self.tasks[key] = (task_id, status)
        if status != stored_status:
            self._update_execution_status(tx, exec_id, status, end)
        return task_id

    def _update_execution_status(self, tx, exec_id, task_status, end):
        """RUNNING while a task runs; once none is left open, how it ended (`runs.status.from_counts`).
        Readers derive the status again (`runs.status`): this column is a hint for SQL users."""
        if task_status not in FINAL_STATUSES:
            tx.execute("UPDATE dataflow_execution SET status = 'RUNNING' WHERE id = ?", [exec_id])
            return
        open_tasks, *counts = tx.fetch(
            "SELECT CAST(SUM(CASE WHEN t.status IN ('RUNNING', 'READY') THEN 1 ELSE 0 END) AS INTEGER), "
            f"{run_status.task_counts_sql('t')} FROM task t WHERE t.exec_id = ?", [exec_id])[0]
        if not open_tasks:
            tx.execute("UPDATE dataflow_execution SET status = ?, end_time = ? WHERE id = ?",
                       [run_status.from_counts(counts), end, exec_id])

    def _save_dependencies(self, tx, info, exec_id, task_id, dt_id, message, where):
        """[(task id, transformation id)] this task depends on, recorded in task_dependency."""
        found = []
        for tag, dependency_id in _dependency_pairs(message.get("dependency"), where):
            dt = info.transformations.get(str(tag).lower())
            if dt is None:
                raise NotFound(f"{where}: depends on transformation {tag!r}, which dataflow {info.tag!r} does not define")
            rows = tx.fetch("SELECT id FROM task WHERE exec_id = ? AND dt_id = ? AND identifier = ? ORDER BY id",
                            [exec_id, dt[0], _identifier(dependency_id, f"{where}: dependency id")])
            if not rows:
                raise NotFound(f"{where}: depends on task {dependency_id!r} of transformation {tag!r}, which this "
                               "execution has not stored; send that task first")
            for (depends_on,) in rows:
                found.append((depends_on, dt[0]))
                exists = tx.fetch("SELECT COUNT(*) FROM task_dependency WHERE task_id = ? AND depends_on_task_id = ?",
                                  [task_id, depends_on])[0][0]
                if not exists:
                    tx.execute("INSERT INTO task_dependency (task_id, depends_on_task_id) VALUES (?, ?)", [task_id, depends_on])
                    if depends_on in self.dependents:
                        self.dependents[depends_on].append((task_id, dt_id))
        return found

    def _save_performances(self, tx, task_id, message, where, skip_stored):
        stored = set()
        if skip_stored:
            stored = set(tx.fetch("SELECT start_time, end_time FROM performance WHERE task_id = ?", [task_id]))
        for performance in _list(message, "performances", where):
            if not isinstance(performance, dict):
                continue
            start = timestamp(performance.get("startTime"), where)
            end = timestamp(performance.get("endTime"), where)
            # A start without an end (sent at begin) only dates the task; the row comes with the end.
            if end is None or (_millis(start), _millis(end)) in stored:
                continue
            duration = (end - start).total_seconds() if start and end else None
            tx.execute("INSERT INTO performance (id, task_id, start_time, end_time, duration_seconds) VALUES (?, ?, ?, ?, ?)",
                       [self.ids.take(tx, "sys", "performance"), task_id, start, end, duration])

    def _save_files(self, tx, task_id, message, where):
        for file in _list(message, "files", where):
            if isinstance(file, dict) and (file.get("name") or file.get("path")):
                tx.execute("INSERT INTO file (id, task_id, name, path) VALUES (?, ?, ?, ?)",
                           [self.ids.take(tx, "sys", "file"), task_id, file.get("name"), file.get("path")])

    def _save_elements(self, tx, info, dt_id, dt_tag, task_id, dependencies, data_set, where, skip_stored):
        if not isinstance(data_set, dict):
            raise InvalidInput(f"{where}: each entry of 'sets' must be an object with 'tag' and 'elements'")
        target = self._target(info, dt_id, dt_tag, data_set.get("tag"), where)
        set_info = target.set_info
        elements = data_set.get("elements") or []
        if not isinstance(elements, list):
            raise InvalidInput(f"{where}: 'elements' of set {set_info.tag!r} must be a list of value lists")
        rows = target.converted(elements, where)
        if not rows:
            return
        if skip_stored:
            table = qualified(info.schema, set_info.table)
            attribute_columns = ", ".join(quote(a.column) for a in set_info.attributes)
            stored = tx.fetch(f"SELECT {attribute_columns} FROM {table} WHERE {quote(target.task_column)} = ?", [task_id])
            rows = [row for row in rows if not any(all(_same(s, n) for s, n in zip(old, row)) for old in stored)]
        if target.consumes and dependencies:
            rows = self._consume_rows_of_dependencies(tx, info, set_info, target.task_column, task_id, dependencies, rows)
        task_columns = {target.task_column: task_id}
        if target.produces:
            # A consumer task that already declared its dependency on this task (e.g. a test that
            # ran before the trained model was recorded) gets its column on these rows too.
            for dependent, dependent_dt in self._dependents_of(tx, task_id):
                if dependent_dt in set_info.consumers:
                    task_columns.setdefault(set_info.task_column(info.transformation_tag(dependent_dt)), dependent)
        self._insert_rows(tx, info, target, task_columns, rows)

    def _target(self, info, dt_id, dt_tag, set_tag, where):
        key = (id(info), dt_id, set_tag if isinstance(set_tag, str) else str(set_tag or ""))
        cached = self._targets.get(key)
        if cached is not None and cached[0] is info:
            return cached[1]
        set_info = info.sets.get(key[2].lower())
        if set_info is None:
            raise NotFound(f"{where}: set {key[2]!r} is not part of dataflow {info.tag!r} (known: "
                           f"{', '.join(s.tag for s in info.sets.values()) or 'none'})")
        if dt_id not in set_info.linked_transformations():
            raise InvalidInput(f"{where}: set {set_info.tag!r} is neither an input nor an output of transformation "
                               f"{dt_tag!r}; add it to the transformation's specification")
        if len(self._targets) >= CACHED_ENTRIES:
            self._targets.clear()
        target = _SetTarget(info, set_info, dt_id, dt_tag)
        self._targets[key] = (info, target)
        return target

    def _dependents_of(self, tx, task_id):
        if task_id not in self.dependents:
            self.dependents[task_id] = [tuple(row) for row in tx.fetch(
                "SELECT t.id, t.dt_id FROM task_dependency d JOIN task t ON d.task_id = t.id "
                "WHERE d.depends_on_task_id = ? ORDER BY t.id", [task_id])]
        return self.dependents[task_id]

    def _consume_rows_of_dependencies(self, tx, info, set_info, task_column, task_id, dependencies, rows):
        """Input elements a dependency task already produced are marked as consumed by this task
        (its column filled on those rows) instead of being stored twice. Returns the rest."""
        table = qualified(info.schema, set_info.table)
        attribute_columns = ", ".join(quote(a.column) for a in set_info.attributes)
        produced = []
        for depends_on, depends_on_dt in dependencies:
            if depends_on_dt in set_info.producers:
                producer_column = set_info.task_column(info.transformation_tag(depends_on_dt))
                produced += tx.fetch(f"SELECT id, {attribute_columns} FROM {table} "
                                     f"WHERE {quote(producer_column)} = ? ORDER BY id", [depends_on])
        remaining = []
        for row in rows:
            match = next((old for old in produced if all(_same(s, n) for s, n in zip(old[1:], row))), None)
            if match is None:
                remaining.append(row)
                continue
            produced.remove(match)
            tx.execute(f"UPDATE {table} SET {quote(task_column)} = ? WHERE id = ?", [task_id, match[0]])
        return remaining

    def _link_dependents(self, tx, info, dt_id, dt_tag, task_id, dependencies):
        """As in the original DfAnalyzer: a task that depends on another fills its own column on
        the rows the other produced in the sets it consumes."""
        for depends_on, depends_on_dt in dependencies:
            for set_info in info.sets.values():
                if depends_on_dt in set_info.producers and dt_id in set_info.consumers:
                    table = qualified(info.schema, set_info.table)
                    producer_column = set_info.task_column(info.transformation_tag(depends_on_dt))
                    tx.execute(f"UPDATE {table} SET {quote(set_info.task_column(dt_tag))} = ? "
                               f"WHERE {quote(producer_column)} = ? AND {quote(set_info.task_column(dt_tag))} IS NULL",
                               [task_id, depends_on])

    def _insert_rows(self, tx, info, target, task_columns, rows):
        if not rows:
            return
        first_id = self.ids.take(tx, info.schema, target.table, len(rows))
        task_values = tuple(task_columns.get(name) for name in target.task_columns)
        full_rows, nan_flags = [], []
        for row_id, row in enumerate(rows, first_id):
            for position in target.numeric_positions:
                if row[position] != row[position]:  # NaN: stored as NULL, flagged in non_finite_value
                    nan_flags.append((row_id, target.set_info.attributes[position].column))
                    row[position] = None
            full_rows.append((row_id, *task_values, *row))
        tx.append_rows(info.schema, target.table, target.names, target.kinds, full_rows)
        for row_id, column in nan_flags:
            tx.execute("INSERT INTO non_finite_value (table_schema, table_name, row_id, column_name, value) "
                       "VALUES (?, ?, ?, ?, ?)", [info.schema, target.table, row_id, column, "NaN"])
