"""States of a task."""
from enum import Enum


class TaskStatus(Enum):
    """Status a task reports: READY when created, RUNNING after `begin()`, FINISHED after `end()`.

    FAILED (an error), ABORTED (interrupted) or STOPPED (ended early on a user's request, e.g. a
    steering action) may be set before `end()`, which then keeps it.
    """

    READY = "READY"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    STOPPED = "STOPPED"
