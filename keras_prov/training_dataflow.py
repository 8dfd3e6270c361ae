"""The dataflow keras_prov records into: transformations, sets and their attributes."""
import functools
import re

from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.transformation import Transformation

from keras_prov import layer_table

TRAINING = "TrainingModel"
ADAPTATION = "Adaptation"
TESTING = "TestingModel"

HYPERPARAMETERS = "iTrainingModel"
LAYERS = "iLayers"
EPOCHS = "oTrainingModel"
TRAINED_MODEL = "oTrainedModel"
EARLY_STOPPING = "oEarlyStopping"
ADAPTATION_INPUT = "iAdaptation"
ADAPTATION_OUTPUT = "oAdaptation"
TEST_RESULTS = "oTestingModel"

EPOCH_COLUMNS = [("epoch", "NUMERIC"), ("timestamp", "TEXT"), ("elapsed_time", "NUMERIC"),
                 ("learning_rate", "NUMERIC")]
TEST_COLUMNS = [("timestamp", "TEXT"), ("elapsed_time", "NUMERIC")]
TRAINED_MODEL_COLUMNS = [("file_name", "TEXT"), ("path", "TEXT"), ("format", "TEXT"), ("size_bytes", "NUMERIC"),
                         ("sha256", "TEXT")]
EARLY_STOPPING_COLUMNS = [("monitor", "TEXT"), ("patience", "NUMERIC"), ("min_delta", "NUMERIC"),
                          ("stopped_epoch", "NUMERIC"), ("best_epoch", "NUMERIC"), ("best_value", "NUMERIC"),
                          ("restore_best_weights", "TEXT")]
ADAPTATION_INPUT_COLUMNS = [("adaptation_id", "TEXT"), ("epoch", "NUMERIC"), ("old_learning_rate", "NUMERIC"),
                            ("cause", "TEXT")]
ADAPTATION_OUTPUT_COLUMNS = [("adaptation_id", "TEXT"), ("epoch", "NUMERIC"), ("old_learning_rate", "NUMERIC"),
                             ("new_learning_rate", "NUMERIC"), ("cause", "TEXT"), ("timestamp", "TEXT")]

_NOT_A_NAME = re.compile(r"[^a-z0-9_]")


@functools.lru_cache(maxsize=4096)
def column_name(metric_name):
    """The column a Keras metric is stored in: lower case, '_' for anything but letters and digits."""
    name = _NOT_A_NAME.sub("_", str(metric_name).lower())
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = "m_" + name
    return name


class TrainingDataflow:
    """The Keras-Prov dataflow of a model, as dfa_lib_python objects.

    Transformations and their sets (tables `<dataflow_tag>.<set>` in lower case):

    - TrainingModel: iTrainingModel (hyperparameters, one row per fit), iLayers (one row per
      layer), oTrainingModel (one row per epoch: epoch, timestamp, elapsed_time,
      learning_rate, then every metric Keras logs, val_* included), oTrainedModel (the stored
      model files), oEarlyStopping (when an EarlyStopping callback took part).
    - Adaptation (with `adaptation=True`): iAdaptation and oAdaptation, one row per change of
      the learning rate; depends on TrainingModel.
    - TestingModel: oTestingModel, one row per `evaluate`; consumes oTrainedModel.

    Args:
        provenance: the model's `Provenance` settings.

    Example:
        >>> flow = TrainingDataflow(Provenance(dataflow_tag="alexnet"))
        >>> flow.add_metrics(["loss", "accuracy", "val_loss"])
        >>> flow.dataflow.save()
    """

    def __init__(self, provenance):
        self.provenance = provenance
        self.dataflow = Dataflow(provenance.dataflow_tag, exec_tag=provenance.exec_tag)
        self.epoch_columns = [name for name, _ in EPOCH_COLUMNS]
        self.test_columns = [name for name, _ in TEST_COLUMNS]
        self._sets = {}

        training = Transformation(TRAINING)
        training.set_sets([
            self._set(HYPERPARAMETERS, SetType.INPUT, provenance.catalog.attributes()),
            self._set(LAYERS, SetType.INPUT, layer_table.ATTRIBUTES),
            self._set(EPOCHS, SetType.OUTPUT, EPOCH_COLUMNS),
            self._set(TRAINED_MODEL, SetType.OUTPUT, TRAINED_MODEL_COLUMNS),
            self._set(EARLY_STOPPING, SetType.OUTPUT, EARLY_STOPPING_COLUMNS),
        ])
        self.dataflow.add_transformation(training)
        self.transformations = [training]
        if provenance.adaptation:
            adaptation = Transformation(ADAPTATION)
            adaptation.set_sets([
                self._set(ADAPTATION_INPUT, SetType.INPUT, ADAPTATION_INPUT_COLUMNS, dependency=TRAINING),
                self._set(ADAPTATION_OUTPUT, SetType.OUTPUT, ADAPTATION_OUTPUT_COLUMNS),
            ])
            self.dataflow.add_transformation(adaptation)
        testing = Transformation(TESTING)
        testing.set_sets([
            Set(TRAINED_MODEL, SetType.INPUT, _attributes(TRAINED_MODEL_COLUMNS), dependency=TRAINING),
            self._set(TEST_RESULTS, SetType.OUTPUT, TEST_COLUMNS),
        ])
        self.dataflow.add_transformation(testing)

    def _set(self, tag, set_type, columns, dependency=None):
        data_set = Set(tag, set_type, _attributes(columns), dependency=dependency)
        self._sets[tag] = data_set
        return data_set

    def add_metrics(self, names):
        """Adds a column to oTrainingModel for each metric name not there yet; True if any was added."""
        return self._add_columns(EPOCHS, self.epoch_columns, names)

    def add_test_metrics(self, names):
        """Adds a column to oTestingModel for each metric name not there yet; True if any was added."""
        return self._add_columns(TEST_RESULTS, self.test_columns, names)

    def _add_columns(self, set_tag, columns, names):
        added = False
        for name in names:
            column = column_name(name)
            if column not in columns:
                columns.append(column)
                self._sets[set_tag].add_attribute(Attribute(column, AttributeType.NUMERIC))
                added = True
        return added


def _attributes(columns):
    return [Attribute(name, getattr(AttributeType, kind)) for name, kind in columns]
