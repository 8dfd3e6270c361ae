"""States of a task."""
from enum import Enum


class TaskStatus(Enum):
    """Status a task reports: READY when created, RUNNING after `begin()`, FINISHED after `end()`.

    FAILED (an error) or ABORTED (interrupted) may be set before `end()`, which then keeps it.
    """

    READY = "READY"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
