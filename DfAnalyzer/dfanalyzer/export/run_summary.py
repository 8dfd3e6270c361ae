"""One line per execution: dataflow, times, status and final metrics (`dfanalyzer runs`)."""
from dfanalyzer.export.reader import ProvenanceReader
from dfanalyzer.identifiers import qualified, quote
from dfanalyzer.reading import list_executions

# Sets whose last row holds a Keras run's final metrics, and the prefix their metrics get.
KERAS_METRIC_SETS = {"otrainingmodel": "", "otestingmodel": "test_"}
# Attributes that describe when, not how well.
NOT_METRICS = {"timestamp", "elapsed_time", "elapsed", "elapsed_seconds", "time", "adaptation_id"}


class RunSummary:
    """The executions of the store with their final metrics.

    Final metrics are the NUMERIC values of the last row an execution stored in each output set:
    for keras_prov dataflows the last epoch of oTrainingModel and the oTestingModel row (metrics
    prefixed `test_`); for other dataflows every output set (metrics named `<set>.<attribute>`).

    Args:
        store: a `dfanalyzer.store.Store`.

    Example:
        for run in RunSummary(store).list():
            print(run["execution"], run["status"], run["metrics"])
    """

    def __init__(self, store):
        self.store = store
        self.reader = ProvenanceReader(store)
        self._specifications = {}

    def list(self, dataflow=None):
        runs = list_executions(self.store, dataflow)
        for run in runs:
            run["metrics"] = self.metrics(run["dataflow"], run["execution"])
        return runs

    def metrics(self, dataflow, execution):
        """The final metrics of one execution of `dataflow`."""
        if dataflow not in self._specifications:
            self._specifications[dataflow] = self.reader.specification(dataflow)
        return self._metrics(self._specifications[dataflow], execution)

    def _metrics(self, snapshot, execution):
        _, rows = self.store.read(
            "SELECT id FROM dataflow_execution WHERE df_id = ? AND tag = ?", [snapshot.dataflow["id"], execution])
        if not rows:
            return {}
        exec_id = rows[0][0]
        output_sets = [data_set for data_set in snapshot.sets if data_set.producers]
        keras_sets = [data_set for data_set in output_sets if data_set.tag.lower() in KERAS_METRIC_SETS]
        metrics = {}
        for data_set in keras_sets or output_sets:
            prefix = KERAS_METRIC_SETS.get(data_set.tag.lower(), f"{data_set.tag}.") if keras_sets \
                else f"{data_set.tag}."
            for name, value in self._last_row(snapshot, data_set, exec_id).items():
                metrics[prefix + name] = value
        return metrics

    def _last_row(self, snapshot, data_set, exec_id):
        schema = snapshot.dataflow["schema_name"]
        columns = self.store.table_columns(schema, data_set.table_name)
        task_columns = []
        for dt_id in data_set.producers:
            transformation = snapshot.transformation(dt_id)
            column = f"{transformation.tag.lower()}_task_id"
            if column in columns:
                task_columns.append(column)
        numeric = [attribute for attribute in data_set.attributes
                   if attribute.type == "NUMERIC" and attribute.column_name in columns
                   and attribute.name.lower() not in NOT_METRICS]
        if not task_columns or not numeric:
            return {}
        conditions = " OR ".join(f"{quote(column)} IN (SELECT id FROM task WHERE exec_id = ?)"
                                 for column in task_columns)
        names = ", ".join(quote(attribute.column_name) for attribute in numeric)
        _, rows = self.store.read(
            f"SELECT {names} FROM {qualified(schema, data_set.table_name)} WHERE {conditions} "
            "ORDER BY id DESC", [exec_id] * len(task_columns), limit=1)
        if not rows:
            return {}
        return {attribute.name: value for attribute, value in zip(numeric, rows[0]) if value is not None}
