"""The runs table: one row per execution of a dataflow, with hyperparameters and metrics as columns."""
import datetime
import math

from dfanalyzer.errors import InvalidInput
from dfanalyzer.runs import status as run_status
from dfanalyzer.runs.training_sets import (EPOCHS, HYPERPARAMETERS, TEST_RESULTS, TRAINING_TRANSFORMATION, TrainingSets,
                                          lower_is_better)

METRIC_MODES = ("last", "best", "epoch")
BASE_COLUMNS = [
    {"key": "execution", "label": "run", "group": "run", "type": "text"},
    {"key": "status", "label": "status", "group": "run", "type": "text"},
    {"key": "start", "label": "start", "group": "run", "type": "time"},
    {"key": "duration", "label": "duration (s)", "group": "run", "type": "number"},
    {"key": "epochs", "label": "epochs", "group": "run", "type": "number"},
]


class RunsTable:
    """Every execution of a dataflow as a row: status, start, duration, epochs done, the
    iTrainingModel hyperparameters (`hp:<name>`), the epoch metrics (`m:<name>`) as the last
    value, the best value or the value at one epoch, and the test metrics (`test:<name>`).

    Args:
        store: a `dfanalyzer.store.Store`.
        dataflow: dataflow tag.

    Example:
        table = RunsTable(store, "alexnet").build(mode="best")
        table["columns"], table["rows"]
    """

    def __init__(self, store, dataflow):
        self.store = store
        self.sets = TrainingSets(store, dataflow)

    def build(self, mode="last", epoch=None):
        """{"columns": [...], "rows": [{key: value}]}, rows newest first."""
        if mode not in METRIC_MODES:
            raise InvalidInput(f"metric mode {mode!r} is unknown; use one of {', '.join(METRIC_MODES)}")
        if mode == "epoch" and epoch is None:
            raise InvalidInput("metric mode 'epoch' needs the epoch: add &epoch=K")
        rows = self._executions()
        columns = list(BASE_COLUMNS)
        columns += self._add_values(rows, HYPERPARAMETERS, "hp", "hyperparameter", self._hyperparameter_columns())
        columns += self._add_stages(rows)
        columns += self._add_metrics(rows, mode, epoch)
        columns += self._add_values(rows, TEST_RESULTS, "test", "test", self.sets.test_columns(), label_prefix="test ")
        return {"dataflow": self.sets.tag, "columns": columns, "rows": list(rows.values())}

    def _executions(self):
        _, found = self.store.read(
            "SELECT e.id, e.tag, e.start_time, MIN(t.start_time), MAX(t.end_time), l.last_heard, "
            f"{run_status.task_counts_sql('t')} "
            "FROM dataflow_execution e LEFT JOIN task t ON t.exec_id = e.id "
            "LEFT JOIN execution_liveness l ON l.exec_id = e.id WHERE e.df_id = ? "
            # A tuner's search is an execution of its own (its trials' runs are the rows)
            "AND NOT EXISTS (SELECT 1 FROM task st JOIN data_transformation sd ON st.dt_id = sd.id "
            "WHERE st.exec_id = e.id AND LOWER(sd.tag) = 'search') "
            "GROUP BY e.id, e.tag, e.start_time, l.last_heard ORDER BY e.id DESC", [self.sets.df_id])
        now = datetime.datetime.now()
        rows = {}
        for exec_id, tag, exec_start, first_task, last_end, heard, *counts in found:
            start = first_task or exec_start
            status = run_status.from_counts(counts, heard)
            end = now if status == run_status.RUNNING else (heard if status == run_status.LOST else last_end)
            # a time outside the years 1-9999 arrives as text (store/engine.py): shown, not subtracted
            timed = isinstance(start, datetime.datetime) and isinstance(end, datetime.datetime)
            duration = round((end - start).total_seconds(), 1) if timed else None
            rows[exec_id] = {"execution": tag, "status": status, "start": start, "duration": duration, "epochs": 0,
                             "last_heard": heard}
        return rows

    def _add_stages(self, rows):
        """`stages`: the fits of each run (its TrainingModel tasks), as a column only when a run has
        more than one (a model compiled and fitted again, as in fine-tuning)."""
        _, counts = self.store.read(
            "SELECT t.exec_id, COUNT(*) FROM task t JOIN data_transformation dt ON t.dt_id = dt.id "
            "WHERE t.df_id = ? AND dt.tag = ? GROUP BY t.exec_id", [self.sets.df_id, TRAINING_TRANSFORMATION])
        stages = {exec_id: count for exec_id, count in counts if exec_id in rows}
        if not any(count > 1 for count in stages.values()):
            return []
        for exec_id, row in rows.items():
            row["stages"] = stages.get(exec_id, 0)
        return [{"key": "stages", "label": "stages", "group": "run", "type": "number"}]

    def _hyperparameter_columns(self):
        hyperparameters = self.sets.get(HYPERPARAMETERS)
        return hyperparameters.columns if hyperparameters else []

    def _add_values(self, rows, set_tag, prefix, group, columns, label_prefix=""):
        """Adds the last row an execution stored in `set_tag` as `<prefix>:<column>` values."""
        data_set = self.sets.get(set_tag)
        if data_set is None or not columns:
            return []
        _, found = self.store.read(data_set.rows_of_executions(columns), [self.sets.df_id])
        kinds = dict(data_set.attributes)
        for exec_id, *values in found:
            if exec_id in rows:
                rows[exec_id].update({f"{prefix}:{c}": v for c, v in zip(columns, values)})
        return [{"key": f"{prefix}:{c}", "label": label_prefix + c, "group": group,
                 "type": "number" if kinds.get(c) == "NUMERIC" else "text"} for c in columns]

    def _add_metrics(self, rows, mode, epoch):
        epochs = self.sets.get(EPOCHS)
        metrics = self.sets.metric_columns()
        if epochs is None:
            return []
        params = [self.sets.df_id]
        task = epochs.task_column
        _, counts = self.store.read(
            f"SELECT t.exec_id, COUNT(*) FROM {epochs.table} s JOIN task t ON s.\"{task}\" = t.id "
            "WHERE t.df_id = ? GROUP BY t.exec_id", params)
        for exec_id, count in counts:
            if exec_id in rows:
                rows[exec_id]["epochs"] = count
        if not metrics:
            return []
        names = [f'"{m}"' for m in metrics]
        if mode == "best":
            aggregates = ", ".join(f"{'MIN' if lower_is_better(m) else 'MAX'}(s.{n})" for m, n in zip(metrics, names))
            sql = (f"SELECT t.exec_id, {aggregates} FROM {epochs.table} s JOIN task t ON s.\"{task}\" = t.id "
                   "WHERE t.df_id = ? GROUP BY t.exec_id")
        elif mode == "last":
            sql = epochs.rows_of_executions(metrics, where=(
                f"AND s.id IN (SELECT MAX(s2.id) FROM {epochs.table} s2 JOIN task t2 ON s2.\"{task}\" = t2.id "
                "WHERE t2.df_id = ? GROUP BY t2.exec_id)"))
            params = [self.sets.df_id, self.sets.df_id]
        else:
            sql = epochs.rows_of_executions(metrics, where="AND s.epoch = ?")
            params = [self.sets.df_id, epoch]
        _, found = self.store.read(sql, params)
        for exec_id, *values in found:
            if exec_id in rows:
                rows[exec_id].update({f"m:{m}": v for m, v in zip(metrics, values)})
        suffix = {"last": "", "best": " (best)", "epoch": f" @{epoch:g}" if epoch is not None else ""}[mode]
        return [{"key": f"m:{m}", "label": m + suffix, "group": "metric", "type": "number"} for m in metrics]


def differing_columns(columns, rows):
    """Keys of the columns whose value is not the same in every row (run columns always kept)."""
    kept = []
    for column in columns:
        key = column["key"]
        if column["group"] == "run" or len({_comparable(row.get(key)) for row in rows}) > 1:
            kept.append(key)
    return kept


def _comparable(value):
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value
