"""States of a task."""
from enum import Enum


class TaskStatus(Enum):
    """Status a task reports: READY when created, RUNNING after `begin()`, FINISHED after `end()`.

    FAILED may be set by the user (`task.set_status(TaskStatus.FAILED)`) before `end()` or `save()`.
    """

    READY = "READY"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
