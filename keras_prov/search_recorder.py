"""A tuner's search recorded as a search: what KerasTuner and Optuna runs have in common.

A search is an execution of its own in the dataflow its fits record into (its exec tag is the
search id): one Search task with oSearch rows (tuner, objective, search space, best trial, ...)
and one Trial task per trial with oTrial rows (the tuner's values, status, score, the runs of
the trial, Hyperband's continuation, pruning). Both sets are written again when something changes;
the last row of a search or trial is the current one.

Every fit inside a trial is a run (an execution) of its own, tagged `<trial id>-e<n>`, whose
iTrainingModel row also holds `search_id`, `trial_id`, `trial_execution` and each tuned value
under its name in the search space (see `tuned_column`), so the runs table, /analysis and SQL
see them as hyperparameters.

Nothing is sent before the first recorded fit of the search: that fit's settings say whether
and where to record (`KERAS_PROV_AUTOLOG`, `provenance=` or `hyperparameters=True` on the
tuner's search, which passes them on to fit). The integrations (`keras_prov.integrations.*`)
describe the search and its trials; the fit path asks `active_trial()`. Until a fit records,
this module loads nothing of the recording machinery (dfa_lib_python, the recording thread).
"""
import contextlib
import datetime
import json
import math
import re
import threading
import uuid

from keras_prov.hyperparameter_catalog import BUILT_IN_TYPES

SEARCH_LINK_COLUMNS = ("search_id", "trial_id", "trial_execution")
_NOT_A_NAME = re.compile(r"[^a-z0-9_]")
_local = threading.local()
_pruning_errors = []


def register_pruning_error(error_type):
    """An exception type a tuner raises to prune a trial (e.g. optuna.TrialPruned): a fit ended by
    it is PRUNED, not FAILED."""
    if error_type not in _pruning_errors:
        _pruning_errors.append(error_type)


def is_pruning(error):
    return bool(_pruning_errors) and isinstance(error, tuple(_pruning_errors))


def active_trial():
    """The trial whose fits this thread runs now, or None (one attribute read on every recorded fit)."""
    return getattr(_local, "trial", None)


def set_active_trial(trial):
    _local.trial = trial


def tuned_column(name):
    """The iTrainingModel column of a tuned hyperparameter: its name in lower case with '_' for
    anything but letters and digits ("tuner/epochs" -> "tuner_epochs"); `tuned_` before a name
    keras_prov records itself (e.g. a tuned "learning_rate" is `tuned_learning_rate`)."""
    column = _NOT_A_NAME.sub("_", str(name).lower())
    if not column or not (column[0].isalpha() or column[0] == "_"):
        column = "hp_" + column
    if column in BUILT_IN_TYPES or column in SEARCH_LINK_COLUMNS:
        column = "tuned_" + column
    return column


def new_search_id(kind):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    short = _NOT_A_NAME.sub("", str(kind).lower())[:24] or "search"
    return f"{short}-{stamp}-{uuid.uuid4().hex[:6]}"


def _submit(function, *args):
    """Runs `function(*args)` on keras_prov's recording thread."""
    from keras_prov.recording_thread import recording

    recording.submit(function, *args)


def _flow():
    from keras_prov import training_dataflow

    return training_dataflow


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def number_or_none(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_json(value):
    return json.dumps(value, default=str, sort_keys=False)


class SearchRecorder:
    """Records one search; made by an integration when the tuner's search starts.

    Args:
        kind: short name for the search id (the tuner class, "optuna").
        library: ("keras_tuner" | "optuna", its version), the software agent of the search.
        fields: the oSearch values known at the start (tuner, oracle, objective, direction,
            max_trials, executions_per_trial, project, pruner); `update(...)` changes them.
        search_space: [{"name", "type", ...}] as the tuner declares it.
        objective: (metric name, "min" | "max") that ranks executions of a trial, or None.

    Thread-safe: Optuna runs trials in threads with `n_jobs`.
    """

    def __init__(self, kind, library, fields, search_space, objective=None):
        self.search_id = new_search_id(kind)
        self.library, self.library_version = library
        self.fields = dict(fields)
        self.search_space = list(search_space)
        self.objective = objective
        self.started = utc_now()
        self.column_types = {}
        for entry in self.search_space:
            self.note_type(entry["name"], entry.get("column_type"))
        self.recorder = None  # the ExecutionRecorder of the search's execution, from the first recorded fit
        self.task = None
        self.trials = {}  # tuner's trial id -> TrialRecord
        self._numbers = 0
        self._lock = threading.RLock()

    # -- what integrations call ------------------------------------------------------------------

    def note_type(self, name, column_type):
        """The column type of a tuned hyperparameter ("NUMERIC" | "TEXT"), fixed by the first one seen."""
        if column_type in ("NUMERIC", "TEXT"):
            self.column_types.setdefault(tuned_column(name), column_type)

    def update(self, search_space=None, **fields):
        with self._lock:
            if search_space is not None:
                self.search_space = list(search_space)
            self.fields.update(fields)

    def begin_trial(self, tuner_trial_id, values, **fields):
        """A TrialRecord made active on this thread. `values` is a dict or a callable giving the
        tuner's values now (Optuna's grow while the objective runs)."""
        with self._lock:
            trial = self.trials.get(str(tuner_trial_id))
            if trial is None:
                trial = self.trials[str(tuner_trial_id)] = TrialRecord(self, str(tuner_trial_id), self._numbers, values,
                                                                        fields)
                self._numbers += 1
        set_active_trial(trial)
        return trial

    def end_trial(self, trial, status, score=None, best_step=None, message=None, **fields):
        """Ends `trial` with the tuner's status and score; its Trial task gets its final row."""
        if active_trial() is trial:
            set_active_trial(None)
        with self._lock:
            trial.fields.update(fields)
            trial.fields.update(status=status, score=number_or_none(score), best_step=number_or_none(best_step),
                                ended=utc_now())
            if message and not trial.fields.get("message"):
                trial.fields["message"] = str(message)[:4000]
            trial.ended = True
            if self.recorder is not None:
                _submit(self._send_trial, trial, trial.row(), True)

    def finish(self, status="FINISHED", best_trial=None, best_score=None):
        """The search is over: its final oSearch row and the end of its Search task."""
        if active_trial() is not None and active_trial().search is self:
            set_active_trial(None)
        with self._lock:
            best = self.trials.get(str(best_trial)) if best_trial is not None else None
            self.fields.update(status=status, ended=utc_now(), best_trial=best.trial_id if best else None,
                               best_score=number_or_none(best_score))
            if self.recorder is not None:
                _submit(self._send_search, self.row(), True)

    @contextlib.contextmanager
    def running(self, outcome):
        """The tuner's search runs inside; on the way out the search is finished FINISHED,
        ABORTED (Ctrl-C) or FAILED, with `outcome()`'s (best trial, best score) asked then."""
        status = "FAILED"
        try:
            yield self
            status = "FINISHED"
        except KeyboardInterrupt:
            status = "ABORTED"
            raise
        finally:
            self.finish(status, *outcome())

    def trial_of(self, tuner_trial_id):
        return self.trials.get(str(tuner_trial_id))

    # -- the fit path ----------------------------------------------------------------------------

    def start(self, settings):
        """Called with the first recorded fit's settings: the search's execution and what waited."""
        with self._lock:
            if self.recorder is not None:
                return
            from keras_prov.execution_recorder import ExecutionRecorder

            recorder = ExecutionRecorder(settings.replace(exec_tag=self.search_id, extra={}))
            recorder.flow.add_search()
            recorder.dataflow.execution.add_software(self.library, version=self.library_version)
            self.recorder = recorder
            _submit(self._send_start, self.row())
            for trial in self.trials.values():
                if trial.ended:
                    _submit(self._send_trial, trial, trial.row(), True)

    def row(self):
        fields = dict(self.fields)
        fields.update(search_id=self.search_id, library=self.library, library_version=self.library_version,
                      started=self.started, trials=len(self.trials),
                      search_space=as_json([{**entry, "column": tuned_column(entry["name"])}
                                            for entry in self.search_space]))
        fields.setdefault("status", "RUNNING")
        return fields

    def _send_start(self, row):
        from dfa_lib_python.task import Task

        self.recorder.start()
        self.task = Task("search", self.recorder.dataflow_tag, self.search_id, _flow().SEARCH.lower())
        self._add_row(self.task, _flow().SEARCH_ROWS, row)
        self.task.begin()

    def _send_search(self, row, final):
        self._add_row(self.task, _flow().SEARCH_ROWS, row)
        if final:
            self.task.end()
        else:
            self.task.save()

    def _send_trial(self, trial, row, final):
        from dfa_lib_python.task import Task

        if trial.task is None:
            trial.task = Task(trial.trial_id, self.recorder.dataflow_tag, self.search_id,
                              _flow().TRIAL.lower(), dependency=self.task)
            self._add_row(trial.task, _flow().TRIAL_ROWS, row)
            trial.task.begin()
            if not final:
                return
        else:
            self._add_row(trial.task, _flow().TRIAL_ROWS, row)
        if final:
            trial.task.end()
        else:
            trial.task.save()

    def _add_row(self, task, set_tag, values):
        from dfa_lib_python.dataset import DataSet

        task.add_dataset(DataSet(set_tag, [self.recorder.flow.row(set_tag, values)]))


class TrialRecord:
    """One trial of a search and the runs (fits) it made."""

    def __init__(self, search, tuner_trial_id, number, values, fields):
        self.search = search
        self.tuner_trial_id = tuner_trial_id
        self.trial_id = f"{search.search_id}-t{tuner_trial_id}"
        self.number = number
        self._values = values
        self.fields = dict(fields)
        self.fields["started"] = utc_now()
        self.runs = []  # [ExecutionRecorder] in order
        self.run_scores = []  # the objective's best value in each run (None when unknown)
        self.task = None
        self.ended = False

    def values(self):
        values = self._values() if callable(self._values) else self._values
        return dict(values or {})

    def row(self):
        fields = dict(self.fields)
        fields.update(trial_id=self.trial_id, search_id=self.search.search_id, trial_number=self.number,
                      tuner_trial_id=self.tuner_trial_id, hyperparameters=as_json(self.values()),
                      runs=",".join(recorder.exec_tag for recorder in self.runs) or None)
        fields.setdefault("status", "RUNNING")
        return fields

    def settings_for_fit(self, settings):
        """The Provenance of the next fit of this trial: a run of its own carrying the tuned values."""
        search = self.search
        search.start(settings)
        extra = dict(settings.extra)
        for name, value in self.values().items():
            column = tuned_column(name)
            kind = search.column_types.get(column)
            if kind is None:
                kind = "NUMERIC" if number_or_none(value) is not None or isinstance(value, (int, float)) \
                    and not isinstance(value, bool) else "TEXT"
                search.column_types[column] = kind
            if value is None:
                continue
            extra[column] = (number_or_none(value) if kind == "NUMERIC" else
                             ("true" if value is True else "false" if value is False else str(value)))
            if extra[column] is None:
                del extra[column]
        with search._lock:
            execution = len(self.runs) + 1
            extra.update(search_id=search.search_id, trial_id=self.trial_id, trial_execution=execution)
            return settings.replace(exec_tag=f"{self.trial_id}-e{execution}", extra=extra)

    def fit_started(self, recorder):
        with self.search._lock:
            self.runs.append(recorder)
            self.run_scores.append(None)
        _submit(self.search._send_trial, self, self.row(), False)

    def fit_raised(self, error, epochs_done):
        """A fit of this trial ended by an exception: a pruning notes the epoch it stopped at."""
        if is_pruning(error):
            self.fields["pruned_epoch"] = epochs_done or None
        self.fields.setdefault("message", f"{type(error).__name__}: {error}".strip().rstrip(":")[:4000])

    def fit_finished(self, recorder, history):
        """Keeps the objective's best value in this run (which run `get_best_models` stands for)."""
        objective = self.search.objective
        if objective is None or history is None:
            return
        name, direction = objective
        values = [number_or_none(v) for v in (getattr(history, "history", None) or {}).get(name, [])]
        values = [v for v in values if v is not None]
        if values and recorder in self.runs:
            self.run_scores[self.runs.index(recorder)] = min(values) if direction == "min" else max(values)

    def best_run(self):
        """The ExecutionRecorder of the run with the best objective (the last run when unknown)."""
        if not self.runs:
            return None
        scored = [(score, index) for index, score in enumerate(self.run_scores) if score is not None]
        if not scored:
            return self.runs[-1]
        sign = 1 if self.search.objective[1] == "min" else -1
        return self.runs[min(scored, key=lambda pair: (sign * pair[0], pair[1]))[1]]
