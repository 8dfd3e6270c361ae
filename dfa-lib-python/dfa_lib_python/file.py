"""A file a task used or produced."""


class File:
    """A file a task used or produced, stored with the task.

    Args:
        name: file name, e.g. "model.keras".
        path: directory or full path of the file.

    Example:
        task.add_file(File("model.keras", "/tmp/run1"))
    """

    def __init__(self, name, path=""):
        self.name = str(name)
        self.path = str(path)

    def get_specification(self):
        return {"name": self.name, "path": self.path}

    def __repr__(self):
        return f"File({self.name!r}, {self.path!r})"
