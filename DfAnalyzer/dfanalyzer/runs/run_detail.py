"""One run as its page shows it: status, hyperparameters, layers, adaptations, steering actions,
early stopping, test results, agents, trained models, errors, and where its PROV documents and
graphs are."""
import json

from dfanalyzer import reading, steering_actions
from dfanalyzer.export import registry as document_formats
from dfanalyzer.identifiers import quote
from dfanalyzer.runs import status as run_status
from dfanalyzer.runs.training_sets import (ADAPTATIONS, EARLY_STOPPING, EPOCHS, HYPERPARAMETERS, LAYERS, TEST_RESULTS,
                                          TRAINING_TRANSFORMATION, TrainingSets)

# iTrainingModel columns shown per stage: what a fine-tuning recipe changes between its fits.
STAGE_HYPERPARAMETERS = ("learning_rate", "initial_epoch", "trainable_params")


class RunDetail:
    """What one execution recorded, read for people.

    Args:
        store: a `dfanalyzer.store.Store`.

    Example:
        detail = RunDetail(store).read("alexnet-1", dataflow="alexnet")
        detail["hyperparameters"]["learning_rate"], detail["test"]
    """

    def __init__(self, store):
        self.store = store

    def read(self, execution, dataflow=None, sets=None):
        """The run's details; `sets` (the `TrainingSets` of its dataflow) saves reading them again."""
        exec_id, _, exec_tag, df_tag = reading.find_execution(self.store, execution, dataflow)
        if sets is None or sets.tag != df_tag:
            sets = TrainingSets(self.store, df_tag)
        tasks = self._tasks(exec_id)
        heard = run_status.last_heard_of(self.store, [exec_id]).get(exec_id)
        status = run_status.from_task_statuses([t["status"] for t in tasks], heard)
        starts = [t["start_time"] for t in tasks if t["start_time"]]
        ends = [t["end_time"] for t in tasks if t["end_time"]]
        adaptation_set = next((sets.get(tag) for tag in ADAPTATIONS if sets.get(tag)), None)
        quoted = f"?dataflow={df_tag}"
        return {
            "execution": exec_tag, "dataflow": df_tag, "status": status, "last_heard": heard,
            "start": min(starts) if starts else None,
            "end": max(ends) if ends and status not in (run_status.RUNNING, run_status.LOST) else None,
            "errors": [{"transformation": t["transformation"], "status": t["status"], "error": t["error_msg"]}
                       for t in tasks if t["status"] in run_status.FAILED_TASK_STATUSES
                       or (t["error_msg"] and t["status"] != run_status.PRUNED)],
            "pruned": next((t["error_msg"] for t in tasks if t["status"] == run_status.PRUNED), None),
            "tasks": tasks,
            "hyperparameters": self._last_row(sets, HYPERPARAMETERS, exec_id),
            "layers": self._rows(sets, LAYERS, exec_id),
            "adaptations": self._rows(sets, adaptation_set.tag.lower(), exec_id) if adaptation_set else [],
            "early_stopping": self._last_row(sets, EARLY_STOPPING, exec_id),
            "steering": steering_actions.log(self.store, [exec_id])[exec_id],
            "test": self._last_row(sets, TEST_RESULTS, exec_id),
            "stages": self._stages(sets, exec_id),
            "metrics": sets.metric_columns(),
            "agents": self._agents(exec_id),
            "models": self._models(exec_id),
            "prov": [{"format": name, "url": f"/api/v1/executions/{exec_tag}/prov?format={name}&dataflow={df_tag}"}
                     for name in document_formats.known()],
            "graph": {"svg": f"/api/v1/executions/{exec_tag}/graph.svg{quoted}",
                      "png": f"/api/v1/executions/{exec_tag}/graph.png{quoted}"},
        }

    def _tasks(self, exec_id):
        columns, rows = self.store.read(
            "SELECT t.identifier, dt.tag AS transformation, t.status, t.start_time, t.end_time, t.error_msg "
            "FROM task t JOIN data_transformation dt ON t.dt_id = dt.id WHERE t.exec_id = ? ORDER BY t.id", [exec_id])
        return [dict(zip(columns, row)) for row in rows]

    def _stages(self, sets, exec_id):
        """The run's fits in order, one stage per TrainingModel task: its status, first and last
        epoch, and the hyperparameters that tell stages apart (learning rate, initial_epoch,
        trainable parameters) when recorded."""
        _, tasks = self.store.read(
            "SELECT t.id, t.status FROM task t JOIN data_transformation dt ON t.dt_id = dt.id "
            "WHERE t.exec_id = ? AND dt.tag = ? ORDER BY t.id", [exec_id, TRAINING_TRANSFORMATION])
        stages = {task_id: {"stage": number, "status": status, "first_epoch": None, "last_epoch": None, "epochs": 0}
                  for number, (task_id, status) in enumerate(tasks, start=1)}
        epochs = sets.get(EPOCHS)
        if stages and epochs is not None and "epoch" in epochs.columns:
            task = quote(epochs.task_column)
            _, found = self.store.read(
                f"SELECT s.{task}, MIN(s.epoch), MAX(s.epoch), COUNT(*) FROM {epochs.table} s "
                f"JOIN task t ON s.{task} = t.id WHERE t.exec_id = ? GROUP BY s.{task}", [exec_id])
            for task_id, first, last, count in found:
                if task_id in stages:
                    stages[task_id].update(first_epoch=first, last_epoch=last, epochs=count)
        hyperparameters = sets.get(HYPERPARAMETERS)
        shown = [c for c in STAGE_HYPERPARAMETERS if hyperparameters is not None and c in hyperparameters.columns]
        if stages and shown:
            task = quote(hyperparameters.task_column)
            _, found = self.store.read(
                f"SELECT s.{task}, {', '.join('s.' + quote(c) for c in shown)} FROM {hyperparameters.table} s "
                f"JOIN task t ON s.{task} = t.id WHERE t.exec_id = ? ORDER BY s.id", [exec_id])
            for task_id, *values in found:
                if task_id in stages:
                    stages[task_id].update(zip(shown, values))
        return list(stages.values())

    def _rows(self, sets, tag, exec_id):
        data_set = sets.get(tag)
        if data_set is None:
            return []
        columns = data_set.columns
        _, rows = self.store.read(data_set.rows_of_executions(columns, where="AND t.exec_id = ?"),
                                  [sets.df_id, exec_id])
        return [dict(zip(columns, row[1:])) for row in rows]

    def _last_row(self, sets, tag, exec_id):
        rows = self._rows(sets, tag, exec_id)
        return rows[-1] if rows else {}

    def _agents(self, exec_id):
        _, rows = self.store.read("SELECT kind, name, properties FROM agent WHERE exec_id = ? ORDER BY id", [exec_id])
        return [{"kind": kind, "name": name, "properties": json.loads(properties or "{}")} for kind, name, properties in rows]

    def _models(self, exec_id):
        columns, rows = self.store.read(
            "SELECT id, path, format, size_bytes, sha256, created_at FROM model_file WHERE exec_id = ? ORDER BY id",
            [exec_id])
        models = [dict(zip(columns, row)) for row in rows]
        for model in models:
            model["url"] = f"/api/v1/models/{model['id']}/file"
        return models
