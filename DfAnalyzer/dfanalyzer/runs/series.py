"""A run's per-epoch values: downsampled curves for charts, and raw rows for tables and live updates."""
from dfanalyzer import reading
from dfanalyzer.errors import InvalidInput
from dfanalyzer.identifiers import quote
from dfanalyzer.runs import status as run_status
from dfanalyzer.runs.downsampling import min_max_sql
from dfanalyzer.runs.training_sets import EPOCHS, TrainingSets

DEFAULT_POINTS = 1000
MAX_POINTS = 20_000
MAX_ROWS = 10_000


class EpochSeries:
    """The oTrainingModel rows of one execution.

    Args:
        store: a `dfanalyzer.store.Store`.
        execution: execution tag.
        dataflow: dataflow tag, needed when several dataflows use the execution tag.
        sets: the `TrainingSets` of the run's dataflow when the caller has them already.

    Example:
        series = EpochSeries(store, "alexnet-1")
        series.curves(points=1000)["series"]["loss"]   # [[epoch, value], ...]
        series.rows(after=0)                            # every row, with a cursor for the next call
    """

    def __init__(self, store, execution, dataflow=None, sets=None):
        self.store = store
        self.exec_id, _, self.execution, self.dataflow = reading.find_execution(store, execution, dataflow)
        self.sets = sets if sets is not None and sets.tag == self.dataflow else TrainingSets(store, self.dataflow)
        self.epochs = self.sets.get(EPOCHS)

    def curves(self, points=DEFAULT_POINTS, start=None, end=None, metrics=None):
        """{"series": {metric: [[epoch, value], ...]}} with at most about `points` points per metric
        (min/max per bucket), between epochs `start` and `end` when given."""
        if not 2 <= points <= MAX_POINTS:
            raise InvalidInput(f"points must be 2..{MAX_POINTS}, got {points}")
        known = self.sets.metric_columns()
        metrics = metrics or known
        unknown = [metric for metric in metrics if metric not in known]
        if unknown:
            raise InvalidInput(f"metrics {', '.join(unknown)} are not recorded; known: {', '.join(known)}")
        answer = {"execution": self.execution, "dataflow": self.dataflow, "status": self.status(),
                  "metrics": known, "total": 0, "downsampled": False, "series": {}, "cursor": self.extent()[1]}
        if self.epochs is None or not metrics:
            return answer
        where, params = "", []
        if start is not None:
            where += " AND s.epoch >= ?"
            params.append(float(start))
        if end is not None:
            where += " AND s.epoch <= ?"
            params.append(float(end))
        tasks = self._task_ids()
        if not tasks:
            return answer
        table, task = self.epochs.table, quote(self.epochs.task_column)
        in_tasks = f"s.{task} IN ({', '.join('?' * len(tasks))})"
        _, counted = self.store.read(f"SELECT COUNT(*) FROM {table} s WHERE {in_tasks} {where}", tasks + params)
        answer["total"] = counted[0][0]
        answer["downsampled"] = answer["total"] > points
        if answer["downsampled"]:
            for metric in metrics:
                sql = min_max_sql(table, self.epochs.task_column, len(tasks), metric, points, where)
                answer["series"][metric] = [list(row) for row in self.store.read(sql, tasks + params)[1]]
            return answer
        names = ", ".join(f"s.{quote(column)}" for column in ["epoch"] + metrics)
        _, rows = self.store.read(f"SELECT {names} FROM {table} s WHERE {in_tasks} {where} ORDER BY s.epoch, s.id",
                                  tasks + params)
        for index, metric in enumerate(metrics, start=1):
            answer["series"][metric] = [[row[0], row[index]] for row in rows if row[index] is not None]
        return answer

    def _task_ids(self):
        _, rows = self.store.read("SELECT id FROM task WHERE exec_id = ? ORDER BY id", [self.exec_id])
        return [row[0] for row in rows]

    def rows(self, after=None, offset=0, limit=100):
        """{"columns", "rows", "total", "cursor", "status"}: the epochs in order, a page of them, or
        (with `after`, a cursor of an earlier answer) only the rows stored since."""
        if not 1 <= limit <= MAX_ROWS or offset < 0:
            raise InvalidInput(f"limit must be 1..{MAX_ROWS} and offset >= 0")
        answer = {"execution": self.execution, "columns": [], "rows": [], "total": 0, "cursor": 0,
                  "status": self.status()}
        if self.epochs is None:
            return answer
        columns = [column for column in self.epochs.columns if column != "timestamp"]
        if "epoch" in columns:
            columns = ["epoch"] + [column for column in columns if column != "epoch"]
        where, params = "AND t.exec_id = ?", [self.sets.df_id, self.exec_id]
        if after is not None:
            where += " AND s.id > ?"
            params.append(int(after))
        sql = self.epochs.rows_of_executions(["id"] + columns, where, "s.epoch, s.id")
        if after is None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"   # ints checked above, not user text
        _, rows = self.store.read(sql, params)
        answer["columns"] = columns
        answer["total"], last = self.extent()
        answer["cursor"] = last if after is None else max([row[1] for row in rows], default=int(after))
        answer["rows"] = [row[2:] for row in rows]
        return answer

    def extent(self):
        """(rows stored, the cursor after the last of them) of this run's epochs."""
        if self.epochs is None:
            return 0, 0
        table, task = self.epochs.table, quote(self.epochs.task_column)
        _, rows = self.store.read(
            f"SELECT COUNT(*), MAX(s.id) FROM {table} s JOIN task t ON s.{task} = t.id WHERE t.exec_id = ?",
            [self.exec_id])
        return rows[0][0], rows[0][1] or 0

    def status(self):
        return run_status.of_execution(self.store, self.exec_id)[0]
