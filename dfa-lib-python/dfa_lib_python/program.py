"""A program that implements a transformation."""


class Program:
    """The program (script, binary) that runs a transformation, stored with the transformation.

    Args:
        name: program name, e.g. "train.py".
        path: where it lives, e.g. "/home/alice/project/train.py".
    """

    def __init__(self, name, path=""):
        self.name = str(name)
        self.path = str(path)

    def get_specification(self):
        return {"name": self.name, "path": self.path}
