"""KerasTuner searches recorded as searches (RandomSearch, BayesianOptimization, Hyperband,
GridSearch and subclasses of `Tuner` / `HyperModel`), with no change to the user's script.

`activate()` wraps four methods of KerasTuner's engine: `BaseTuner.search` (the search and its
end: best trial and score), `BaseTuner.on_trial_begin` / `on_trial_end` (each trial: the values
the oracle chose, status, score, best step, Hyperband's bracket, round, epochs and the trial it
continues) and `Tuner.load_model` (the model `get_best_models()` returns belongs to the best
trial's run, so its `evaluate` is a test of that run). Every fit inside a trial (one per
execution with `executions_per_trial`) is a run of its own; see `keras_prov.search_recorder`.
Nothing is recorded unless the fits are (`KERAS_PROV_AUTOLOG`, or `provenance=` /
`hyperparameters=True` passed to `tuner.search(...)`, which hands them to fit).
"""
import functools
import importlib.metadata

from keras_tuner.src.engine import base_tuner, tuner as tuner_module

from keras_prov.search_recorder import SearchRecorder

HYPERBAND_KEYS = {"tuner/epochs": "epochs", "tuner/initial_epoch": "initial_epoch", "tuner/bracket": "bracket",
                  "tuner/round": "round"}
CONTINUED_TRIAL = "tuner/trial_id"


def activate():
    BaseTuner, Tuner = base_tuner.BaseTuner, tuner_module.Tuner
    if getattr(BaseTuner.search, "_keras_prov", False):
        return
    for owner, name, wrapper in ((BaseTuner, "search", _search), (BaseTuner, "on_trial_begin", _trial_begin),
                                 (BaseTuner, "on_trial_end", _trial_end), (Tuner, "load_model", _load_model)):
        wrapped = wrapper(getattr(owner, name))
        wrapped._keras_prov = True
        setattr(owner, name, wrapped)


def _search(original):
    @functools.wraps(original)
    def search(self, *fit_args, **fit_kwargs):
        recorder = self._keras_prov_search = _new_search(self)
        self.__dict__.setdefault("_keras_prov_searches", []).append(recorder)

        def outcome():
            recorder.update(search_space=_search_space(self))  # Hyperband and others add to it as they go
            return _best(self)

        try:
            with recorder.running(outcome):
                return original(self, *fit_args, **fit_kwargs)
        finally:
            self._keras_prov_search = None

    return search


def _trial_begin(original):
    @functools.wraps(original)
    def on_trial_begin(self, trial):
        search = getattr(self, "_keras_prov_search", None)
        if search is not None:
            values = dict(trial.hyperparameters.values)
            fields = {field: values[key] for key, field in HYPERBAND_KEYS.items() if key in values}
            if CONTINUED_TRIAL in values:
                fields["continues_trial"] = f"{search.search_id}-t{values[CONTINUED_TRIAL]}"
            tuned = {name: value for name, value in values.items() if name != CONTINUED_TRIAL}
            search.begin_trial(trial.trial_id, tuned, **fields)
        return original(self, trial)

    return on_trial_begin


def _trial_end(original):
    @functools.wraps(original)
    def on_trial_end(self, trial):
        try:
            return original(self, trial)
        finally:
            search = getattr(self, "_keras_prov_search", None)
            record = search.trial_of(trial.trial_id) if search is not None else None
            if record is not None:
                ended = self.oracle.trials.get(trial.trial_id, trial)
                search.end_trial(record, str(ended.status), ended.score, ended.best_step,
                                 getattr(ended, "message", None))

    return on_trial_end


def _load_model(original):
    @functools.wraps(original)
    def load_model(self, trial):
        model = original(self, trial)
        for search in reversed(self.__dict__.get("_keras_prov_searches", [])):
            record = search.trial_of(trial.trial_id)
            run = record.best_run() if record is not None else None
            if run is not None:  # its evaluate is a test of the trial's run, not a run of its own
                model._keras_prov_settings = run.provenance
                model._keras_prov_recorder = run
                break
        return model

    return load_model


def _new_search(tuner):
    oracle = tuner.oracle
    objective = getattr(oracle, "objective", None)
    name = getattr(objective, "name", None)
    direction = getattr(objective, "direction", None)
    fields = {
        "tuner": type(tuner).__name__,
        "oracle": _oracle_text(oracle),
        "project": getattr(tuner, "project_name", None),
        "objective": str(name) if name is not None else None,
        "direction": direction,
        "max_trials": getattr(oracle, "max_trials", None),
        "executions_per_trial": getattr(tuner, "executions_per_trial", None),
    }
    ranking = (str(name), direction) if name is not None and direction in ("min", "max") else None
    return SearchRecorder(type(tuner).__name__, ("keras_tuner", _version()), fields, _search_space(tuner), ranking)


def _oracle_text(oracle):
    """The oracle's class and the settings that shape it (Hyperband's max_epochs and factor, ...)."""
    settings = [f"{name}={getattr(oracle, name)}" for name in ("max_epochs", "factor", "hyperband_iterations",
                                                                "num_initial_points", "alpha", "beta", "seed")
                if getattr(oracle, name, None) is not None]
    return f"{type(oracle).__name__}({', '.join(settings)})"


def _search_space(tuner):
    """Each hyperparameter of the space: name, type, range or choices, step, sampling, default, and
    the column type of its values."""
    try:
        space = tuner.oracle.get_space().space
    except Exception:  # noqa: BLE001 - an oracle without a space yet
        return []
    entries = []
    for hp in space:
        config = dict(hp.get_config())
        entry = {"name": hp.name, "type": type(hp).__name__}
        for key in ("min_value", "max_value", "step", "sampling", "default", "values", "value", "ordered"):
            if config.get(key) is not None:
                entry[key] = config[key]
        if config.get("conditions"):
            entry["conditions"] = [str(condition) for condition in config["conditions"]]
        entry["column_type"] = _column_type(entry)
        entries.append(entry)
    return entries


def _column_type(entry):
    kind = entry["type"]
    if kind in ("Int", "Float"):
        return "NUMERIC"
    if kind == "Boolean":
        return "TEXT"
    values = entry.get("values") if kind == "Choice" else [entry.get("value")]
    numbers = [value for value in values or [] if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return "NUMERIC" if values and len(numbers) == len(values) else "TEXT"


def _best(tuner):
    try:
        best = tuner.oracle.get_best_trials(1)
    except Exception:  # noqa: BLE001 - no completed trial
        return None, None
    if not best:
        return None, None
    return best[0].trial_id, best[0].score


def _version():
    try:
        return importlib.metadata.version("keras-tuner")
    except importlib.metadata.PackageNotFoundError:
        return None
