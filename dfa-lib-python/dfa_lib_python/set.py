"""A set of data a transformation consumes or produces."""
from dfa_lib_python._tags import checked_tag, enum_value
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.errors import SpecificationError
from dfa_lib_python.set_type import SetType


class Set:
    """A named set of elements with typed attributes; it becomes one table of the dataflow's schema.

    Args:
        tag: set tag; the table is its lower-cased form (e.g. `alexnet.otrainingmodel`).
        type: SetType.INPUT (the transformation consumes it) or SetType.OUTPUT (produces it).
        attributes: list of Attribute, in the order an Element gives its values.
        extractors: Extractor specifications (stored in the specification only; see Extractor).
        dependency: for an INPUT set produced by another transformation, that transformation
            (or its tag). This is how the dataflow links transformations.

    Example:
        o_train = Set("oTrainingModel", SetType.OUTPUT,
                      [Attribute("epoch", AttributeType.NUMERIC), Attribute("loss", AttributeType.NUMERIC)])
        i_test = Set("oTrainingModel", SetType.INPUT, o_train.attributes, dependency="TrainingModel")
    """

    def __init__(self, tag, type=None, attributes=None, extractors=None, dependency=None, set_type=None):
        type = set_type if type is None else type  # `set_type=` as some original scripts spell it
        if dependency is None and extractors is not None and not isinstance(extractors, (list, tuple)):
            # Tolerates Set(tag, type, attributes, "producer"): the fourth argument was a dependency.
            extractors, dependency = None, extractors
        self._tag = checked_tag(tag, "set tag")
        self._type = SetType(enum_value(type, SetType, f"type of set {tag!r}"))
        self._attributes = []
        self.set_attributes(attributes or [])
        self._extractors = list(extractors or [])
        self.dependency = dependency

    @property
    def tag(self):
        return self._tag

    @property
    def type(self):
        return self._type

    def set_type(self, type):
        """Changes the role of the set (the original API lets one Set object serve two transformations)."""
        self._type = SetType(enum_value(type, SetType, f"type of set {self._tag!r}"))

    @property
    def attributes(self):
        return list(self._attributes)

    @attributes.setter
    def attributes(self, attributes):
        self.set_attributes(attributes)

    def set_attributes(self, attributes):
        checked = []
        for attribute in attributes:
            if not isinstance(attribute, Attribute):
                raise SpecificationError(
                    f"set {self._tag!r}: attributes must be Attribute objects, got {attribute!r}; "
                    "write Attribute(name, AttributeType.NUMERIC) or similar"
                )
            checked.append(attribute)
        names = [a.name.lower() for a in checked]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SpecificationError(f"set {self._tag!r} declares the attribute(s) {duplicates} more than once")
        self._attributes = checked

    def add_attribute(self, attribute):
        """Appends one attribute (before the dataflow is saved)."""
        self.set_attributes(self._attributes + [attribute])

    @property
    def dependency(self):
        return self._dependency

    @dependency.setter
    def dependency(self, dependency):
        if dependency is None or dependency == "":
            self._dependency = None
            return
        tag = getattr(dependency, "tag", dependency)
        self._dependency = checked_tag(tag, f"dependency of set {self._tag!r}").lower()

    @property
    def extractors(self):
        return list(self._extractors)

    def set_extractors(self, extractors):
        self._extractors = list(extractors)

    def add_extractor(self, extractor):
        self._extractors.append(extractor)

    def get_specification(self):
        spec = {
            "tag": self._tag.lower(),
            "type": self._type.value,
            "attributes": [attribute.get_specification() for attribute in self._attributes],
        }
        if self._dependency:
            spec["dependency"] = self._dependency
        if self._extractors:
            spec["extractors"] = [extractor.get_specification() for extractor in self._extractors]
        return spec

    def __repr__(self):
        return f"Set({self._tag!r}, SetType.{self._type.name}, {self._attributes!r})"
