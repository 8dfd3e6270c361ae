"""Tuner scripts the tuning tests run in fresh interpreters, all at once (each prints one JSON line
with what the tuner itself says: its trials, values, statuses and scores)."""
import json
import os
import subprocess
import sys
import textwrap

DATA = """
import json, os, sys
import numpy as np
from sklearn.datasets import load_digits
digits = load_digits()
x = (digits.data[:200] / 16.0).astype("float32"); y = digits.target[:200]
x_train, y_train, x_val, y_val = x[:150], y[:150], x[150:], y[150:]
"""

KERAS_TUNER_HOOK = DATA + """
import keras, keras_tuner, keras_prov

def build(hp):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(hp.Float("learning_rate", 0.01, 0.3, sampling="log")),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

def trials(tuner):
    return {t.trial_id: {"values": {k: v for k, v in t.hyperparameters.values.items()}, "status": t.status,
                         "score": t.score} for t in tuner.oracle.trials.values()}

random = keras_tuner.RandomSearch(build, objective="val_accuracy", max_trials=3, seed=1,
                                  directory=sys.argv[1], project_name="random")
random.search(x_train, y_train, epochs=2, validation_data=(x_val, y_val), verbose=0)
best_trial = random.oracle.get_best_trials(1)[0].trial_id
random.get_best_models(1)[0].evaluate(x_val, y_val, verbose=0)

band = keras_tuner.Hyperband(build, objective="val_accuracy", max_epochs=4, factor=4, executions_per_trial=2, seed=1,
                             directory=sys.argv[1], project_name="band")
band.search(x_train, y_train, validation_data=(x_val, y_val), verbose=0)
print(json.dumps({"random": trials(random), "best_trial": best_trial, "band": trials(band),
                  "flushed": keras_prov.flush(60)}, default=str))
"""

TUNERS_FLAGS = DATA + """
import keras, keras_tuner, keras_prov

class Model(keras_tuner.HyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dropout(hp.Choice("dropout", [0.0, 0.25])),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(hp.Choice("optimizer", ["sgd", "adam"]), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

tuner = keras_tuner.GridSearch(Model(), objective="val_loss", max_trials=2, directory=sys.argv[1], project_name="grid")
plain = "dfa_lib_python" not in sys.modules
tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0, provenance=os.environ["TAG"])
bayes = keras_tuner.BayesianOptimization(Model(), objective="val_loss", max_trials=2, num_initial_points=1, seed=1,
                                         directory=sys.argv[1], project_name="bayes")
bayes.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0, provenance=os.environ["TAG"])

import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)

def objective(trial):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(trial.suggest_float("learning_rate", 0.01, 0.5, log=True)),
                  "sparse_categorical_crossentropy")
    history = model.fit(x_train, y_train, epochs=1, verbose=0, validation_data=(x_val, y_val),
                        provenance=os.environ["TAG"])
    return history.history["val_loss"][-1]

study = optuna.create_study(study_name="flags", sampler=optuna.samplers.RandomSampler(seed=1))
study.optimize(objective, n_trials=2)
print(json.dumps({"trials": {t.trial_id: {"values": t.hyperparameters.values, "status": t.status, "score": t.score}
                             for t in tuner.oracle.trials.values()},
                  "bayes": {t.trial_id: {"values": t.hyperparameters.values, "status": t.status, "score": t.score}
                            for t in bayes.oracle.trials.values()},
                  "optuna": {t.number: {"params": t.params, "state": t.state.name, "value": t.value}
                             for t in study.trials},
                  "nothing_loaded_before_search": plain, "flushed": keras_prov.flush(60)}, default=str))
"""

OPTUNA_HOOK = DATA + """
import optuna
from optuna_integration import TFKerasPruningCallback
import keras, keras_prov
optuna.logging.set_verbosity(optuna.logging.WARNING)


class StillRatePruner(optuna.pruners.BasePruner):
    # Prunes, from the second epoch on, the trials whose learning rate is 0 (they cannot learn).

    def prune(self, study, trial):
        return trial.params["learning_rate"] == 0.0 and max(trial.intermediate_values, default=0) >= 1


def objective(trial):
    units = trial.suggest_int("units", 4, 12, step=4)
    rate = trial.suggest_categorical("learning_rate", [0.0, 0.3])
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(units, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=3, verbose=0, validation_data=(x_val, y_val),
                        callbacks=[TFKerasPruningCallback(trial, "val_loss")])
    return history.history["val_loss"][-1]


study = optuna.create_study(study_name="pruned", direction="minimize", pruner=StillRatePruner(),
                            sampler=optuna.samplers.GridSampler({"units": [4, 8, 12], "learning_rate": [0.0, 0.3]}))
study.optimize(objective, n_trials=6)
print(json.dumps({"trials": {t.number: {"params": t.params, "state": t.state.name, "value": t.value,
                                        "intermediate": t.intermediate_values} for t in study.trials},
                  "best": study.best_trial.number, "flushed": keras_prov.flush(60)}, default=str))
"""


def start(script, workdir, env):
    """Starts `script` in a new interpreter; `finish()` of the result waits and parses its report."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    for name in ("KERAS_PROV_DISABLE", "KERAS_PROV_AUTOLOG"):
        if name not in env:
            environment.pop(name, None)
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), str(workdir)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment, cwd=str(workdir))
    return RunningScript(process)


class RunningScript:
    def __init__(self, process):
        self.process = process
        self._report = None

    def finish(self, timeout=900):
        if self._report is None:
            out, err = self.process.communicate(timeout=timeout)
            assert self.process.returncode == 0, err[-5000:]
            self._report = (json.loads(out.strip().splitlines()[-1]), err)
        return self._report
