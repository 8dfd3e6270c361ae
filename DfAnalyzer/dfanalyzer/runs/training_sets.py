"""Where a dataflow keeps what keras_prov records, and how its rows reach their execution."""
from dataclasses import dataclass, field

from dfanalyzer import reading
from dfanalyzer.identifiers import qualified, quote

HYPERPARAMETERS = "itrainingmodel"
LAYERS = "ilayers"
EPOCHS = "otrainingmodel"
TRAINING_TRANSFORMATION = "trainingmodel"  # one task per fit: the stages of a run
TEST_RESULTS = "otestingmodel"
EARLY_STOPPING = "oearlystopping"
ADAPTATIONS = ("oadaptation", "iadaptation")

# Epoch columns that say when, not how well.
NOT_METRICS = {"epoch", "timestamp", "elapsed_time", "elapsed", "time"}


@dataclass
class SetTable:
    """One set of a dataflow: its table, the column holding the task that made or used a row,
    and its attributes as (column, type)."""

    tag: str
    table: str
    task_column: str
    attributes: list = field(default_factory=list)

    @property
    def numeric_columns(self):
        return [column for column, kind in self.attributes if kind == "NUMERIC"]

    @property
    def columns(self):
        return [column for column, _ in self.attributes]

    def rows_of_executions(self, columns, where="", order="s.id"):
        """SQL selecting `exec_id` and `columns` of this set's rows joined to their task."""
        names = ", ".join(f"s.{quote(column)}" for column in columns)
        return (f"SELECT t.exec_id, {names} FROM {self.table} s JOIN task t ON s.{quote(self.task_column)} = t.id "
                f"WHERE t.df_id = ? {where} ORDER BY {order}")


class TrainingSets:
    """The sets of one dataflow, looked up by their lower-case tags.

    Args:
        store: a `dfanalyzer.store.Store`.
        dataflow: dataflow tag.

    Example:
        sets = TrainingSets(store, "alexnet")
        epochs = sets.get("otrainingmodel")      # None when the dataflow has no such set
    """

    def __init__(self, store, dataflow):
        specification = reading.dataflow_specification(store, dataflow)
        self.tag = specification["tag"]
        self.schema = specification["schema"]
        _, rows = store.read("SELECT id FROM dataflow WHERE tag = ?", [self.tag])
        self.df_id = rows[0][0]
        existing = {}
        self.sets = {}
        for data_set in specification["sets"]:
            table = data_set["table"].split(".", 1)[1]
            if table not in existing:
                existing[table] = set(store.table_columns(self.schema, table))
            users = data_set["produced_by"] or data_set["consumed_by"]
            task_column = next((f"{t.lower()}_task_id" for t in users if f"{t.lower()}_task_id" in existing[table]), None)
            if task_column is None:
                continue
            attributes = [(a["column"], a["type"]) for a in data_set["attributes"] if a["column"] in existing[table]]
            self.sets[data_set["tag"].lower()] = SetTable(data_set["tag"], qualified(self.schema, table),
                                                          task_column, attributes)

    def get(self, tag):
        return self.sets.get(tag)

    @property
    def is_keras(self):
        return EPOCHS in self.sets

    def metric_columns(self):
        """NUMERIC epoch columns that measure the training (loss, accuracy, learning_rate, ...)."""
        epochs = self.get(EPOCHS)
        if epochs is None:
            return []
        return [column for column in epochs.numeric_columns if column not in NOT_METRICS]

    def test_columns(self):
        test = self.get(TEST_RESULTS)
        if test is None:
            return []
        return [column for column in test.numeric_columns if column not in NOT_METRICS]


def lower_is_better(metric):
    """Whether the best value of a metric is its smallest (losses and errors)."""
    name = metric.lower()
    return any(word in name for word in ("loss", "error", "mse", "mae", "perplexity", "crossentropy"))
