"""A run's status, worked out in one place from its tasks and from when its process was last heard of.

A run (an execution) has no status of its own that anyone keeps up to date: its tasks have, and
its training process, while it listens for steering actions, says it is alive
(`execution_liveness.last_heard`). Every reader — the REST API, the runs table, the run page, the
CLI, the PROV export — derives the run's status here, so that they never disagree:

- RUNNING: a task is RUNNING (or READY) and the process was heard of within `lost_after()` seconds,
  or never announced that it listens (older clients, embedded mode: nothing to judge by);
- LOST: a task is still RUNNING but the process that listened was not heard of for `lost_after()`
  seconds (killed, out of memory, machine gone); if it comes back, the run is RUNNING again;
- otherwise the first of ENDINGS whose task statuses one of the run's tasks has (FAILED before
  STOPPED: a run stopped by a user that then failed in evaluate failed), else FINISHED. ABORTED is
  a run its user interrupted (Ctrl-C, a notebook's Interrupt): not a failure of the training, as
  MLflow's KILLED is not.

The run statuses of other features are added to ENDINGS (e.g. PRUNED for tuner trials).
"""
import datetime
import os

RUNNING = "RUNNING"
FINISHED = "FINISHED"
FAILED = "FAILED"
STOPPED = "STOPPED"
PRUNED = "PRUNED"  # a tuner stopped the trial early on purpose (Optuna's pruning)
ABORTED = "ABORTED"  # its user interrupted it (KeyboardInterrupt)
LOST = "LOST"

# Task statuses whose message the run page lists as the run's errors.
FAILED_TASK_STATUSES = ("FAILED", "ABORTED", "FINISHED_WITH_ERROR")
# (run status, the task statuses that give it), first match wins.
ENDINGS = (
    (FAILED, ("FAILED", "FINISHED_WITH_ERROR")),
    (ABORTED, ("ABORTED",)),
    (STOPPED, ("STOPPED",)),
    (PRUNED, ("PRUNED",)),
)
# Task statuses a task ends with.
FINAL_TASK_STATUSES = frozenset({FINISHED}.union(*(statuses for _, statuses in ENDINGS)))
RUN_STATUSES = (RUNNING, LOST, FINISHED) + tuple(status for status, _ in ENDINGS)

DEFAULT_LOST_AFTER = 60.0
LOST_AFTER_VARIABLE = "DFA_LOST_AFTER"


def lost_after(environ=os.environ):
    """Seconds without news from a listening training process after which its run is LOST
    (`DFA_LOST_AFTER`, default 60)."""
    try:
        seconds = float(environ.get(LOST_AFTER_VARIABLE) or DEFAULT_LOST_AFTER)
    except ValueError:
        return DEFAULT_LOST_AFTER
    return seconds if seconds > 0 else DEFAULT_LOST_AFTER


def task_counts_sql(task_alias="t"):
    """SELECT items counting a run's tasks by what they mean for it: open tasks, then one count per
    ENDINGS entry; `from_counts` takes the values in this order. Only constants go into the SQL."""
    status = f"{task_alias}.status"

    def counted(statuses):
        listed = ", ".join(f"'{value}'" for value in statuses)
        return f"CAST(SUM(CASE WHEN {status} IN ({listed}) THEN 1 ELSE 0 END) AS INTEGER)"

    return ", ".join([counted(("RUNNING",))] + [counted(statuses) for _, statuses in ENDINGS])


COUNT_COLUMNS = 1 + len(ENDINGS)


def from_counts(counts, last_heard=None, now=None):
    """The run status from the values of `task_counts_sql` (None counts as 0) and the time its
    process was last heard of (None: it never said it listens)."""
    running, *ended = [count or 0 for count in counts]
    if running:
        return LOST if is_lost(last_heard, now) else RUNNING
    for (status, _), count in zip(ENDINGS, ended):
        if count:
            return status
    return FINISHED


def from_task_statuses(statuses, last_heard=None, now=None):
    """The run status from its tasks' statuses (strings)."""
    statuses = list(statuses)
    counts = [sum(status == RUNNING for status in statuses)]
    counts += [sum(status in ending for status in statuses) for _, ending in ENDINGS]
    return from_counts(counts, last_heard, now)


def is_lost(last_heard, now=None):
    if last_heard is None:
        return False
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)  # stored times are UTC
    return (now - last_heard).total_seconds() > lost_after()


def last_heard_of(store, exec_ids):
    """{execution id: last time its training process was heard of} for the runs that listen."""
    exec_ids = list(exec_ids)
    if not exec_ids:
        return {}
    marks = ", ".join("?" for _ in exec_ids)
    _, rows = store.read(f"SELECT exec_id, last_heard FROM execution_liveness WHERE exec_id IN ({marks})",
                         exec_ids)
    return {exec_id: heard for exec_id, heard in rows}


def of_execution(store, exec_id):
    """(status, last heard) of one execution, read from the store."""
    _, rows = store.read(f"SELECT {task_counts_sql()} FROM task t WHERE t.exec_id = ?", [exec_id])
    heard = last_heard_of(store, [exec_id]).get(exec_id)
    return from_counts(rows[0] if rows else [0] * COUNT_COLUMNS, heard), heard
