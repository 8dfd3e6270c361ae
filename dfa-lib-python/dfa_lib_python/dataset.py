"""The elements a task sends for one set."""
from dfa_lib_python._tags import checked_tag
from dfa_lib_python.element import Element


class DataSet:
    """Elements of one set, produced or consumed by a task.

    Args:
        tag: tag of the Set these elements belong to.
        elements: list of Element (plain lists are accepted too).

    Example:
        task.add_dataset(DataSet("oTrainingModel", [Element([epoch, loss])]))
    """

    def __init__(self, tag, elements=None):
        self._tag = checked_tag(tag, "data set tag")
        self._elements = []
        for element in elements or []:
            self.add_element(element)

    @property
    def tag(self):
        return self._tag

    @property
    def elements(self):
        return list(self._elements)

    def add_element(self, element):
        self._elements.append(element if isinstance(element, Element) else Element(element))

    def set_elements(self, elements):
        self._elements = []
        for element in elements:
            self.add_element(element)

    def get_specification(self):
        return {"tag": self._tag.lower(), "elements": [element.get_specification() for element in self._elements]}

    def __repr__(self):
        return f"DataSet({self._tag!r}, {self._elements!r})"
