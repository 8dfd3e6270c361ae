"""A step of a dataflow."""
from dfa_lib_python._tags import checked_tag
from dfa_lib_python.errors import SpecificationError
from dfa_lib_python.program import Program
from dfa_lib_python.set import Set


class Transformation:
    """A step of a dataflow (e.g. TrainingModel) with the sets it consumes and produces.

    The tag is stored lower-cased, as the original library does. Sets can be added until the
    dataflow is saved.

    Args:
        tag: transformation tag.
        sets: list of Set.
        programs: list of Program that implement the step (optional).

    Example:
        train = Transformation("TrainingModel")
        train.set_sets([i_train, o_train])
    """

    def __init__(self, tag, sets=None, programs=None):
        self._tag = checked_tag(tag, "transformation tag").lower()
        self._sets = []
        self.set_sets(sets or [])
        self._programs = []
        for program in programs or []:
            self.add_program(program)

    @property
    def tag(self):
        return self._tag

    @property
    def sets(self):
        return list(self._sets)

    @sets.setter
    def sets(self, sets):
        self.set_sets(sets)

    def set_sets(self, sets):
        self._sets = []
        for data_set in sets:
            self.add_set(data_set)

    def add_set(self, data_set):
        if not isinstance(data_set, Set):
            raise SpecificationError(f"transformation {self._tag!r}: expected a Set, got {data_set!r}")
        if any(existing.tag.lower() == data_set.tag.lower() for existing in self._sets):
            raise SpecificationError(f"transformation {self._tag!r} already has a set {data_set.tag!r}")
        self._sets.append(data_set)

    def get_set(self, tag):
        """The set with this tag (case-insensitive), or None."""
        for data_set in self._sets:
            if data_set.tag.lower() == tag.lower():
                return data_set
        return None

    def add_program(self, program):
        if not isinstance(program, Program):
            raise SpecificationError(f"transformation {self._tag!r}: expected a Program, got {program!r}")
        self._programs.append(program)

    @property
    def programs(self):
        return list(self._programs)

    def get_specification(self, roles=None):
        """The JSON specification. `roles` maps id(set) -> (type, dependency) frozen when the
        transformation was added to a dataflow (see Dataflow.add_transformation)."""
        specs = []
        for data_set in self._sets:
            spec = data_set.get_specification()
            if roles and id(data_set) in roles:
                set_type, dependency = roles[id(data_set)]
                spec["type"] = set_type
                spec.pop("dependency", None)
                if dependency:
                    spec["dependency"] = dependency
            specs.append(spec)
        spec = {"tag": self._tag, "sets": specs}
        if self._programs:
            spec["programs"] = [program.get_specification() for program in self._programs]
        return spec

    def __repr__(self):
        return f"Transformation({self._tag!r}, {self._sets!r})"
