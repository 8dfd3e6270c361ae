"""Provenance as pandas DataFrames: the runs table, every epoch of a run, SQL, comparisons."""
import warnings

import pandas

from keras_prov.notebook.source import ReadError, Source

RUNS_PAGE = 5000  # the runs table's largest page (dfanalyzer.runs.table_view.MAX_PAGE)
EPOCHS_PAGE = 10_000  # the largest page of /epochs (dfanalyzer.runs.series.MAX_ROWS)
RUN_COLUMNS = ["execution", "status", "start", "duration", "epochs"]


def runs(dataflow=None, mode="last", epoch=None, url=None):
    """Every run of a dataflow as a DataFrame, one row per run, newest first: the columns of the
    runs page and of GET /api/v1/runs/table, all of them.

    Args:
        dataflow: the dataflow tag; default: the dataflow of the newest run.
        mode: the metric columns (`m:<metric>`) hold the "last" value, the "best" one, or the
            value at `epoch` ("epoch").
        epoch: the epoch of mode="epoch".
        url: "http://host:port" or "embedded:/dir"; default: where this process records (DFA_URL).

    Returns:
        DataFrame with the columns execution, status, start, duration, epochs, `hp:<name>` (the
        hyperparameters), `m:<metric>` and `test:<metric>`; `attrs["dataflow"]` names the dataflow.

    Example:
        keras_prov.runs(mode="best").sort_values("m:val_accuracy", ascending=False).head()
    """
    source = Source(url)
    params = {"dataflow": dataflow, "mode": mode, "epoch": epoch, "sort": "start", "desc": "true",
              "limit": RUNS_PAGE}
    try:
        page = source.get("/api/v1/runs/table", **params)
    except ReadError as error:
        if dataflow is None and error.status == 404:  # nothing recorded yet
            return pandas.DataFrame(columns=RUN_COLUMNS)
        raise
    keys = [column["key"] for column in page["all_columns"]]
    rows = []
    while True:
        if [column["key"] for column in page["columns"]] != keys:
            page = source.get("/api/v1/runs/table", **params, offset=len(rows), cols=",".join(keys))
        rows += page["rows"]
        if not page["rows"] or len(rows) >= page["total"]:
            break
        page = source.get("/api/v1/runs/table", **params, offset=len(rows), cols=",".join(keys))
    frame = pandas.DataFrame([[row.get(key) for key in keys] for row in rows], columns=keys)
    frame["start"] = pandas.to_datetime(frame["start"])
    frame.attrs.update(dataflow=page["dataflow"], mode=mode, epoch=epoch)
    return frame


def epochs(run, dataflow=None, url=None):
    """Every epoch a run recorded (oTrainingModel), in order, as a DataFrame.

    Args:
        run: an execution tag, a `keras_prov.run(...)`, a model that records, or what its `fit` returned.
        dataflow: the run's dataflow, when several dataflows use its tag.
        url: as for `runs`.

    Example:
        keras_prov.epochs(history).plot(x="epoch", y=["loss", "val_loss"])
    """
    execution, dataflow, url = execution_of(run, dataflow, url)
    source = Source(url)
    path = f"/api/v1/executions/{_path_part(execution)}/epochs"
    answer = source.get(path, dataflow=dataflow, limit=EPOCHS_PAGE)
    columns, rows = answer["columns"], list(answer["rows"])
    while len(rows) < answer["total"]:
        answer = source.get(path, dataflow=dataflow, limit=EPOCHS_PAGE, offset=len(rows))
        if not answer["rows"]:
            break
        rows += answer["rows"]
    frame = pandas.DataFrame(rows, columns=columns)
    frame.attrs.update(execution=execution, status=answer["status"])
    return frame


def query(sql, limit=1000, url=None):
    """A read-only SQL query (SELECT or WITH) as a DataFrame, with the service's own checks and
    limits: at most `limit` rows (a warning says when there were more), stopped after the
    service's query time limit.

    Example:
        keras_prov.query('SELECT epoch, loss, val_loss FROM "digits".otrainingmodel ORDER BY epoch')
    """
    answer = Source(url).post("/api/v1/query", {"sql": sql, "limit": int(limit)})
    frame = pandas.DataFrame(answer["rows"], columns=answer["columns"])
    frame.attrs["truncated"] = answer["truncated"]
    if answer["truncated"]:
        warnings.warn(f"the query has more than {limit} rows; only the first {limit} are here "
                      "(raise limit=... to get more)", stacklevel=2)
    return frame


def compare(runs, dataflow=None, url=None):
    """Runs side by side, as the compare page shows them: one row per hyperparameter, learning-rate
    adaptation, layer, final metric and test metric; one column per run, and `differs`.

    Args:
        runs: execution tags (or runs, models, fit results), at least one.
        dataflow: their dataflow, when their tags are ambiguous.
        url: as for `runs`.

    Returns:
        DataFrame indexed by (group, name); `attrs["series"]` holds every run's curves per metric.

    Example:
        table = keras_prov.compare(["digits-1", "digits-2"])
        table[table.differs]
    """
    if isinstance(runs, (str, bytes)) or not hasattr(runs, "__iter__"):
        runs = [runs]
    executions = []
    for run in runs:
        execution, run_dataflow, run_url = execution_of(run, dataflow, url)
        executions.append(execution)
        dataflow, url = dataflow or run_dataflow, url or run_url
    answer = Source(url).get("/api/v1/compare", runs=",".join(executions), dataflow=dataflow)
    tags = [run["execution"] for run in answer["runs"]]
    frame = pandas.DataFrame([row["values"] + [row["differs"]] for row in answer["rows"]],
                             columns=tags + ["differs"],
                             index=pandas.MultiIndex.from_tuples([(row["group"], row["name"]) for row in answer["rows"]],
                                                                 names=["group", "name"]))
    frame.attrs.update(series=answer["series"], runs=answer["runs"])
    return frame


def execution_of(run, dataflow=None, url=None):
    """(execution tag, dataflow tag or None, url or None) of what a user calls a run: a tag, a
    `Run`, a model that records, the History its fit returned, or a `keras_prov.start_run(...)`."""
    from keras_prov.notebook.inline_run import Run

    if isinstance(run, str):
        return run, dataflow, url
    found = getattr(run, "provenance_run", None)
    if callable(found):
        found = found()
    if isinstance(run, Run):
        found = run
    exec_tag = getattr(run, "exec_tag", None)
    if found is None and isinstance(exec_tag, str):  # keras_prov.start_run(...) and other recorders
        return exec_tag, dataflow or getattr(run, "dataflow_tag", None), url
    if not isinstance(found, Run):
        raise TypeError(f"{run!r} names no run: give an execution tag, keras_prov.run(...), a model that records "
                        "provenance, or what its fit returned")
    return found.execution, dataflow or found.dataflow, url or found.url


def _path_part(text):
    from urllib.parse import quote

    return quote(str(text), safe="")
