"""Reading the provenance of an execution or a dataflow out of the store."""
import json
import logging

from dfanalyzer.errors import InvalidInput, NotFound
from dfanalyzer.export.snapshot import (
    Agent, Attribute, DataSet, Execution, ModelFile, Row, Snapshot, Task, Transformation, utc,
)
from dfanalyzer.identifiers import qualified, quote
from dfanalyzer import steering_actions
from dfanalyzer.runs import status as run_status

logger = logging.getLogger(__name__)


def _placeholders(values):
    return ", ".join("?" for _ in values)


class ProvenanceReader:
    """Reads what a PROV document or a graph shows from a store, read-only.

    Every value is bound as a parameter; schema, table and column names come from the catalog and
    are quoted.

    Args:
        store: a `dfanalyzer.store.Store` (anything with `read(sql, params, limit)` and
            `table_columns(schema, table)`).

    Example:
        reader = ProvenanceReader(open_store(data_dir="dfa-data"))
        snapshot = reader.execution("alexnet-1")      # one run
        snapshot = reader.dataflow("alexnet")         # the dataflow and all its runs
        kind, name = reader.resolve("alexnet-1")      # ("execution", "alexnet-1")
    """

    def __init__(self, store):
        self.store = store

    # -- finding what a name refers to -------------------------------------------------------

    def resolve(self, name):
        """("execution", name) or ("dataflow", name); an execution tag wins over a dataflow tag."""
        if self._executions_named(name):
            return "execution", name
        if self._dataflow_row(name, required=False):
            return "dataflow", name
        raise NotFound(
            f"no execution or dataflow named {name!r}; `dfanalyzer runs` lists the executions and "
            "GET /api/v1/dataflows the dataflows"
        )

    def _executions_named(self, tag, dataflow=None):
        sql = ("SELECT e.id, e.df_id, e.tag, e.start_time, e.end_time, e.status, d.tag "
               "FROM dataflow_execution e JOIN dataflow d ON d.id = e.df_id WHERE e.tag = ?")
        params = [tag]
        if dataflow is not None:
            sql += " AND d.tag = ?"
            params.append(dataflow)
        _, rows = self.store.read(sql + " ORDER BY e.id", params)
        return rows

    def _dataflow_row(self, tag, required=True):
        _, rows = self.store.read(
            "SELECT id, tag, schema_name, specification FROM dataflow WHERE tag = ?", [tag])
        if not rows:
            # Tags name schemas in lower case; accept the tag as the user remembers it.
            _, rows = self.store.read(
                "SELECT id, tag, schema_name, specification FROM dataflow WHERE LOWER(tag) = LOWER(?) "
                "ORDER BY id", [tag])
        if not rows:
            if required:
                raise NotFound(f"no dataflow named {tag!r}; GET /api/v1/dataflows lists the dataflows")
            return None
        row = rows[0]
        return {"id": row[0], "tag": row[1], "schema_name": row[2], "specification": row[3]}

    # -- snapshots ---------------------------------------------------------------------------

    def execution(self, tag, dataflow=None):
        """The snapshot of one execution (its dataflow's specification included).

        Raises:
            NotFound: no execution has this tag (in `dataflow`, when given).
            InvalidInput: executions of several dataflows have this tag and `dataflow` is None.
        """
        rows = self._executions_named(tag, dataflow)
        if not rows:
            where = f" in dataflow {dataflow!r}" if dataflow else ""
            raise NotFound(f"no execution named {tag!r}{where}; `dfanalyzer runs` lists the executions")
        dataflow_tags = sorted({row[6] for row in rows})
        if len(dataflow_tags) > 1:
            raise InvalidInput(
                f"execution {tag!r} exists in several dataflows ({', '.join(dataflow_tags)}); "
                "name the dataflow too (?dataflow=... or --dataflow)")
        snapshot = self._specification(self._dataflow_row(dataflow_tags[0]))
        snapshot.executions = [self._execution(row) for row in rows]
        self._fill_provenance(snapshot)
        return snapshot

    def dataflow(self, tag):
        """The snapshot of a dataflow with all its executions."""
        snapshot = self._specification(self._dataflow_row(tag))
        _, rows = self.store.read(
            "SELECT id, df_id, tag, start_time, end_time, status FROM dataflow_execution "
            "WHERE df_id = ? ORDER BY id", [snapshot.dataflow["id"]])
        snapshot.executions = [self._execution(row) for row in rows]
        self._fill_provenance(snapshot)
        return snapshot

    def specification(self, tag):
        """The snapshot of a dataflow's specification only (no executions)."""
        return self._specification(self._dataflow_row(tag))

    # -- pieces ------------------------------------------------------------------------------

    @staticmethod
    def _execution(row):
        return Execution(id=row[0], tag=row[2], start_time=utc(row[3]), end_time=utc(row[4]), status=row[5])

    def _specification(self, dataflow):
        df_id = dataflow["id"]
        _, rows = self.store.read(
            "SELECT id, tag FROM data_transformation WHERE df_id = ? ORDER BY id", [df_id])
        transformations = [Transformation(id=row[0], tag=row[1]) for row in rows]
        _, set_rows = self.store.read(
            "SELECT id, tag, table_name FROM data_set WHERE df_id = ? ORDER BY id", [df_id])
        _, attribute_rows = self.store.read(
            "SELECT a.ds_id, a.name, a.column_name, a.type FROM attribute a "
            "JOIN data_set s ON s.id = a.ds_id WHERE s.df_id = ? ORDER BY a.ds_id, a.ordinal, a.id",
            [df_id])
        _, dependency_rows = self.store.read(
            "SELECT ds_id, previous_dt_id, next_dt_id FROM data_dependency WHERE df_id = ? ORDER BY id",
            [df_id])
        sets = []
        for set_id, tag, table_name in set_rows:
            attributes = [Attribute(name=row[1], column_name=row[2], type=(row[3] or "TEXT").upper())
                          for row in attribute_rows if row[0] == set_id]
            producers, consumers = [], []
            for ds_id, previous_dt, next_dt in dependency_rows:
                if ds_id != set_id:
                    continue
                if previous_dt is not None and previous_dt not in producers:
                    producers.append(previous_dt)
                if next_dt is not None and next_dt not in consumers:
                    consumers.append(next_dt)
            sets.append(DataSet(id=set_id, tag=tag, table_name=table_name, attributes=attributes,
                                producers=producers, consumers=consumers))
        return Snapshot(dataflow=dataflow, transformations=transformations, sets=sets)

    def _fill_provenance(self, snapshot):
        exec_ids = [execution.id for execution in snapshot.executions]
        if not exec_ids:
            return
        marks = _placeholders(exec_ids)
        _, rows = self.store.read(
            f"SELECT id, exec_id, kind, name, properties FROM agent WHERE exec_id IN ({marks}) ORDER BY id",
            exec_ids)
        snapshot.agents = [Agent(id=row[0], exec_id=row[1], kind=(row[2] or "").lower(), name=row[3],
                                 properties=_json_object(row[4])) for row in rows]
        _, rows = self.store.read(
            "SELECT id, exec_id, dt_id, identifier, sub_id, status, start_time, end_time, workspace, "
            f"resource, output_msg, error_msg FROM task WHERE exec_id IN ({marks}) ORDER BY id", exec_ids)
        tasks = [Task(id=row[0], exec_id=row[1], dt_id=row[2], identifier=row[3], sub_id=row[4],
                      status=row[5], start_time=utc(row[6]), end_time=utc(row[7]), workspace=row[8],
                      resource=row[9], output_msg=row[10], error_msg=row[11]) for row in rows]
        by_id = {task.id: task for task in tasks}
        _, rows = self.store.read(
            "SELECT d.task_id, d.depends_on_task_id FROM task_dependency d JOIN task t ON t.id = d.task_id "
            f"WHERE t.exec_id IN ({marks}) ORDER BY d.task_id, d.depends_on_task_id", exec_ids)
        for task_id, depends_on in rows:
            task = by_id.get(task_id)
            if task is not None and depends_on not in task.depends_on and depends_on != task_id:
                task.depends_on.append(depends_on)
        self._fill_missing_times(tasks, marks, exec_ids)
        snapshot.tasks = tasks
        heard = run_status.last_heard_of(self.store, exec_ids)
        for execution in snapshot.executions:
            own = [task for task in tasks if task.exec_id == execution.id]
            execution.last_heard = utc(heard.get(execution.id))
            if own:
                # The stored status is set when the execution starts; the tasks say how it went.
                execution.status = run_status.from_task_statuses([task.status for task in own],
                                                                 heard.get(execution.id))
        for data_set in snapshot.sets:
            snapshot.rows[data_set.id] = self._rows(snapshot, data_set, marks, exec_ids)
        _, rows = self.store.read(
            "SELECT id, task_id, exec_id, path, format, size_bytes, sha256, created_at FROM model_file "
            f"WHERE exec_id IN ({marks}) ORDER BY id", exec_ids)
        for exec_id, actions in steering_actions.log(self.store, exec_ids).items():
            snapshot.steering += [{**action, "exec_id": exec_id, "requested_at": utc(action["requested_at"]),
                                   "applied_at": utc(action["applied_at"])} for action in actions]
        snapshot.steering.sort(key=lambda action: action["id"])
        snapshot.model_files = [ModelFile(id=row[0], task_id=row[1], exec_id=row[2], path=row[3],
                                          format=row[4], size_bytes=row[5], sha256=row[6],
                                          created_at=utc(row[7])) for row in rows]

    def _fill_missing_times(self, tasks, marks, exec_ids):
        """A task message may carry its times only in `performances`; use them when the task has none."""
        if all(task.start_time and task.end_time for task in tasks):
            return
        _, rows = self.store.read(
            "SELECT p.task_id, MIN(p.start_time), MAX(p.end_time) FROM performance p "
            f"JOIN task t ON t.id = p.task_id WHERE t.exec_id IN ({marks}) GROUP BY p.task_id", exec_ids)
        times = {row[0]: (utc(row[1]), utc(row[2])) for row in rows}
        for task in tasks:
            start, end = times.get(task.id, (None, None))
            task.start_time = task.start_time or start
            task.end_time = task.end_time or end

    def _rows(self, snapshot, data_set, marks, exec_ids):
        schema = snapshot.dataflow["schema_name"]
        columns = self.store.table_columns(schema, data_set.table_name)
        if not columns:
            return []
        task_columns = {}
        for dt_id in data_set.producers + data_set.consumers:
            transformation = snapshot.transformation(dt_id)
            column = f"{transformation.tag.lower()}_task_id" if transformation else None
            if column in columns:
                task_columns[dt_id] = column
        attributes = [attribute for attribute in data_set.attributes if attribute.column_name in columns]
        if not task_columns:
            logger.warning("set %s has no task columns; its rows cannot be tied to an execution", data_set.tag)
            return []
        selected = ["id"] + list(task_columns.values()) + [attribute.column_name for attribute in attributes]
        conditions = [f"{quote(column)} IN (SELECT id FROM task WHERE exec_id IN ({marks}))"
                      for column in task_columns.values()]
        sql = (f"SELECT {', '.join(quote(name) for name in selected)} "
               f"FROM {qualified(schema, data_set.table_name)} WHERE {' OR '.join(conditions)}")
        params = list(exec_ids) * len(conditions)
        _, rows = self.store.read(sql + " ORDER BY id", params)
        non_finite = self._non_finite(schema, data_set.table_name)
        result = []
        for row in rows:
            row_id = row[0]
            links = {dt_id: row[1 + index] for index, dt_id in enumerate(task_columns)
                     if row[1 + index] is not None}
            values = {}
            for index, attribute in enumerate(attributes):
                value = row[1 + len(task_columns) + index]
                if value is None and (row_id, attribute.column_name) in non_finite:
                    value = float("nan")
                values[attribute.name] = value
            result.append(Row(set_id=data_set.id, id=row_id, values=values, task_ids=links))
        return result

    def _non_finite(self, schema, table):
        _, rows = self.store.read(
            "SELECT row_id, column_name, value FROM non_finite_value WHERE table_schema = ? AND table_name = ?",
            [schema, table])
        return {(row[0], row[1]): row[2] for row in rows}


def _json_object(text):
    if not text:
        return {}
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}
