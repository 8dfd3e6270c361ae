"""States of a task."""
from enum import Enum


class TaskStatus(Enum):
    """Status a task reports: READY when created, RUNNING after `begin()`, FINISHED after `end()`.

    FAILED (an error), ABORTED (interrupted), STOPPED (ended early on a user's request, e.g. a
    steering action) or PRUNED (a tuner stopped the trial early on purpose) may be set before
    `end()`, which then keeps it.
    """

    READY = "READY"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    STOPPED = "STOPPED"
    PRUNED = "PRUNED"


# Statuses `Task.end()` keeps instead of FINISHED.
KEPT_AT_END = (TaskStatus.FAILED, TaskStatus.ABORTED, TaskStatus.STOPPED, TaskStatus.PRUNED)
