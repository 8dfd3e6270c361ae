"""Steering actions on a running training, kept in the catalog table `steering_action`.

An action is stored when a person asks for it (who, when, what, why) with state `requested`;
`delivered` once the run's training process has fetched it; then `applied` (at which epoch, when,
the old and new value, the task that records it) or `refused` (why), as the process reports.
"""
import math

from dfanalyzer.errors import InvalidInput, NotFound
from dfanalyzer.identifiers import check_label
from dfanalyzer.ingest.values import now

STOP, STOP_NOW, SET_LEARNING_RATE, NOTE = "stop", "stop_now", "set_learning_rate", "note"
ACTIONS = (STOP, STOP_NOW, SET_LEARNING_RATE, NOTE)
OPEN_STATES = ("requested", "delivered")
OUTCOMES = ("applied", "refused")
MAX_NOTE = 2000
DEFAULT_ACTOR = "anonymous"
COLUMNS = ("id", "action", "value", "note", "actor", "requested_at", "state", "delivered_at", "applied_at",
           "applied_epoch", "old_value", "new_value", "task_identifier", "message")


def _record(row):
    return dict(zip(COLUMNS, row))


def checked_request(action, value=None, note=None, actor=None):
    """(action, value, note, actor) of a request, or InvalidInput saying what to send instead."""
    if action not in ACTIONS:
        raise InvalidInput(f"action {action!r} is unknown; use one of {', '.join(ACTIONS)}")
    if action == SET_LEARNING_RATE:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise InvalidInput(f"set_learning_rate needs \"value\": a positive number, e.g. 0.001 (got {value!r})")
        value = float(value)
    elif value is not None:
        raise InvalidInput(f"action {action!r} takes no value; only set_learning_rate does")
    if note is not None and not isinstance(note, str):
        raise InvalidInput("\"note\" must be text: why you steer the run")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"the note has {len(note)} characters; at most {MAX_NOTE}")
    if action == NOTE and note is None:
        raise InvalidInput("action 'note' needs the \"note\" text")
    actor = check_label(str(actor).strip(), "actor") if actor not in (None, "") else DEFAULT_ACTOR
    return action, value, note, actor


def request(store, exec_id, action, value, note, actor):
    """Stores a checked request (see `checked_request`); returns its record."""
    with store.write() as tx:
        action_id = (tx.fetch("SELECT MAX(id) FROM steering_action")[0][0] or 0) + 1
        tx.execute("INSERT INTO steering_action (id, exec_id, action, value, note, actor, requested_at, state) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [action_id, exec_id, action, value, note, actor, now(), "requested"])
    return get(store, exec_id, action_id)


def get(store, exec_id, action_id):
    _, rows = store.read(f"SELECT {', '.join(COLUMNS)} FROM steering_action WHERE exec_id = ? AND id = ?",
                         [exec_id, int(action_id)])
    return _record(rows[0]) if rows else None


def pending(store, exec_id, after=0):
    """The actions of a run not yet applied or refused, newer than action id `after`."""
    _, rows = store.read(
        f"SELECT {', '.join(COLUMNS)} FROM steering_action WHERE exec_id = ? AND id > ? AND state IN (?, ?) ORDER BY id",
        [exec_id, int(after), *OPEN_STATES])
    return [_record(row) for row in rows]


def mark_delivered(store, action_ids):
    if not action_ids:
        return
    marks = ", ".join("?" for _ in action_ids)
    with store.write() as tx:
        tx.execute(f"UPDATE steering_action SET state = 'delivered', delivered_at = ? "
                   f"WHERE state = 'requested' AND id IN ({marks})", [now(), *action_ids])


def record_outcome(store, exec_id, action_id, outcome):
    """Stores what the training process did with an action: `outcome` holds state ("applied" or
    "refused"), and epoch, old_value, new_value, task, message when known."""
    state = outcome.get("state")
    if state not in OUTCOMES:
        raise InvalidInput(f"state must be one of {', '.join(OUTCOMES)}, got {state!r}")
    numbers = {}
    for name in ("epoch", "old_value", "new_value"):
        value = outcome.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InvalidInput(f"{name} must be a number, got {value!r}")
        numbers[name] = None if value is None or not math.isfinite(value) else float(value)
    task = outcome.get("task")
    task = None if task in (None, "") else check_label(str(task), "task")
    message = outcome.get("message")
    message = None if message in (None, "") else str(message)[:MAX_NOTE]
    if get(store, exec_id, action_id) is None:
        raise NotFound(f"the run has no steering action {action_id}; GET .../steering lists them")
    with store.write() as tx:
        tx.execute("UPDATE steering_action SET state = ?, applied_at = ?, applied_epoch = ?, old_value = ?, "
                   "new_value = ?, task_identifier = ?, message = ?, delivered_at = COALESCE(delivered_at, ?) "
                   "WHERE exec_id = ? AND id = ?",
                   [state, now(), numbers["epoch"], numbers["old_value"], numbers["new_value"], task, message, now(),
                    exec_id, int(action_id)])
    return get(store, exec_id, action_id)


def log(store, exec_ids):
    """{execution id: [action records, oldest first]} of the runs `exec_ids`."""
    exec_ids = list(exec_ids)
    if not exec_ids:
        return {}
    marks = ", ".join("?" for _ in exec_ids)
    _, rows = store.read(f"SELECT exec_id, {', '.join(COLUMNS)} FROM steering_action "
                         f"WHERE exec_id IN ({marks}) ORDER BY id", exec_ids)
    found = {exec_id: [] for exec_id in exec_ids}
    for exec_id, *values in rows:
        found[exec_id].append(_record(values))
    return found
