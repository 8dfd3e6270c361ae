"""Steering a recorded fit while it runs: stop it, change its learning rate, or note why.

A person asks DfAnalyzer (`POST /api/v1/executions/{exec}/steering`, `dfanalyzer steer`, the run
page); `SteeringListener`, a daemon thread of the training process, holds a request open to the
service (`GET .../steering/next`) and so learns of the action within about a second. It only
raises a flag; `SteeringCallback`, on the training thread, reads that flag at epoch and batch
boundaries and acts on the action there:

- stop: `model.stop_training` at the end of the epoch; fit then ends as usual (callbacks'
  `on_train_end`, the model stored, `evaluate` after it recorded) and the TrainingModel task ends
  STOPPED, its output saying by whom, at which epoch and why;
- stop_now: the same at the end of the current batch;
- set_learning_rate: the optimizer's rate at the start of the next epoch, recorded as an
  Adaptation task with cause `user` (refused when the optimizer follows a LearningRateSchedule);
- note: recorded with the epoch it arrived at.

What the process did goes back to the service (`POST .../steering/{id}/outcome`) from another
thread. The listening is also how the service knows the process lives: a run whose process stops
asking shows LOST. With the service down nothing waits: the listener retries in the background.
With `DFA_URL=embedded:...` nothing listens (no service to ask): such runs cannot be steered.
`KERAS_PROV_STEERING=0` turns listening off.
"""
import collections
import logging
import os
import queue
import threading
import time

import keras
import requests
from dfa_lib_python.client import DEFAULT_URL, normalize_url
from dfa_lib_python.errors import ConfigurationError
from dfa_lib_python.registry import before_exit_close, registry
from dfa_lib_python.task_status import TaskStatus
from dfa_lib_python.transport.http import auth_headers

from keras_prov.hyperparameter_catalog import current_learning_rate
from keras_prov.recording_thread import recording

logger = logging.getLogger("keras_prov")

SWITCH = "KERAS_PROV_STEERING"
EXIT_TIMEOUT = 5.0  # how long the end of the program waits for outcomes not yet reported
STOP, STOP_NOW, SET_LEARNING_RATE, NOTE = "stop", "stop_now", "set_learning_rate", "note"


def steering_url(provenance):
    """The service a fit with `provenance` records to, or None when it cannot be steered."""
    if os.environ.get(SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    current = registry.current()
    url = provenance.url or (current.url if current is not None and not current.closed else None)
    url = normalize_url(url or os.environ.get("DFA_URL") or DEFAULT_URL)
    if url.startswith("embedded:"):
        logger.info("keras_prov: runs recorded with DFA_URL=embedded: cannot be steered (no service listens for "
                    "steering actions); record to a DfAnalyzer service to steer them")
        return None
    return url


def schedule_name(optimizer):
    """The class of the LearningRateSchedule (or 'a callable') the optimizer follows, else None."""
    rate = getattr(optimizer, "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return type(rate).__name__
    if callable(rate) and not isinstance(rate, keras.Variable):
        return getattr(rate, "__name__", "a callable")
    return None


class SteeringListener(threading.Thread):
    """Fetches the steering actions of one run from DfAnalyzer, off the training thread.

    Args:
        url: the service, "http://host:port".
        dataflow_tag, exec_tag: the run.
        schedule: the optimizer's learning-rate schedule (the service refuses rate changes then).

    Attributes:
        pending: True while actions wait in `actions` (the flag the training thread reads).
    """

    def __init__(self, url, dataflow_tag, exec_tag, schedule=None):
        super().__init__(name="keras_prov-steering", daemon=True)
        self.base = f"{url}/api/v1/executions/{requests.utils.quote(exec_tag, safe='')}/steering"
        self.params = {"dataflow": dataflow_tag, **({"schedule": schedule} if schedule else {})}
        self.actions = collections.deque()
        self.pending = False
        self.after = 0
        self.session = requests.Session()
        self.session.headers.update(auth_headers())
        self.outcomes = OutcomeSender(self.session, self.base, dataflow_tag)
        self._closed = threading.Event()
        self._logged = set()

    def run(self):
        delay = 1.0
        while not self._closed.is_set():
            try:
                answer = self.session.get(f"{self.base}/next", params={**self.params, "after": self.after},
                                          timeout=(5, 60))
            except requests.RequestException as error:
                self._log_once("down", "keras_prov: DfAnalyzer does not answer steering requests (%s); "
                               "training goes on, retrying", error, level=logging.INFO)
                self._closed.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            if answer.status_code == 404:  # the run is not stored yet
                self._closed.wait(1.0)
                continue
            if answer.status_code in (401, 403):
                self._log_once("token", "keras_prov: DfAnalyzer refused steering requests (%s %s); this run "
                               "cannot be steered: set DFA_TOKEN to the service's --token", answer.status_code,
                               answer.text[:200])
                return
            if answer.status_code != 200:
                self._closed.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 1.0
            for action in answer.json().get("actions", []):
                if action["id"] > self.after:
                    self.after = action["id"]
                    self.actions.append(action)
                    self.pending = True

    def take(self, kinds):
        """The waiting actions of the given kinds, removed from the queue (training thread)."""
        taken = [action for action in list(self.actions) if action["action"] in kinds]
        for action in taken:
            self.actions.remove(action)
        self.pending = bool(self.actions)
        return taken

    def close(self):
        """Stops listening (the request under way ends on its own: the thread is a daemon)."""
        self._closed.set()

    def _log_once(self, key, message, *args, level=logging.WARNING):
        if key not in self._logged:
            self._logged.add(key)
            logger.log(level, message, *args)


class OutcomeSender:
    """Reports what the process did with each action, on its own thread, retrying for a minute."""

    def __init__(self, session, base, dataflow_tag):
        self.session, self.base, self.dataflow_tag = session, base, dataflow_tag
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._unsent = 0

    def send(self, action_id, outcome):
        self._unsent += 1
        self._queue.put((action_id, outcome))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="keras_prov-steering-outcomes", daemon=True)
            self._thread.start()
            _SENDERS.append(self)

    def _run(self):
        while True:
            action_id, outcome = self._queue.get()
            deadline = time.monotonic() + 60
            while True:
                try:
                    answer = self.session.post(f"{self.base}/{action_id}/outcome", params={"dataflow": self.dataflow_tag},
                                               json=outcome, timeout=(5, 30))
                    if answer.status_code < 500:
                        if answer.status_code >= 400:
                            logger.warning("keras_prov: DfAnalyzer did not take the outcome of steering action %s: "
                                           "%s %s", action_id, answer.status_code, answer.text[:200])
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    logger.warning("keras_prov: could not report the outcome of steering action %s; the run's "
                                   "provenance records it anyway", action_id)
                    break
                time.sleep(1)
            self._unsent -= 1

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while self._unsent > 0 and time.monotonic() < deadline:
            time.sleep(0.05)


_SENDERS = []


@before_exit_close
def _report_outcomes_at_exit():
    for sender in _SENDERS:
        sender.wait(EXIT_TIMEOUT)


class SteeringCallback(keras.callbacks.Callback):
    """Acts on steering actions at epoch and batch boundaries; added by keras_prov's `fit` before
    every other callback, never by hand.

    Args:
        recorder: the model's `ExecutionRecorder`.
        provenance_callback: the fit's `ProvenanceCallback` (its training task and rate watcher).
        url: the DfAnalyzer service the listener asks.
    """

    async_safe = True  # the batch hook only reads a flag: Keras may keep dispatching batch hooks asynchronously

    def __init__(self, recorder, provenance_callback, url):
        super().__init__()
        self.recorder = recorder
        self.provenance_callback = provenance_callback
        self.url = url
        self.listener = None
        self.schedule = None
        self.epoch = 0
        self.stopped_by = None  # the stop action applied, with its epoch

    @classmethod
    def for_fit(cls, recorder, provenance_callback):
        """The callback for one recorded fit, or None when the fit cannot be steered."""
        try:
            url = steering_url(recorder.provenance)
        except ConfigurationError:
            return None  # an unusable DFA_URL: the recording reports it in one line, training goes on
        return None if url is None else cls(recorder, provenance_callback, url)

    # -- Keras hooks -------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.schedule = schedule_name(self.model.optimizer)
        self.listener = SteeringListener(self.url, self.recorder.dataflow_tag, self.recorder.exec_tag, self.schedule)
        self.listener.start()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.listener.pending:
            for action in self.listener.take((SET_LEARNING_RATE,)):
                self._set_learning_rate(action, epoch)

    def on_train_batch_end(self, batch, logs=None):
        if self.listener is not None and self.listener.pending and self.stopped_by is None:
            for action in self.listener.take((STOP_NOW,)):
                self._stop(action, self.epoch, f"at batch {batch + 1} of epoch {self.epoch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        if self.listener.pending:
            for action in self.listener.take((STOP, STOP_NOW)):
                self._stop(action, epoch, f"after epoch {epoch + 1}")
            for action in self.listener.take((NOTE,)):
                self._report(action, "applied", epoch=epoch + 1)

    def on_train_end(self, logs=None):
        self.close()
        if self.stopped_by is not None:
            recording.submit(_mark_stopped, self.provenance_callback.task, self.stopped_by)
        for action in self.listener.take((STOP, STOP_NOW, SET_LEARNING_RATE, NOTE)) if self.listener else []:
            self._report(action, "refused", message="fit ended before the action could be applied")

    def close(self):
        if self.listener is not None:
            self.listener.close()

    # -- actions -----------------------------------------------------------------------------

    def _stop(self, action, epoch, when):
        self.model.stop_training = True
        if self.stopped_by is not None:
            self._report(action, "applied", epoch=epoch + 1, message="the fit was already stopping")
            return
        self.stopped_by = (action, when)
        task = self.provenance_callback.task
        self._report(action, "applied", epoch=epoch + 1, task=None if task is None else task.id,
                     message=f"stopped {when}")

    def _set_learning_rate(self, action, epoch):
        if self.schedule:
            self._report(action, "refused", epoch=epoch + 1,
                         message=f"the optimizer follows the learning-rate schedule {self.schedule}")
            return
        callback = self.provenance_callback
        optimizer = self.model.optimizer
        old = callback.rates.rate() if callback.rates is not None else current_learning_rate(optimizer)
        optimizer.learning_rate = action["value"]
        new = callback.rates.rate() if callback.rates is not None else current_learning_rate(optimizer)
        callback.previous_rate = new  # recorded here with cause "user", not again by the provenance callback
        if callback.task is None:
            self._report(action, "applied", epoch=epoch + 1, old_value=old, new_value=new)
            return
        recording.submit(self._record_rate, callback.task, action, epoch + 1, old, new, time.time())

    def _record_rate(self, training_task, action, epoch, old, new, stamp):
        """An Adaptation task with cause "user" (recording thread), then the outcome."""
        task = self.recorder.record_adaptation(training_task, epoch, old, new, "user", stamp,
                                               output=_described(action))
        self._report(action, "applied", epoch=epoch, old_value=old, new_value=new, task=task.id)

    def _report(self, action, state, **details):
        self.listener.outcomes.send(action["id"], {"state": state, **details})


def _described(action):
    text = f"steering action {action['id']} ({action['action']}) by {action['actor']}"
    return text + (f": {action['note']}" if action.get("note") else "")


def _mark_stopped(task, stopped_by):
    """The training task ends STOPPED, saying by whom, when and why (recording thread)."""
    if task is None:
        return
    action, when = stopped_by
    task.set_status(TaskStatus.STOPPED)
    task.output = f"stopped {when}: {_described(action)}"
