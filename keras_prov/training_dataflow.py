"""The dataflow keras_prov records into: transformations, sets and their attributes."""
import functools
import re
import threading

from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.element import Element
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.transformation import Transformation

from keras_prov import layer_table, lineage_sets

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
SEARCH = "Search"
TRIAL = "Trial"
SEARCH_ROWS = "oSearch"
TRIAL_ROWS = "oTrial"

EPOCH_COLUMNS = [("epoch", "NUMERIC"), ("timestamp", "TEXT"), ("elapsed_time", "NUMERIC"),
                 ("learning_rate", "NUMERIC")]
TEST_COLUMNS = [("timestamp", "TEXT"), ("elapsed_time", "NUMERIC")]
# note: why the model is stored as its weights and summary instead of a whole .keras file (else NULL)
TRAINED_MODEL_COLUMNS = [("file_name", "TEXT"), ("path", "TEXT"), ("format", "TEXT"), ("size_bytes", "NUMERIC"),
                         ("sha256", "TEXT"), ("note", "TEXT")]
EARLY_STOPPING_COLUMNS = [("monitor", "TEXT"), ("patience", "NUMERIC"), ("min_delta", "NUMERIC"),
                          ("stopped_epoch", "NUMERIC"), ("best_epoch", "NUMERIC"), ("best_value", "NUMERIC"),
                          ("restore_best_weights", "TEXT")]
ADAPTATION_INPUT_COLUMNS = [("adaptation_id", "TEXT"), ("epoch", "NUMERIC"), ("old_learning_rate", "NUMERIC"),
                            ("cause", "TEXT")]
ADAPTATION_OUTPUT_COLUMNS = [("adaptation_id", "TEXT"), ("epoch", "NUMERIC"), ("old_learning_rate", "NUMERIC"),
                             ("new_learning_rate", "NUMERIC"), ("cause", "TEXT"), ("timestamp", "TEXT")]

# A tuner's search (one row per update, the last one wins) and its trials (idem per trial_id).
SEARCH_COLUMNS = [("search_id", "TEXT"), ("library", "TEXT"), ("library_version", "TEXT"), ("tuner", "TEXT"),
                  ("oracle", "TEXT"), ("pruner", "TEXT"), ("project", "TEXT"), ("objective", "TEXT"),
                  ("direction", "TEXT"), ("max_trials", "NUMERIC"), ("executions_per_trial", "NUMERIC"),
                  ("search_space", "TEXT"), ("status", "TEXT"), ("started", "TEXT"), ("ended", "TEXT"),
                  ("trials", "NUMERIC"), ("best_trial", "TEXT"), ("best_score", "NUMERIC")]
TRIAL_COLUMNS = [("trial_id", "TEXT"), ("search_id", "TEXT"), ("trial_number", "NUMERIC"), ("tuner_trial_id", "TEXT"),
                 ("status", "TEXT"), ("score", "NUMERIC"), ("best_step", "NUMERIC"), ("hyperparameters", "TEXT"),
                 ("continues_trial", "TEXT"), ("bracket", "NUMERIC"), ("round", "NUMERIC"), ("epochs", "NUMERIC"),
                 ("initial_epoch", "NUMERIC"), ("runs", "TEXT"), ("started", "TEXT"), ("ended", "TEXT"),
                 ("pruned_epoch", "NUMERIC"), ("intermediate_values", "TEXT"), ("message", "TEXT")]

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

        training = Transformation(TRAINING)
        training.set_sets([
            self._set(HYPERPARAMETERS, SetType.INPUT, provenance.catalog.attributes()),
            self._set(LAYERS, SetType.INPUT, layer_table.ATTRIBUTES),
            self._set(EPOCHS, SetType.OUTPUT, EPOCH_COLUMNS),
            self._set(TRAINED_MODEL, SetType.OUTPUT, TRAINED_MODEL_COLUMNS),
            self._set(EARLY_STOPPING, SetType.OUTPUT, EARLY_STOPPING_COLUMNS),
        ] + [self._set(tag, getattr(SetType, kind), columns) for tag, kind, columns in lineage_sets.TRAINING_SETS])
        self.dataflow.add_transformation(training)
        if provenance.adaptation:
            adaptation = Transformation(ADAPTATION)
            adaptation.set_sets([
                self._set(ADAPTATION_INPUT, SetType.INPUT, ADAPTATION_INPUT_COLUMNS, dependency=TRAINING),
                self._set(ADAPTATION_OUTPUT, SetType.OUTPUT, ADAPTATION_OUTPUT_COLUMNS),
            ])
            self.dataflow.add_transformation(adaptation)
        testing = Transformation(TESTING)
        trained_model = self._set(TRAINED_MODEL, SetType.OUTPUT, TRAINED_MODEL_COLUMNS)
        # One Set object in two roles, as the original API does: TestingModel consumes the model.
        trained_model.set_type(SetType.INPUT)
        trained_model.dependency = TRAINING
        testing.set_sets([trained_model, self._set(TEST_RESULTS, SetType.OUTPUT, TEST_COLUMNS)]
                         + [self._set(tag, getattr(SetType, kind), columns)
                            for tag, kind, columns in lineage_sets.TESTING_SETS])
        self.dataflow.add_transformation(testing)  # freezes the INPUT role for TestingModel
        trained_model.set_type(SetType.OUTPUT)
        trained_model.dependency = None
        if self.dataflow.tag in _SEARCH_TAGS:
            self.add_search()

    def add_search(self):
        """Adds the Search (oSearch) and Trial (oTrial) transformations a tuner's search records into;
        every later TrainingDataflow of this tag has them too (dfa_lib_python checks a task's sets
        against the latest Dataflow object of its tag)."""
        _SEARCH_TAGS.add(self.dataflow.tag)
        if self.dataflow.get_transformation(SEARCH) is not None:
            return
        search = Transformation(SEARCH)
        search.set_sets([self._set(SEARCH_ROWS, SetType.OUTPUT, SEARCH_COLUMNS)])
        self.dataflow.add_transformation(search)
        trial = Transformation(TRIAL)
        trial.set_sets([self._set(TRIAL_ROWS, SetType.OUTPUT, TRIAL_COLUMNS)])
        self.dataflow.add_transformation(trial)

    def _set(self, tag, set_type, columns, dependency=None):
        """The process-wide Set of this dataflow and tag, with at least `columns`.

        Every model recording into one dataflow tag shares its Set objects, so their attribute
        lists (and thus the positions of values in an Element) are the same for all of them.
        """
        key = (self.dataflow.tag, tag.lower())
        with _SHARED_LOCK:
            data_set = _SHARED_SETS.get(key)
            if data_set is None:
                data_set = _SHARED_SETS[key] = Set(tag, set_type, _attributes(columns), dependency=dependency)
            else:
                known = {attribute.name.lower() for attribute in data_set.attributes}
                for name, kind in columns:
                    if name.lower() not in known:
                        data_set.add_attribute(Attribute(name, getattr(AttributeType, kind)))
        return data_set

    def columns(self, set_tag):
        """Attribute names of a set, in the order an Element gives its values."""
        return [attribute.name.lower() for attribute in _SHARED_SETS[(self.dataflow.tag, set_tag.lower())].attributes]

    def row(self, set_tag, values):
        """An Element for `set_tag` from {column: value}; columns it does not name are None."""
        return Element([values.get(column) for column in self.columns(set_tag)])

    @property
    def epoch_columns(self):
        return self.columns(EPOCHS)

    @property
    def test_columns(self):
        return self.columns(TEST_RESULTS)

    def add_metrics(self, names):
        """Adds a column to oTrainingModel for each metric name not there yet; True if any was added."""
        return self._add_columns(EPOCHS, names)

    def add_test_metrics(self, names):
        """Adds a column to oTestingModel for each metric name not there yet; True if any was added."""
        return self._add_columns(TEST_RESULTS, names)

    def add_hyperparameters(self, values):
        """Adds a column to iTrainingModel for each name in {name: value} not there yet (NUMERIC for
        numbers, TEXT otherwise); True if any was added."""
        data_set = _SHARED_SETS[(self.dataflow.tag, HYPERPARAMETERS.lower())]
        added = False
        with _SHARED_LOCK:
            known = {attribute.name.lower() for attribute in data_set.attributes}
            for name, value in values.items():
                if name.lower() not in known:
                    number = isinstance(value, (int, float)) and not isinstance(value, bool)
                    data_set.add_attribute(Attribute(name.lower(), AttributeType.NUMERIC if number else AttributeType.TEXT))
                    known.add(name.lower())
                    added = True
        return added

    def add_columns(self, set_tag, names):
        """Adds a NUMERIC column to `set_tag` for each name not there yet; True if any was added."""
        return self._add_columns(set_tag, names)

    def _add_columns(self, set_tag, names):
        data_set = _SHARED_SETS[(self.dataflow.tag, set_tag.lower())]
        added = False
        with _SHARED_LOCK:
            known = {attribute.name.lower() for attribute in data_set.attributes}
            for name in names:
                column = column_name(name)
                if column not in known:
                    known.add(column)
                    data_set.add_attribute(Attribute(column, AttributeType.NUMERIC))
                    added = True
        return added

    def adopt_stored_order(self, stored):
        """Puts the attributes of our sets in the order DfAnalyzer stores them (an Element's values
        are positional), ours that it lacks last. `stored` is [(set tag, column name, type)] in
        stored order, from earlier runs of this dataflow."""
        by_set = {}
        for set_tag, column, kind in stored:
            by_set.setdefault(str(set_tag).lower(), []).append((str(column).lower(), str(kind)))
        with _SHARED_LOCK:
            for (dataflow_tag, set_tag), data_set in _SHARED_SETS.items():
                if dataflow_tag != self.dataflow.tag or set_tag not in by_set:
                    continue
                mine = {attribute.name.lower(): attribute for attribute in data_set.attributes}
                ordered = [mine.pop(column, None) or Attribute(column, AttributeType(kind))
                           for column, kind in by_set[set_tag]]
                data_set.set_attributes(ordered + list(mine.values()))


_SHARED_SETS = {}
_SEARCH_TAGS = set()  # dataflow tags this process records a search into
_SHARED_LOCK = threading.RLock()


def _attributes(columns):
    return [Attribute(name, getattr(AttributeType, kind)) for name, kind in columns]
