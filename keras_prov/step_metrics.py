"""Batch-level metrics every N steps of a fit (`provenance(log_every_n_steps=N)`, off by default).

Each row of `oStepMetrics`: epoch (from 1), step (within the epoch, from 1: N, 2N, ...),
global_step (since the fit began), timestamp, elapsed_time (seconds since the epoch began) and
every value of Keras's batch logs (Keras gives the running mean of the epoch so far). The rows are
handed to keras_prov's recording thread in groups (at most every `FLUSH_SECONDS` and at the end of
each epoch), so the run page draws the running epoch while it runs.

The callback declares itself `async_safe`: Keras then calls its batch hook on its own callback
threads (when no other callback needs batch hooks in order), where converting the logs to Python
numbers happens; on the training thread there is only that dispatch.
"""
import threading
import time

import keras
from dfa_lib_python.dataset import DataSet

from keras_prov import training_dataflow
from keras_prov.execution_recorder import utc_text
from keras_prov.lineage_sets import STEP_METRICS
from keras_prov.recording_thread import recording
from keras_prov.values import as_number

FLUSH_SECONDS = 0.5


class StepMetrics(keras.callbacks.Callback):
    """Added by keras_prov's `fit` next to `ProvenanceCallback` when `log_every_n_steps` is set.

    Args:
        provenance_callback: the fit's `ProvenanceCallback` (its task receives the rows).
        every: N, record one row every N training steps.
    """

    async_safe = True

    def __init__(self, provenance_callback, every):
        super().__init__()
        self.provenance_callback = provenance_callback
        self.every = int(every)
        self.epoch = 1
        self.epoch_started = time.time()
        self.next_step = self.every
        self.global_offset = 0
        self.steps_seen = 0
        self._rows = []
        self._flushed = time.monotonic()
        self._lock = threading.Lock()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.epoch_started = time.time()
        self.next_step = self.every
        self.global_offset += self.steps_seen
        self.steps_seen = 0

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        if step < self.next_step or not self.provenance_callback.enabled:
            return
        self.next_step = (step // self.every + 1) * self.every
        now = time.time()
        with self._lock:
            self.steps_seen = max(self.steps_seen, step)
            self._rows.append((self.epoch, step, self.global_offset + step, now, now - self.epoch_started,
                               dict(logs or {})))
            if time.monotonic() - self._flushed >= FLUSH_SECONDS:
                self._flush()

    def on_epoch_end(self, epoch, logs=None):
        with self._lock:
            self._flush()

    def on_train_end(self, logs=None):
        with self._lock:
            self._flush()

    def _flush(self):
        self._flushed = time.monotonic()
        task = self.provenance_callback.task
        if self._rows and task is not None:
            recording.submit(_send, self.provenance_callback.recorder, task, self._rows)
        self._rows = []


def _send(recorder, task, rows):
    flow = recorder.flow
    names = {name for *_, logs in rows for name in logs}
    if flow.add_columns(STEP_METRICS, names):
        recorder.save_dataflow()
    elements = []
    for epoch, step, global_step, stamp, elapsed, logs in rows:
        values = {training_dataflow.column_name(name): as_number(value) for name, value in logs.items()}
        values.update(epoch=epoch, step=step, global_step=global_step, timestamp=utc_text(stamp),
                      elapsed_time=round(elapsed, 6))
        elements.append(flow.row(STEP_METRICS, values))
    task.add_dataset(DataSet(STEP_METRICS, elements))
    task.save()
