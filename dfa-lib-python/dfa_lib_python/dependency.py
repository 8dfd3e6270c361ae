"""Which earlier tasks a task depends on."""


class Dependency:
    """Tasks a task depends on, given by their transformation tags and task ids.

    The service uses it to put a dependent task's input elements on the rows the earlier task
    produced. Pairs are matched by position: `tags[i]` is the transformation of task `ids[i]`.

    Args:
        tags: transformation tags of the tasks depended on.
        ids: ids of those tasks.

    Example:
        Task(2, "mydf", "ComputeRatio", dependency=Dependency(["ExtractRatio"], [1]))
        # or simply dependency=task1
    """

    def __init__(self, tags, ids):
        if isinstance(tags, str):
            tags = [tags]
        if isinstance(ids, (str, int)):
            ids = [ids]
        self.tags = [str(tag).lower() for tag in tags]
        self.ids = [str(task_id) for task_id in ids]

    def merged(self, other):
        """A Dependency holding this one's pairs and then the other's new ones."""
        tags, ids = list(self.tags), list(self.ids)
        for tag, task_id in zip(other.tags, other.ids):
            if (tag, task_id) not in zip(tags, ids):
                tags.append(tag)
                ids.append(task_id)
        return Dependency(tags, ids)

    def get_specification(self):
        return {"tags": [{"tag": tag} for tag in self.tags], "ids": [{"id": task_id} for task_id in self.ids]}

    def __repr__(self):
        return f"Dependency({self.tags!r}, {self.ids!r})"
