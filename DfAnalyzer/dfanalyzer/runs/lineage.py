"""What went into a run and what it came from, as keras_prov records it: its data (iData,
iTestData), code and environment (iCodeEnvironment, iSourceText), the weights it started from and
trained (oModelWeights), and the per-step and system series (oStepMetrics, oSystemMetrics).

Data and models are matched across runs by digest, in every dataflow that has the set: the same
data digest is the same data entity, and a run whose initial weights digest is another run's
trained weights digest derives from that run's model.
"""
import re

from dfanalyzer import reading
from dfanalyzer.errors import InvalidInput, NotFound
from dfanalyzer.identifiers import quote
from dfanalyzer.runs.downsampling import min_max_sql
from dfanalyzer.runs.training_sets import NOT_METRICS, TrainingSets

DATA = "idata"
TEST_DATA = "itestdata"
CODE = "icodeenvironment"
TEXTS = "isourcetext"
WEIGHTS = "omodelweights"
STEPS = "ostepmetrics"
SYSTEM = "osystemmetrics"
DATA_STEPS = "idatasteps"
TEST_DATA_STEPS = "itestdatasteps"
# which outputs of a DLProv step an input of a fit or an evaluation comes from
STEP_OUTPUTS = {"training": {"x": "otrainset", "y": "otrainset", "validation": "ovalset"},
                "evaluation": {"x": "otestset", "y": "otestset"}}
STEP_NOT_METRICS = NOT_METRICS | {"step", "global_step"}
SYSTEM_NOT_METRICS = NOT_METRICS | {"epoch"}
MAX_POINTS = 20_000
DIGEST = re.compile(r"^[0-9a-f]{64}$")


def checked_digest(digest):
    digest = str(digest or "").lower()
    if not DIGEST.fullmatch(digest):
        raise InvalidInput(f"{digest!r} is not a SHA-256 digest: give the 64 hexadecimal characters")
    return digest


class RunLineage:
    """The lineage of one run.

    Args:
        store: a `dfanalyzer.store.Store`.

    Example:
        lineage = RunLineage(store).read("alexnet-1", dataflow="alexnet")
        lineage["data"][0]["sha256"], lineage["derived_from"]
    """

    def __init__(self, store):
        self.store = store
        self._sets = {}

    def sets_of(self, dataflow):
        if dataflow not in self._sets:
            self._sets[dataflow] = TrainingSets(self.store, dataflow)
        return self._sets[dataflow]

    def read(self, execution, dataflow=None, sets=None):
        exec_id, _, exec_tag, df_tag = reading.find_execution(self.store, execution, dataflow)
        if sets is not None and sets.tag == df_tag:
            self._sets[df_tag] = sets
        sets = self.sets_of(df_tag)
        data = [dict(row, use="training") for row in self._rows(sets, DATA, exec_id)]
        data += [dict(row, use="evaluation") for row in self._rows(sets, TEST_DATA, exec_id)]
        for row in data:
            row["runs_using"] = f"/api/v1/data/{row['sha256']}/runs" if row.get("sha256") else None
        code = self._rows(sets, CODE, exec_id)
        weights = self._rows(sets, WEIGHTS, exec_id)
        texts = self._texts(sets, df_tag, code[-1] if code else {})
        own = {row.get("trained_weights_sha256") for row in weights}
        derived_from, derived_into = [], []
        for row in weights:
            initial = row.get("initial_weights_sha256")
            if initial and initial not in own:
                derived_from += [run for run in self.runs_with(WEIGHTS, "trained_weights_sha256", initial)
                                 if run["execution"] != exec_tag or run["dataflow"] != df_tag]
        for digest in own - {None}:
            derived_into += [run for run in self.runs_with(WEIGHTS, "initial_weights_sha256", digest)
                             if run["execution"] != exec_tag or run["dataflow"] != df_tag]
        steps = [dict(row, use="training") for row in self._rows(sets, DATA_STEPS, exec_id)]
        steps += [dict(row, use="evaluation") for row in self._rows(sets, TEST_DATA_STEPS, exec_id)]
        for step in steps:
            step["outputs"] = self.step_outputs(step)
        return {"execution": exec_tag, "dataflow": df_tag, "data": data, "data_steps": steps,
                "code": code[-1] if code else {},
                "code_per_fit": code, "texts": texts, "weights": weights, "derived_from": _unique(derived_from),
                "derived_into": _unique(derived_into), "steps": sets.get(STEPS) is not None and self._count(
                    sets, STEPS, exec_id) > 0, "system": sets.get(SYSTEM) is not None and self._count(
                    sets, SYSTEM, exec_id) > 0}

    def step_outputs(self, step):
        """[{"set", "row", "values"}] of what a DLProv step (an iDataSteps row) produced."""
        try:
            exec_id, _, _, df_tag = reading.find_execution(self.store, step.get("step_execution"),
                                                           step.get("step_dataflow"))
        except NotFound:
            return []
        _, tasks = self.store.read("SELECT id FROM task WHERE exec_id = ? AND identifier = ?",
                                   [exec_id, str(step.get("step_task"))])
        if not tasks:
            return []
        sets = self.sets_of(df_tag)
        transformation = str(step.get("step_transformation") or "").lower()
        produced = {data_set["tag"].lower() for data_set in reading.dataflow_specification(self.store, df_tag)["sets"]
                    if transformation in [t.lower() for t in data_set["produced_by"]]}
        producer = f"{transformation}_task_id"
        outputs = []
        for tag, data_set in sets.sets.items():
            if tag not in produced or data_set.task_column != producer:
                continue
            columns = data_set.columns
            _, rows = self.store.read(f"SELECT s.id, {', '.join(f's.{quote(c)}' for c in columns)} FROM "
                                      f"{data_set.table} s WHERE s.{quote(producer)} = ? ORDER BY s.id", [tasks[0][0]])
            outputs += [{"dataflow": df_tag, "set": data_set.tag, "row": row[0], "values": dict(zip(columns, row[1:]))}
                        for row in rows]
        return outputs

    def runs_with(self, set_tag, column, digest):
        """[{dataflow, execution, task, status}] of the rows of `set_tag` whose `column` is `digest`,
        in every dataflow that has that set."""
        found = []
        for dataflow in reading.list_dataflows(self.store):
            tag = dataflow["tag"]
            data_set = self.sets_of(tag).get(set_tag)
            if data_set is None or column not in data_set.columns:
                continue
            _, rows = self.store.read(
                f"SELECT e.tag, t.identifier, t.status FROM {data_set.table} s JOIN task t "
                f"ON s.{quote(data_set.task_column)} = t.id JOIN dataflow_execution e ON t.exec_id = e.id "
                f"WHERE s.{quote(column)} = ? ORDER BY s.id", [digest])
            found += [{"dataflow": tag, "execution": execution, "task": task, "status": status}
                      for execution, task, status in rows]
        return found

    def runs_using_data(self, digest):
        """Every run whose fit or evaluate used the data of this digest."""
        digest = checked_digest(digest)
        runs = [dict(run, use="training") for run in self.runs_with(DATA, "sha256", digest)]
        runs += [dict(run, use="evaluation") for run in self.runs_with(TEST_DATA, "sha256", digest)]
        return {"sha256": digest, "runs": runs}

    def text(self, dataflow, digest):
        """(kind, text) of a stored source text, or None."""
        digest = checked_digest(digest)
        reading.check_known_dataflow(self.store, dataflow)
        data_set = self.sets_of(str(dataflow).lower()).get(TEXTS)
        if data_set is None:
            return None
        _, rows = self.store.read(f"SELECT s.kind, s.text FROM {data_set.table} s WHERE s.sha256 = ? "
                                  "ORDER BY s.id LIMIT 1", [digest])
        return tuple(rows[0]) if rows else None

    def _texts(self, sets, df_tag, code):
        data_set = sets.get(TEXTS)
        wanted = [code.get(key) for key in ("script_sha256", "cell_sha256", "git_diff_sha256", "packages_sha256")]
        wanted = [digest for digest in wanted if digest and DIGEST.fullmatch(str(digest))]
        if data_set is None or not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        _, rows = self.store.read(
            f"SELECT s.sha256, s.kind, s.size_bytes, s.truncated FROM {data_set.table} s "
            f"WHERE s.sha256 IN ({marks}) ORDER BY s.id", wanted)
        texts, seen = [], set()
        for digest, kind, size, truncated in rows:
            if digest not in seen:
                seen.add(digest)
                texts.append({"sha256": digest, "kind": kind, "size_bytes": size, "truncated": truncated == "true",
                              "url": f"/api/v1/dataflows/{df_tag}/texts/{digest}"})
        return texts

    def _rows(self, sets, tag, exec_id):
        data_set = sets.get(tag)
        if data_set is None:
            return []
        columns = data_set.columns
        _, rows = self.store.read(data_set.rows_of_executions(["id"] + columns, where="AND t.exec_id = ?"),
                                  [sets.df_id, exec_id])
        return [dict(zip(columns, row[2:])) for row in rows]

    def _count(self, sets, tag, exec_id):
        data_set = sets.get(tag)
        _, rows = self.store.read(
            f"SELECT COUNT(*) FROM {data_set.table} s JOIN task t ON s.{quote(data_set.task_column)} = t.id "
            "WHERE t.exec_id = ?", [exec_id])
        return rows[0][0]


class RunSeries:
    """The per-step (oStepMetrics) or system (oSystemMetrics) rows of a run, downsampled like the
    epochs (the smallest and largest value of equal buckets).

    Args:
        store: a `dfanalyzer.store.Store`.
        execution, dataflow: the run.
        kind: "steps" (x is the global step, or the step within `epoch`: a number or "last") or
            "system" (x is the timestamp, ISO 8601 UTC).
    """

    def __init__(self, store, execution, dataflow=None, kind="steps"):
        self.store = store
        self.exec_id, _, self.execution, self.dataflow = reading.find_execution(store, execution, dataflow)
        self.sets = TrainingSets(store, self.dataflow)
        self.kind = kind
        self.data_set = self.sets.get(STEPS if kind == "steps" else SYSTEM)

    def metrics(self):
        if self.data_set is None:
            return []
        skipped = STEP_NOT_METRICS if self.kind == "steps" else SYSTEM_NOT_METRICS
        return [column for column in self.data_set.numeric_columns if column not in skipped]

    def curves(self, points=1000, epoch=None):
        """{"metrics", "series": {metric: [[x, value], ...]}, "total", "epochs": [first, last], "x"}."""
        if not 2 <= points <= MAX_POINTS:
            raise InvalidInput(f"points must be 2..{MAX_POINTS}, got {points}")
        answer = {"execution": self.execution, "dataflow": self.dataflow, "metrics": self.metrics(), "series": {},
                  "total": 0, "downsampled": False, "epochs": [None, None], "epoch": epoch,
                  "x": "step" if epoch is not None else ("global_step" if self.kind == "steps" else "timestamp")}
        if self.data_set is None:
            return answer
        _, tasks = self.store.read("SELECT id FROM task WHERE exec_id = ? ORDER BY id", [self.exec_id])
        tasks = [row[0] for row in tasks]
        if not tasks:
            return answer
        table, task_column = self.data_set.table, self.data_set.task_column
        in_tasks = f"s.{quote(task_column)} IN ({', '.join('?' * len(tasks))})"
        _, extent = self.store.read(f"SELECT MIN(s.epoch), MAX(s.epoch) FROM {table} s WHERE {in_tasks}", tasks)
        answer["epochs"] = list(extent[0]) if extent else [None, None]
        where, params = "", []
        if epoch is not None:
            # within the run's latest fit that has rows: step numbers start again with each fit
            _, last = self.store.read(f"SELECT MAX(s.{quote(task_column)}) FROM {table} s WHERE {in_tasks}", tasks)
            last_task = last[0][0] if last and last[0][0] is not None else -1
            if epoch == "last":
                _, latest = self.store.read(f"SELECT MAX(s.epoch) FROM {table} s WHERE s.{quote(task_column)} = ?",
                                            [last_task])
                epoch = answer["epoch"] = latest[0][0] if latest and latest[0][0] is not None else -1
            where = f" AND s.epoch = ? AND s.{quote(task_column)} = ?"
            params = [float(epoch), last_task]
        x = answer["x"]
        _, counted = self.store.read(f"SELECT COUNT(*) FROM {table} s WHERE {in_tasks} {where}", tasks + params)
        answer["total"] = counted[0][0]
        answer["downsampled"] = answer["total"] > points
        for metric in answer["metrics"]:
            if answer["downsampled"]:
                sql = min_max_sql(table, task_column, len(tasks), metric, points, where, x=x)
                answer["series"][metric] = [list(row) for row in self.store.read(sql, tasks + params)[1]]
            else:
                _, rows = self.store.read(
                    f"SELECT s.{quote(x)}, s.{quote(metric)} FROM {table} s WHERE {in_tasks} {where} "
                    f"AND s.{quote(metric)} IS NOT NULL ORDER BY s.id", tasks + params)
                answer["series"][metric] = [list(row) for row in rows]
        if self.kind == "system":
            _, marks = self.store.read(
                f"SELECT s.epoch, MIN(s.timestamp) FROM {table} s WHERE {in_tasks} "
                f"GROUP BY s.{quote(task_column)}, s.epoch ORDER BY 2", tasks)
            answer["epoch_marks"] = [list(row) for row in marks if row[0] is not None]
        return answer


def _unique(runs):
    seen, unique = set(), []
    for run in runs:
        key = (run["dataflow"], run["execution"], run["task"])
        if key not in seen:
            seen.add(key)
            unique.append(run)
    return unique
