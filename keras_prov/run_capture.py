"""What a fit records besides hyperparameters and epochs: its data, its code and environment, the
weights it started from and ended with, and the system load while it ran.

`ProvenanceCallback` calls `RunCapture` at four points; everything heavier than taking references
and copying weights happens on keras_prov's lineage, system and recording threads:

- `RunCapture(...)` (training thread, on_train_begin): takes argv and the notebook cell.
- `begin(model, task)` (training thread, on_train_begin, after the task's begin is queued): takes
  references to the data (hashing starts on the lineage thread), a copy of the initial weights;
  starts the system sampler.
- `send_begin(task)` (recording thread, with the task's begin): iCodeEnvironment, iSourceText.
- `end(model)` (training thread, on_train_end): waits for the hashing of in-memory arrays still
  running (see `data_lineage`), copies the trained weights, stops the sampler.
- `send_end(task)` (recording thread, before the task's end): iData if not sent yet, oModelWeights.

Sets (tables `<dataflow>.<set>`, documented in docs/keras_prov.md): iData, iCodeEnvironment,
iSourceText, oModelWeights, oSystemMetrics (and oStepMetrics from `step_metrics`).
"""

from dfa_lib_python.dataset import DataSet

from keras_prov import code_environment, data_lineage, model_derivation, system_metrics
from keras_prov.lineage_sets import (CODE_ENVIRONMENT, DATA, DATA_STEPS, MODEL_WEIGHTS, SOURCE_TEXT, SYSTEM_METRICS,
                                     TEST_DATA, TEST_DATA_STEPS)
from keras_prov.recording_thread import recording

LINEAGE_TIMEOUT = 600.0

_texts_stored = set()  # (url, dataflow, sha256) this process sent or found stored


class RunCapture:
    """The data, code, weights and system load of one fit (see the module's docstring).

    Args:
        recorder: the model's `ExecutionRecorder`.
        fit_arguments: the fit's arguments by name.
    """

    def __init__(self, recorder, fit_arguments):
        self.recorder = recorder
        self.fit_arguments = fit_arguments
        self.lineage = None
        self.code = code_environment.capture()
        self.initial_weights = None
        self.trained_weights = None
        self.sampler = None
        self.task = None

    # -- training thread ---------------------------------------------------------------------

    def begin(self, model, task):
        self.task = task
        arguments = self.fit_arguments
        self.initial_weights = model_derivation.weights_copy(model) if model.built else None
        self.lineage = data_lineage.DataLineage.start(
            data_lineage.fit_inputs(arguments), arguments.get("validation_split"),
            when_done=lambda lineage: recording.submit(self._send_data, task, lineage))
        every = self.recorder.provenance.system_metrics_every
        self.sampler = system_metrics.SystemSampler.start(
            every, lambda row: recording.submit(self._send_rows, task, SYSTEM_METRICS, [row]))

    def epoch_begin(self, epoch):
        if self.sampler is not None:
            self.sampler.epoch = epoch + 1

    def end(self, model):
        if self.lineage is not None:
            self.lineage.wait_for_arrays(LINEAGE_TIMEOUT)
        self.trained_weights = model_derivation.weights_copy(model)
        self.stop()

    def stop(self):
        """Stops the system sampler (also when fit fails)."""
        if self.sampler is not None:
            sampler, self.sampler = self.sampler, None
            sampler.stop()

    # -- recording thread --------------------------------------------------------------------

    def send_begin(self, task):
        row, texts = code_environment.describe(self.code)
        flow = self.recorder.flow
        task.add_dataset(DataSet(CODE_ENVIRONMENT, [flow.row(CODE_ENVIRONMENT, row)]))
        new_texts = self._unstored(texts)
        if new_texts:
            task.add_dataset(DataSet(SOURCE_TEXT, [flow.row(SOURCE_TEXT, text) for text in new_texts]))
        add_data_steps(self.recorder, task, DATA_STEPS)

    def send_end(self, task):
        if self.lineage is not None:
            self._send_data(task, self.lineage, save=False)
        flow = self.recorder.flow
        row = {}
        if self.initial_weights is not None:
            row["initial_weights_sha256"] = model_derivation.weights_digest(self.initial_weights)[0]
        if self.trained_weights is not None:
            row["trained_weights_sha256"], row["weights_count"], row["weights_bytes"] = \
                model_derivation.weights_digest(self.trained_weights)
        self.initial_weights = self.trained_weights = None
        if row:
            task.add_dataset(DataSet(MODEL_WEIGHTS, [flow.row(MODEL_WEIGHTS, row)]))

    def _send_data(self, task, lineage, save=True):
        rows = lineage.take_rows(LINEAGE_TIMEOUT)
        if rows:
            flow = self.recorder.flow
            task.add_dataset(DataSet(DATA, [flow.row(DATA, row) for row in rows]))
            if save:
                task.save()

    def _send_rows(self, task, set_tag, rows):
        flow = self.recorder.flow
        task.add_dataset(DataSet(set_tag, [flow.row(set_tag, row) for row in rows]))
        task.save()

    def _unstored(self, texts):
        """The texts whose digest this dataflow does not hold yet (asked once per digest and process)."""
        import dfa_lib_python

        client = dfa_lib_python.get_client()
        tag = self.recorder.dataflow_tag.lower()
        wanted = [text for text in texts if (client.url, tag, text["sha256"]) not in _texts_stored]
        if not wanted:
            return []
        # The digests are hex (ours) and the tag passed the tag pattern: nothing here can close a quote.
        digests = ", ".join(f"'{text['sha256']}'" for text in wanted)
        try:
            _, rows = client.transport.query(
                f'SELECT sha256 FROM "{tag}".isourcetext WHERE sha256 IN ({digests})', 1000)
            stored = {row[0] for row in rows}
        except Exception:  # noqa: BLE001 - no such table yet, or DfAnalyzer down: send them
            stored = set()
        for text in wanted:
            _texts_stored.add((client.url, tag, text["sha256"]))
        return [text for text in wanted if text["sha256"] not in stored]


def record_test_data(recorder, task, lineage):
    """iTestData (and iDataSteps) rows of an evaluate (recording thread, before the task begins)."""
    rows = lineage.take_rows(LINEAGE_TIMEOUT)
    if rows:
        task.add_dataset(DataSet(TEST_DATA, [recorder.flow.row(TEST_DATA, row) for row in rows]))
    add_data_steps(recorder, task, TEST_DATA_STEPS)


def add_data_steps(recorder, task, set_tag):
    """One row of `set_tag` (iDataSteps, iTestDataSteps) per DLProv step named by
    `provenance(data_steps=...)`."""
    steps = recorder.provenance.data_steps
    if steps:
        columns = ("step_dataflow", "step_execution", "step_task", "step_transformation")
        task.add_dataset(DataSet(set_tag, [recorder.flow.row(set_tag, dict(zip(columns, step))) for step in steps]))
