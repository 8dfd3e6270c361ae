"""One element (row) of a data set."""
from dfa_lib_python.errors import SpecificationError


class Element:
    """The values of one row of a set, one value per attribute in the set's attribute order.

    Values keep their types: numbers stay numbers and None is stored as NULL. NumPy scalars and
    arrays are accepted and sent as plain numbers and lists.

    Args:
        values: list (or tuple) of values.

    Example:
        Element([epoch, loss, accuracy])
    """

    def __init__(self, values):
        if hasattr(values, "tolist") and not isinstance(values, (str, bytes)):
            values = values.tolist()
        if not isinstance(values, (list, tuple)):
            raise SpecificationError(
                f"Element takes a list of values, one per attribute, got {values!r}; write Element([{values!r}])"
            )
        self._values = list(values)

    @property
    def values(self):
        return list(self._values)

    @values.setter
    def values(self, values):
        self._values = Element(values)._values

    def __len__(self):
        return len(self._values)

    def get_specification(self):
        return list(self._values)

    def __repr__(self):
        return f"Element({self._values!r})"
