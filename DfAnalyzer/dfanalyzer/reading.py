"""Catalog reads: dataflows with their specification, executions with their tasks."""
import json

from dfanalyzer.errors import NotFound
from dfanalyzer.identifiers import qualified, quote


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
    sql = ("SELECT e.tag AS execution, d.tag AS dataflow, e.start_time, e.end_time, "
           "(SELECT COUNT(*) FROM task t WHERE t.exec_id = e.id) AS tasks, "
           "(SELECT COUNT(*) FROM task t WHERE t.exec_id = e.id AND t.status = 'RUNNING') AS running, "
           "(SELECT COUNT(*) FROM task t WHERE t.exec_id = e.id AND t.status IN ('FAILED', 'ABORTED', 'FINISHED_WITH_ERROR')) AS failed, "
           "(SELECT COUNT(*) FROM task t WHERE t.exec_id = e.id AND t.status = 'PRUNED') AS pruned "
           "FROM dataflow_execution e JOIN dataflow d ON e.df_id = d.id")
    params = []
    if dataflow:
        check_known_dataflow(store, dataflow)
        sql += " WHERE LOWER(d.tag) = ?"
        params.append(str(dataflow).lower())
    columns, rows = store.read(sql + " ORDER BY e.id", params)
    records = _records(columns, rows)
    for record in records:
        record["status"] = execution_status(record.pop("running"), record.pop("failed"), record.pop("pruned"))
    return records


def execution_status(running_tasks, failed_tasks, pruned_tasks=0):
    """RUNNING while a task runs; then FAILED if one failed, PRUNED if a tuner pruned one, else FINISHED."""
    if running_tasks:
        return "RUNNING"
    if failed_tasks:
        return "FAILED"
    return "PRUNED" if pruned_tasks else "FINISHED"


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
    running = sum(1 for t in tasks if t["status"] == "RUNNING")
    failed = sum(1 for t in tasks if t["status"] in ("FAILED", "ABORTED", "FINISHED_WITH_ERROR"))
    pruned = sum(1 for t in tasks if t["status"] == "PRUNED")
    return {
        "execution": exec_tag, "dataflow": df_tag, "status": execution_status(running, failed, pruned),
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
