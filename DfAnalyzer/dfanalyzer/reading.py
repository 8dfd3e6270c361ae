"""Catalog reads: dataflows with their specification, executions with their tasks."""
import json

from dfanalyzer.errors import NotFound
from dfanalyzer.identifiers import qualified, quote
from dfanalyzer.runs import status as run_status


def _records(columns, rows):
    return [dict(zip(columns, row)) for row in rows]


def list_dataflows(store):
    columns, rows = store.read(
        "SELECT d.tag, d.schema_name, d.created_at, d.updated_at, "
        "(SELECT COUNT(*) FROM dataflow_execution e WHERE e.df_id = d.id) AS executions "
        "FROM dataflow d ORDER BY d.id")
    return _records(columns, rows)


def dataflow_specification(store, tag):
    """The stored specification of a dataflow: transformations, sets, attributes and links."""
    _, rows = store.read("SELECT id, tag, schema_name FROM dataflow WHERE LOWER(tag) = ?", [str(tag).lower()])
    if not rows:
        raise NotFound(f"dataflow {tag!r} is unknown; `dfanalyzer query \"SELECT tag FROM dataflow\"` lists them")
    df_id, df_tag, schema = rows[0]
    _, transformations = store.read("SELECT id, tag FROM data_transformation WHERE df_id = ? ORDER BY id", [df_id])
    _, sets = store.read("SELECT id, tag, table_name FROM data_set WHERE df_id = ? ORDER BY id", [df_id])
    _, attributes = store.read(
        "SELECT a.ds_id, a.name, a.column_name, a.type FROM attribute a JOIN data_set s ON a.ds_id = s.id "
        "WHERE s.df_id = ? ORDER BY a.ds_id, a.ordinal", [df_id])
    _, links = store.read("SELECT ds_id, previous_dt_id, next_dt_id FROM data_dependency WHERE df_id = ? ORDER BY id", [df_id])
    dt_tags = {dt_id: dt_tag for dt_id, dt_tag in transformations}
    set_records = {}
    for ds_id, ds_tag, table in sets:
        set_records[ds_id] = {
            "tag": ds_tag, "table": f"{schema}.{table}",
            "attributes": [{"name": n, "column": c, "type": t} for d, n, c, t in attributes if d == ds_id],
            "produced_by": sorted({dt_tags[p] for d, p, _ in links if d == ds_id and p is not None}),
            "consumed_by": sorted({dt_tags[n] for d, _, n in links if d == ds_id and n is not None}),
        }
    return {
        "tag": df_tag,
        "schema": schema,
        "transformations": [
            {"tag": dt_tag,
             "input_sets": [s["tag"] for s in set_records.values() if dt_tag in s["consumed_by"]],
             "output_sets": [s["tag"] for s in set_records.values() if dt_tag in s["produced_by"]]}
            for _, dt_tag in transformations
        ],
        "sets": list(set_records.values()),
    }


def check_known_dataflow(store, tag):
    """Raises NotFound naming the known dataflows when no dataflow has the tag `tag`."""
    _, rows = store.read("SELECT tag FROM dataflow ORDER BY tag")
    known = [row[0] for row in rows]
    if str(tag).lower() not in {name.lower() for name in known}:
        shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
        raise NotFound(f"dataflow {tag!r} is unknown; known dataflows: {shown or 'none yet'}")


def list_executions(store, dataflow=None):
    sql = ("SELECT e.id, e.tag AS execution, d.tag AS dataflow, e.start_time, e.end_time, "
           f"COUNT(t.id) AS tasks, {run_status.task_counts_sql('t')}, l.last_heard "
           "FROM dataflow_execution e JOIN dataflow d ON e.df_id = d.id LEFT JOIN task t ON t.exec_id = e.id "
           "LEFT JOIN execution_liveness l ON l.exec_id = e.id")
    params = []
    if dataflow:
        check_known_dataflow(store, dataflow)
        sql += " WHERE LOWER(d.tag) = ?"
        params.append(str(dataflow).lower())
    sql += " GROUP BY e.id, e.tag, d.tag, e.start_time, e.end_time, l.last_heard ORDER BY e.id"
    _, rows = store.read(sql, params)
    records = []
    for row in rows:
        counts, heard = row[6:6 + run_status.COUNT_COLUMNS], row[6 + run_status.COUNT_COLUMNS]
        record = dict(zip(("execution", "dataflow", "start_time", "end_time", "tasks"), row[1:6]))
        record["status"] = run_status.from_counts(counts, heard)
        record["last_heard"] = heard
        records.append(record)
    return records


def find_execution(store, execution, dataflow=None):
    """(execution id, dataflow id, execution tag, dataflow tag) of an execution tag, which must
    name one execution (give `dataflow` when several dataflows use the same tag)."""
    sql = ("SELECT e.id, d.id, e.tag, d.tag FROM dataflow_execution e JOIN dataflow d ON e.df_id = d.id "
           "WHERE e.tag = ?")
    params = [str(execution)]
    if dataflow:
        sql += " AND LOWER(d.tag) = ?"
        params.append(str(dataflow).lower())
    _, rows = store.read(sql, params)
    if not rows:
        raise NotFound(f"execution {execution!r} is unknown; `dfanalyzer runs` lists the executions")
    if len(rows) > 1:
        raise NotFound(f"execution tag {execution!r} is used by dataflows {', '.join(r[3] for r in rows)}; "
                       "name the dataflow too (?dataflow=...)")
    return rows[0]


def execution_detail(store, execution, dataflow=None):
    exec_id, df_id, exec_tag, df_tag = find_execution(store, execution, dataflow)
    columns, rows = store.read(
        "SELECT t.id, t.identifier, t.sub_id, dt.tag AS transformation, t.status, t.start_time, t.end_time, "
        "t.workspace, t.resource, t.output_msg, t.error_msg "
        "FROM task t JOIN data_transformation dt ON t.dt_id = dt.id WHERE t.exec_id = ? ORDER BY t.id", [exec_id])
    tasks = _records(columns, rows)
    _, dependencies = store.read(
        "SELECT d.task_id, d.depends_on_task_id FROM task_dependency d JOIN task t ON d.task_id = t.id "
        "WHERE t.exec_id = ?", [exec_id])
    _, set_rows = store.read(
        "SELECT s.tag, s.table_name, dt.tag FROM data_set s JOIN data_dependency dd ON dd.ds_id = s.id "
        "JOIN data_transformation dt ON dt.id = dd.previous_dt_id OR dt.id = dd.next_dt_id WHERE s.df_id = ?", [df_id])
    schema = store.read("SELECT schema_name FROM dataflow WHERE id = ?", [df_id])[1][0][0]
    by_transformation = {}
    for set_tag, table, dt_tag in set_rows:
        by_transformation.setdefault(dt_tag, {})[set_tag] = table
    for task in tasks:
        task["depends_on"] = [d for t, d in dependencies if t == task["id"]]
        task["sets"] = {}
        for set_tag, table in sorted(by_transformation.get(task["transformation"], {}).items()):
            column = task["transformation"].lower() + "_task_id"
            count = store.read(f"SELECT COUNT(*) FROM {qualified(schema, table)} WHERE {quote(column)} = ?",
                               [task["id"]])[1][0][0]
            task["sets"][set_tag] = count
    _, agents = store.read("SELECT kind, name, properties FROM agent WHERE exec_id = ? ORDER BY id", [exec_id])
    heard = run_status.last_heard_of(store, [exec_id]).get(exec_id)
    return {
        "execution": exec_tag, "dataflow": df_tag,
        "status": run_status.from_task_statuses([t["status"] for t in tasks], heard), "last_heard": heard,
        "agents": [{"kind": k, "name": n, "properties": json.loads(p or "{}")} for k, n, p in agents],
        "tasks": tasks,
    }


def set_row_counts(store, tag):
    """{set tag: number of rows stored} of a dataflow's sets."""
    specification = dataflow_specification(store, tag)
    counts = {}
    for data_set in specification["sets"]:
        table = data_set["table"].split(".", 1)[1]
        if store.table_columns(specification["schema"], table):
            counts[data_set["tag"]] = store.read(f"SELECT COUNT(*) FROM {qualified(specification['schema'], table)}")[1][0][0]
        else:
            counts[data_set["tag"]] = 0
    return counts
