"""A dataflow: its transformations, their sets, and the run being recorded."""
from dfa_lib_python._tags import checked_tag
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.errors import SpecificationError
from dfa_lib_python.execution import Execution
from dfa_lib_python.registry import registry
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.transformation import Transformation

NUMERIC, TEXT = AttributeType.NUMERIC, AttributeType.TEXT
# The dataflow tag names a database schema; these belong to MonetDB.
RESERVED_SCHEMAS = {"sys", "tmp", "json", "profiler", "logging", "information_schema", "wlc", "wlr", "sql"}

# DNNProv's predefined sets: (transformation, set, type, dependency, attributes).
HYPERPARAMETER_SETS = (
    ("TrainingModel", "iTrainingModel", SetType.INPUT, None,
     [("optimizer_name", TEXT), ("learning_rate", NUMERIC), ("num_epochs", NUMERIC), ("batch_size", NUMERIC),
      ("num_layers", NUMERIC)]),
    ("TrainingModel", "oTrainingModel", SetType.OUTPUT, None,
     [("epoch", NUMERIC), ("loss", NUMERIC), ("accuracy", NUMERIC), ("val_loss", NUMERIC),
      ("val_accuracy", NUMERIC), ("elapsed_time", NUMERIC), ("timestamp", TEXT)]),
    ("Adaptation", "iAdaptation", SetType.INPUT, None,
     [("monitor", TEXT), ("factor", NUMERIC), ("patience", NUMERIC), ("min_lr", NUMERIC)]),
    ("Adaptation", "oAdaptation", SetType.OUTPUT, None,
     [("adaptation_id", TEXT), ("epoch", NUMERIC), ("learning_rate", NUMERIC), ("timestamp", TEXT)]),
    ("TestingModel", "oTrainingModel", SetType.INPUT, "TrainingModel", None),
    ("TestingModel", "oTestingModel", SetType.OUTPUT, None,
     [("loss", NUMERIC), ("accuracy", NUMERIC), ("elapsed_time", NUMERIC), ("timestamp", TEXT)]),
)


class Dataflow:
    """A dataflow specification and the run of it this process records.

    The tag is stored lower-cased (as the original library does); it names the database schema of
    the dataflow's sets. `save()` sends the specification; like every send it only queues it and
    returns at once.

    Args:
        tag: dataflow tag, e.g. "alexnet".
        transformations: list of Transformation.
        hyperparameters: when True, predefines DNNProv's transformations TrainingModel, Adaptation and
            TestingModel with the sets iTrainingModel, oTrainingModel, iAdaptation, oAdaptation and
            oTestingModel. They can be extended (more sets, more attributes) before `save()`.
        exec_tag: tag of this run; a unique one (`<tag>-<UTC time>-<random>`) when None. Tasks
            created without an exec tag belong to it.

    Example:
        df = Dataflow("mydf")
        extract = Transformation("ExtractRatio")
        extract.set_sets([Set("iExtractRatio", SetType.INPUT, [Attribute("name", AttributeType.TEXT)]),
                          Set("oExtractRatio", SetType.OUTPUT, [Attribute("ratio", AttributeType.NUMERIC)])])
        df.add_transformation(extract)
        df.save()
    """

    def __init__(self, tag, transformations=None, hyperparameters=False, exec_tag=None):
        self._tag = checked_tag(tag, "dataflow tag").lower()
        if self._tag in RESERVED_SCHEMAS:
            raise SpecificationError(f"dataflow tag {tag!r} names a schema MonetDB itself uses; choose another tag")
        self._transformations = []  # [(Transformation, {id(set): (type, dependency)})]
        self.execution = Execution(self._tag, exec_tag)
        self._saved_spec = self._saved_json = None
        if hyperparameters:
            self._add_hyperparameter_transformations()
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

    def _add_hyperparameter_transformations(self):
        declared = {}
        for transformation_tag, set_tag, set_type, dependency, attributes in HYPERPARAMETER_SETS:
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

    def __repr__(self):
        return f"Dataflow({self._tag!r}, {self.transformations!r})"
