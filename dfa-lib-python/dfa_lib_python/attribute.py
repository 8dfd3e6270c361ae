"""One attribute (column) of a set."""
from dfa_lib_python._tags import checked_tag, enum_value
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.errors import SpecificationError


class Attribute:
    """A named, typed attribute of a Set; it becomes a column of the set's table.

    Args:
        name: attribute name; the column is its lower-cased form, so `SELECT loss FROM ...` works.
        type: an AttributeType (TEXT, NUMERIC, FILE, RDFILE, LONG_TEXT).

    Example:
        Attribute("learning_rate", AttributeType.NUMERIC)
    """

    def __init__(self, name, type=None, attribute_type=None):
        type = attribute_type if type is None else type  # `attribute_type=` as some original scripts spell it
        self.name = checked_tag(name, "attribute name")
        if self.name.lower() == "id" or self.name.lower().endswith("_task_id"):
            raise SpecificationError(f"attribute name {name!r} clashes with a column DfAnalyzer adds to every set "
                                     "table (id, <transformation>_task_id); rename it")
        self.type = AttributeType(enum_value(type, AttributeType, f"type of attribute {name!r}"))

    def get_specification(self):
        return {"name": self.name, "type": self.type.value}

    def __repr__(self):
        return f"Attribute({self.name!r}, AttributeType.{self.type.name})"
