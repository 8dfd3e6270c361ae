"""A dataflow: its transformations, their sets, and the run being recorded."""
import logging

from dfa_lib_python import mismatch
from dfa_lib_python._tags import checked_tag
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.errors import SpecificationError
from dfa_lib_python.execution import Execution
from dfa_lib_python.registry import registry
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.transformation import Transformation

logger = logging.getLogger("dfa_lib_python")
NUMERIC, TEXT, FILE = AttributeType.NUMERIC, AttributeType.TEXT, AttributeType.FILE
# The dataflow tag names a database schema; these belong to MonetDB.
RESERVED_SCHEMAS = {"sys", "tmp", "json", "profiler", "logging", "information_schema", "wlc", "wlr", "sql"}

# Predefined sets, in order: (transformation, set, type, dependency, attributes). Attributes None:
# the set declared earlier, consumed by this transformation.
# DNNProv's, for Dataflow(tag, hyperparameters=True):
HYPERPARAMETER_SETS = (
    ("TrainingModel", "iTrainingModel", SetType.INPUT, None,
     [("optimizer_name", TEXT), ("learning_rate", NUMERIC), ("num_epochs", NUMERIC), ("num_layers", NUMERIC)]),
    ("TrainingModel", "oTrainingModel", SetType.OUTPUT, None,
     [("timestamp", TEXT), ("elapsed_time", TEXT), ("loss", NUMERIC), ("accuracy", NUMERIC), ("val_loss", NUMERIC),
      ("val_accuracy", NUMERIC), ("epoch", NUMERIC)]),
    ("Adaptation", "oTrainingModel", SetType.INPUT, "TrainingModel", None),
    ("Adaptation", "iAdaptation", SetType.INPUT, None,
     [("epochs_drop", NUMERIC), ("drop_n", NUMERIC), ("initial_lrate", NUMERIC)]),
    ("Adaptation", "oAdaptation", SetType.OUTPUT, None,
     [("new_lrate", NUMERIC), ("timestamp", TEXT), ("epoch_id", NUMERIC), ("adaptation_id", NUMERIC)]),
    ("TestingModel", "oTrainingModel", SetType.INPUT, "TrainingModel", None),
    ("TestingModel", "oTestingModel", SetType.OUTPUT, None, [("loss", NUMERIC), ("accuracy", NUMERIC)]),
)
# DLProv's, for Dataflow(tag, predefined=True):
PREDEFINED_SETS = (
    ("LoadData", "iInputDataset", SetType.INPUT, None, [("dataset_name", TEXT), ("dataset_source", TEXT)]),
    ("LoadData", "oLoadData", SetType.OUTPUT, None, [("dataset_dir", FILE)]),
    ("ApplyFilter", "iFilter", SetType.INPUT, None, [("filter_type", TEXT)]),
    ("ApplyFilter", "oFilter", SetType.OUTPUT, None, [("pp_dataset", FILE)]),
    ("SplitData", "iSplitConfig", SetType.INPUT, None,
     [("train_size", NUMERIC), ("val_size", NUMERIC), ("test_size", NUMERIC)]),
    ("SplitData", "oTrainSet", SetType.OUTPUT, None, [("trainsetx", FILE), ("trainsety", FILE)]),
    ("SplitData", "oValSet", SetType.OUTPUT, None, [("valsetx", FILE), ("valsety", FILE)]),
    ("SplitData", "oTestSet", SetType.OUTPUT, None, [("testsetx", FILE), ("testsety", FILE)]),
    ("Train", "oTrainSet", SetType.INPUT, "SplitData", None),
    ("Train", "oValSet", SetType.INPUT, "SplitData", None),
    ("Train", "iTrain", SetType.INPUT, None,
     [("optimizer_name", TEXT), ("learning_rate", NUMERIC), ("num_epochs", NUMERIC), ("batch_size", NUMERIC),
      ("num_layers", NUMERIC)]),
    ("Train", "oTrain", SetType.OUTPUT, None,
     [("timestamp", TEXT), ("elapsed_time", TEXT), ("loss", NUMERIC), ("accuracy", NUMERIC), ("val_loss", NUMERIC),
      ("val_accuracy", NUMERIC), ("epoch", NUMERIC)]),
    ("Train", "oTrainedModel", SetType.OUTPUT, None, [("model_name", TEXT), ("model_dir", FILE)]),
    ("Train", "oWeights", SetType.OUTPUT, None, [("weights_path", FILE)]),
    ("Test", "oTestSet", SetType.INPUT, "SplitData", None),
    ("Test", "oTrainedModel", SetType.INPUT, "Train", None),
    ("Test", "oTest", SetType.OUTPUT, None, [("loss", NUMERIC), ("accuracy", NUMERIC)]),
)


class Dataflow:
    """A dataflow specification and the run of it this process records.

    The tag is stored lower-cased (as the original library does); it names the database schema of
    the dataflow's sets. `save()` sends the specification; like every send it only queues it and
    returns at once.

    Args:
        tag: dataflow tag, e.g. "alexnet".
        hyperparameters: when True, predefines DNNProv's transformations and sets: TrainingModel
            (iTrainingModel, oTrainingModel), Adaptation (consumes oTrainingModel; iAdaptation,
            oAdaptation) and TestingModel (consumes oTrainingModel; oTestingModel); see
            HYPERPARAMETER_SETS. They can be extended (more sets, more attributes) before `save()`.
        transformations: list of Transformation.
        predefined: when True, predefines DLProv's transformations and sets: LoadData, ApplyFilter,
            SplitData, Train and Test (see PREDEFINED_SETS).
        email: contact of the person running the dataflow (DLProv), stored with that agent.
        exec_tag: tag of this run; a unique one (`<tag>-<UTC time>-<random>`) when None. Tasks
            created without an exec tag belong to it.

    The positional forms of the three original libraries all work: `Dataflow(tag, transformations)`
    (Keras-Prov), `Dataflow(tag, hyperparameters, transformations)` (DNNProv) and
    `Dataflow(tag, predefined, email, transformations)` (DLProv).

    Example:
        df = Dataflow("mydf")
        extract = Transformation("ExtractRatio")
        extract.set_sets([Set("iExtractRatio", SetType.INPUT, [Attribute("name", AttributeType.TEXT)]),
                          Set("oExtractRatio", SetType.OUTPUT, [Attribute("ratio", AttributeType.NUMERIC)])])
        df.add_transformation(extract)
        df.save()
    """

    def __init__(self, tag, hyperparameters=False, transformations=None, predefined=False, email="", exec_tag=None):
        if isinstance(hyperparameters, (list, tuple)):  # Dataflow(tag, transformations)
            hyperparameters, transformations = False, hyperparameters
        if isinstance(transformations, str):  # Dataflow(tag, predefined, email, transformations)
            hyperparameters, predefined, email, transformations = False, hyperparameters, transformations, predefined
            transformations = transformations if isinstance(transformations, (list, tuple)) else None
        self._tag = checked_tag(tag, "dataflow tag").lower()
        if self._tag in RESERVED_SCHEMAS:
            raise SpecificationError(f"dataflow tag {tag!r} names a schema MonetDB itself uses; choose another tag")
        self._transformations = []  # [(Transformation, {id(set): (type, dependency)})]
        self.execution = Execution(self._tag, exec_tag)
        if email:
            self.execution.add_agent("person", self.execution.agent("person").name, email=str(email))
        self._saved_spec = self._saved_json = None
        self._saved_tags = (frozenset(), frozenset())  # (transformation tags, set tags) of the last save
        if hyperparameters:
            self._add_predefined(HYPERPARAMETER_SETS)
        if predefined:
            self._add_predefined(PREDEFINED_SETS)
        for transformation in transformations or []:
            self.add_transformation(transformation)
        registry.register_dataflow(self)

    @property
    def tag(self):
        return self._tag

    @property
    def exec_tag(self):
        """Tag of the run recorded by this process (see Execution)."""
        return self.execution.tag

    @property
    def transformations(self):
        return [transformation for transformation, _ in self._transformations]

    @transformations.setter
    def transformations(self, transformations):
        self._transformations = []
        for transformation in transformations:
            self.add_transformation(transformation)

    def add_transformation(self, transformation):
        """Adds a transformation. The type and dependency of its sets are taken as they are now, so
        one Set object may later be re-typed for another transformation (as original scripts do);
        sets added to the transformation later are included when saving."""
        if not isinstance(transformation, Transformation):
            raise SpecificationError(f"dataflow {self._tag!r}: expected a Transformation, got {transformation!r}")
        if self.get_transformation(transformation.tag) is not None:
            raise SpecificationError(f"dataflow {self._tag!r} already has a transformation {transformation.tag!r}")
        roles = {id(data_set): (data_set.type.value, data_set.dependency) for data_set in transformation.sets}
        self._transformations.append((transformation, roles))
        return transformation

    def get_transformation(self, tag):
        """The transformation with this tag (case-insensitive), or None."""
        for transformation, _ in self._transformations:
            if transformation.tag == tag.lower():
                return transformation
        return None

    def add_agent(self, kind, name, **properties):
        """Adds a PROV agent to this run (see Execution.add_agent)."""
        return self.execution.add_agent(kind, name, **properties)

    def _add_predefined(self, predefined_sets):
        declared = {}
        for transformation_tag, set_tag, set_type, dependency, attributes in predefined_sets:
            transformation = self.get_transformation(transformation_tag)
            if transformation is None:
                transformation = self.add_transformation(Transformation(transformation_tag))
            if attributes is None:
                # The same Set object in its second role, so attributes added later apply to both.
                data_set = declared[set_tag]
            else:
                data_set = Set(set_tag, set_type, [Attribute(name, kind) for name, kind in attributes])
                declared[set_tag] = data_set
            transformation.add_set(data_set)
            self._roles(transformation)[id(data_set)] = (set_type.value, dependency.lower() if dependency else None)

    def _roles(self, transformation):
        for candidate, roles in self._transformations:
            if candidate is transformation:
                return roles
        raise KeyError(transformation.tag)

    def get_specification(self):
        return {"tag": self._tag,
                "transformations": [t.get_specification(roles) for t, roles in self._transformations]}

    def set_attribute_names(self, set_tag):
        """Attribute names of the set `set_tag` as declared here, or None when no set has that tag."""
        set_tag = set_tag.lower()
        for transformation, _ in self._transformations:
            for data_set in transformation.sets:
                if data_set.tag.lower() == set_tag:
                    return [attribute.name for attribute in data_set.attributes]
        return None

    def set_tags(self):
        """Lower-case tags of every set declared here."""
        return {data_set.tag.lower() for transformation, _ in self._transformations for data_set in transformation.sets}

    def save_if_unsent(self, transformation_tag, set_tags):
        """Saves the dataflow when a task is about to use a transformation or set that the last
        save did not include (e.g. one added to keras_prov's `model.get_dataflow()` before fit),
        so the service knows them before the task. A few set lookups when nothing is new."""
        transformations, sets = self._saved_tags
        if transformation_tag in transformations and all(tag in sets for tag in set_tags):
            return
        if self.get_transformation(transformation_tag) is None:
            return  # not declared here either: the service says what is wrong
        try:
            self.save()
        except SpecificationError:
            if mismatch.strict():
                raise
            logger.warning("dfa_lib_python: dataflow %r cannot be saved before task of %r", self._tag,
                           transformation_tag, exc_info=True)

    def check(self, spec=None):
        """Raises SpecificationError when the specification cannot be stored."""
        if not self._transformations:
            raise SpecificationError(f"dataflow {self._tag!r} has no transformations; add one before save()")
        spec = spec or self.get_specification()
        tags = {t["tag"] for t in spec["transformations"]}
        declared = {}
        for transformation in spec["transformations"]:
            for data_set in transformation["sets"]:
                dependency = data_set.get("dependency")
                if dependency and dependency not in tags:
                    raise SpecificationError(
                        f"set {data_set['tag']!r} of transformation {transformation['tag']!r} depends on "
                        f"{dependency!r}, which is not a transformation of dataflow {self._tag!r}; add it first"
                    )
                names = [a["name"].lower() for a in data_set["attributes"]]
                known = declared.setdefault(data_set["tag"], names)
                if known != names:
                    raise SpecificationError(
                        f"set {data_set['tag']!r} is declared with different attributes in two transformations "
                        f"({known} and {names}); a set shared by transformations has one attribute list"
                    )

    def save(self):
        """Checks the specification and queues it for the service. Returns at once."""
        spec = self.get_specification()
        client = registry.client()
        if spec != self._saved_spec:
            self.check(spec)
            self._saved_json = client.encode(spec)  # re-saving an unchanged dataflow skips encoding
            self._saved_spec = spec
        registry.register_dataflow(self)
        client.send("dataflow", spec, body_json=self._saved_json)
        self._saved_tags = (frozenset(t["tag"] for t in spec["transformations"]),
                            frozenset(s["tag"] for t in spec["transformations"] for s in t["sets"]))

    def __repr__(self):
        return f"Dataflow({self._tag!r}, {self.transformations!r})"
