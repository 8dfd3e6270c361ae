"""The training processes listening to this service for steering actions, and what they tell of
their liveness.

A recorded fit asks `GET /api/v1/executions/{exec}/steering/next` in a loop (keras_prov's
listener thread): the service answers at once when an action waits, else holds the request up
to `hold` seconds and answers as soon as one is asked for (`notify`). Each request is news that
the process lives: the time is kept in memory and written to `execution_liveness` every
`flush_every` seconds in one transaction, where `runs.status` reads it. With both well under
`lost_after`, a living process never looks LOST, and a dead one does within `lost_after` seconds.

Holding costs a waiting coroutine per listener, no thread: 200 listeners make 10 requests a second
at the default hold of 15 s. Services sharing one MonetDB server each wake only their own
listeners; an action asked of another service reaches the process at its next request (≤ hold).
"""
import asyncio
import logging
import threading
import time

from dfanalyzer.ingest.values import now
from dfanalyzer.runs import status as run_status

log = logging.getLogger(__name__)

MAX_CACHED_EXECUTIONS = 10_000


class Listeners:
    """What the service knows of listening training processes.

    Args:
        store: the service's `dfanalyzer.store.Store`.
        lost_after: seconds of silence after which a run is LOST (`runs.status.lost_after()`).
    """

    def __init__(self, store, lost_after=None):
        self.store = store
        self.lost_after = lost_after or run_status.lost_after()
        self.hold = max(1.0, min(15.0, self.lost_after / 4))
        self.flush_every = max(0.5, min(10.0, self.lost_after / 6))
        self._heard = {}       # exec id -> (first heard, last heard, learning-rate schedule), UTC
        self._dirty = set()
        self._events = {}      # exec id -> [asyncio.Event, waiting requests]
        self._executions = {}  # (execution tag, dataflow tag) -> exec id
        self._lock = threading.Lock()
        self._flusher = None

    # -- news from training processes ---------------------------------------------------------

    def heard_from(self, exec_id, schedule=None):
        """A training process of `exec_id` asked for actions now."""
        moment = now()
        with self._lock:
            first = self._heard.get(exec_id, (moment,))[0]
            self._heard[exec_id] = (first, moment, schedule or None)
            self._dirty.add(exec_id)
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_forever, name="liveness-flush", daemon=True)
                self._flusher.start()

    def listening(self, exec_id):
        """(last heard, learning-rate schedule) of the run's listening process, from memory or the
        store; (None, None) when it never listened."""
        with self._lock:
            known = self._heard.get(exec_id)
        if known is not None:
            return known[1], known[2]
        _, rows = self.store.read("SELECT last_heard, learning_rate_schedule FROM execution_liveness WHERE exec_id = ?",
                                  [exec_id])
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def _flush_forever(self):
        while True:
            time.sleep(self.flush_every)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the next round writes the same news again
                log.exception("could not store when listening training processes were last heard of")

    def flush(self):
        """Writes the news heard since the last flush to `execution_liveness`."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            rows = [(exec_id, *self._heard[exec_id]) for exec_id in dirty if exec_id in self._heard]
            stale = [exec_id for exec_id, (_, last, _) in self._heard.items()
                     if (now() - last).total_seconds() > 10 * self.lost_after]
            for exec_id in stale:  # its status comes from the store from now on
                del self._heard[exec_id]
        if not rows:
            return
        marks = ", ".join("?" for _ in rows)
        try:
            with self.store.write() as tx:
                tx.execute(f"DELETE FROM execution_liveness WHERE exec_id IN ({marks})", [row[0] for row in rows])
                for row in rows:
                    tx.execute("INSERT INTO execution_liveness (exec_id, listening_since, last_heard, "
                               "learning_rate_schedule) VALUES (?, ?, ?, ?)", list(row))
        except Exception:
            with self._lock:
                self._dirty.update(row[0] for row in rows)
            raise

    # -- waiting for actions -----------------------------------------------------------------

    def event(self, exec_id):
        """The event `notify(exec_id)` sets; take it before reading the pending actions, so that
        none asked for in between is missed. Give it back with `release`."""
        entry = self._events.setdefault(exec_id, [asyncio.Event(), 0])
        entry[1] += 1
        return entry[0]

    def release(self, exec_id, event):
        entry = self._events.get(exec_id)
        if entry is not None and entry[0] is event:
            entry[1] -= 1
            if entry[1] <= 0:
                del self._events[exec_id]

    async def wait(self, event, timeout):
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def notify(self, exec_id):
        """Wakes the requests waiting for actions of `exec_id` (on the event loop's thread)."""
        entry = self._events.pop(exec_id, None)
        if entry is not None:
            entry[0].set()

    # -- execution ids -----------------------------------------------------------------------

    def execution_id(self, execution, dataflow, find):
        """The id `find()` gives for (execution, dataflow), remembered: listeners ask every few seconds."""
        key = (execution, dataflow)
        exec_id = self._executions.get(key)
        if exec_id is None:
            exec_id = find()
            if len(self._executions) >= MAX_CACHED_EXECUTIONS:
                self._executions.clear()
            self._executions[key] = exec_id
        return exec_id
