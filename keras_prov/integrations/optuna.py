"""Optuna studies recorded as searches when their objective fits Keras models.

`activate()` wraps `Study.optimize`: the study is the search (name, direction(s), sampler,
pruner, n_trials, best trial and value at the end) and each call of the objective a trial
(number, `trial.params` as they are when a fit starts and when the trial ends, intermediate
values, state COMPLETE, PRUNED or FAIL, value). Every fit inside the objective is a run of the
trial carrying `trial.params` as hyperparameter columns (see `keras_prov.search_recorder`).

`optuna.TrialPruned` raised inside a fit (Optuna's `TFKerasPruningCallback` raises it in
`on_epoch_end`) ends that run as PRUNED, the epoch it was pruned at recorded, not FAILED.
Nothing is recorded unless the fits are (`KERAS_PROV_AUTOLOG`, or `provenance=` /
`hyperparameters=True` on `model.fit(...)` in the objective).
"""
import functools
import importlib.metadata
import json
import math

from optuna import exceptions
from optuna.study import study as study_module

from keras_prov import search_recorder
from keras_prov.search_recorder import SearchRecorder, number_or_none

DIRECTIONS = {"MINIMIZE": "min", "MAXIMIZE": "max"}


def activate():
    Study = study_module.Study
    if getattr(Study.optimize, "_keras_prov", False):
        return
    search_recorder.register_pruning_error(exceptions.TrialPruned)
    wrapped = _optimize(Study.optimize)
    wrapped._keras_prov = True
    Study.optimize = wrapped


def _optimize(original):
    @functools.wraps(original)
    def optimize(self, func, *args, **kwargs):
        n_trials = kwargs.get("n_trials", args[0] if args else None)
        search = _new_search(self, n_trials)
        with search.running(lambda: _best(self)):
            return original(self, _objective(self, search, func), *args, **kwargs)

    return optimize


def _objective(study, search, func):
    """`func` as a trial of `search`."""
    space = {}

    def values(trial):
        for name, distribution in trial.distributions.items():
            if name not in space:
                space[name] = _space_entry(name, distribution)
                search.note_type(name, space[name]["column_type"])
                search.update(search_space=list(space.values()))
        return dict(trial.params)

    @functools.wraps(func)
    def objective(trial):
        record = search.begin_trial(trial.number, functools.partial(values, trial))
        state, value, message = "FAIL", None, None
        try:
            value = func(trial)
            state = "COMPLETE" if _valid(value) else "FAIL"
            return value
        except exceptions.TrialPruned as error:
            state, message = "PRUNED", f"TrialPruned: {error}"
            raise
        except BaseException as error:
            message = f"{type(error).__name__}: {error}"
            raise
        finally:
            values(trial)
            search.end_trial(record, state, score=value if number_or_none(value) is not None else None,
                             message=message, intermediate_values=_intermediate_values(study, trial))

    return objective


def _new_search(study, n_trials):
    directions = [DIRECTIONS.get(direction.name, direction.name.lower()) for direction in study.directions]
    metric_names = getattr(study, "metric_names", None)
    fields = {
        "tuner": "optuna.Study",
        "oracle": type(study.sampler).__name__,
        "pruner": type(study.pruner).__name__,
        "project": study.study_name,
        "objective": ",".join(metric_names) if metric_names else "value",
        "direction": ",".join(directions),
        "max_trials": n_trials,
    }
    return SearchRecorder("optuna", ("optuna", _version()), fields, [])


def _space_entry(name, distribution):
    entry = {"name": name, "type": type(distribution).__name__.replace("Distribution", "")}
    for key in ("low", "high", "step", "log", "choices"):
        value = getattr(distribution, key, None)
        if value is not None:
            entry[key] = list(value) if key == "choices" else value
    choices = entry.get("choices")
    numeric = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices) if choices else True
    entry["column_type"] = "NUMERIC" if numeric else "TEXT"
    return entry


def _valid(value):
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_valid(v) for v in value)
    number = number_or_none(value)
    return number is not None and math.isfinite(number)


def _intermediate_values(study, trial):
    try:
        reported = study._storage.get_trial(trial._trial_id).intermediate_values
    except Exception:  # noqa: BLE001 - a storage that cannot say
        return None
    return json.dumps({str(step): value for step, value in sorted(reported.items())}) if reported else None


def _best(study):
    try:
        best = study.best_trial
    except (ValueError, RuntimeError):  # no completed trial, or several objectives
        return None, None
    return best.number, best.value


def _version():
    try:
        return importlib.metadata.version("optuna")
    except importlib.metadata.PackageNotFoundError:
        return None
