"""What recording a tuner's search costs: a KerasTuner RandomSearch of 20 one-epoch trials on
scikit-learn's digits, timed with and without recording, in interleaved pairs, each search in a
fresh interpreter (the timing covers `tuner.search(...)` only, not Python's and TensorFlow's start),
against a real DfAnalyzer on embedded MonetDB started here on a free port. Recording is turned on
the way users do it, with KERAS_PROV_AUTOLOG, and includes waiting for everything to be stored
(`keras_prov.flush()`), which the search's time does not.

Prints each pair and the median overhead in percent (target: at most 2 %). No thresholds.

    .venv/bin/python bench/tuning.py [--pairs 3] [--trials 20]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from service_process import ServiceProcess  # noqa: E402

SEARCH = """
import json, os, sys, time
import numpy as np
from sklearn.datasets import load_digits
import keras, keras_tuner

digits = load_digits()
x = (digits.data / 16.0).astype("float32"); y = digits.target
x_train, y_train, x_val, y_val = x[:1400], y[:1400], x[1400:], y[1400:]


def build(hp):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu"),
                              keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5)),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


tuner = keras_tuner.RandomSearch(build, objective="val_accuracy", max_trials=int(sys.argv[2]), seed=3,
                                 directory=sys.argv[1], project_name="bench")
started = time.perf_counter()
tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0)
elapsed = time.perf_counter() - started
stored = None
if os.environ.get("KERAS_PROV_AUTOLOG"):
    import keras_prov
    stored = keras_prov.flush(120)
print(json.dumps({"seconds": elapsed, "trials": len(tuner.oracle.trials), "stored": stored}))
"""


def timed_search(recording, url, workdir, trials):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "DFA_URL": url, "DFA_SPOOL_DIR": os.path.join(workdir, "spool")}
    env.pop("KERAS_PROV_AUTOLOG", None)
    if recording:
        env["KERAS_PROV_AUTOLOG"] = "bench_tuning"
    result = subprocess.run([sys.executable, "-c", SEARCH, workdir, str(trials)], capture_output=True, text=True,
                            env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-tuning-")
    service = ServiceProcess(os.path.join(root, "data")).start()
    overheads = []
    try:
        for pair in range(args.pairs):
            times = {}
            # Interleaved, the order alternating, so a machine getting busier weighs on both sides.
            for recording in ((False, True) if pair % 2 == 0 else (True, False)):
                workdir = tempfile.mkdtemp(dir=root)
                answer = timed_search(recording, service.url, workdir, args.trials)
                if recording and answer["stored"] is not True:
                    raise SystemExit(f"pair {pair + 1}: the recorded search was not stored within 120 s")
                times[recording] = answer["seconds"]
            overhead = 100.0 * (times[True] - times[False]) / times[False]
            overheads.append(overhead)
            print(f"pair {pair + 1}: without {times[False]:.2f} s, with {times[True]:.2f} s ({overhead:+.1f} %)",
                  flush=True)
        trials = service.query("SELECT COUNT(DISTINCT trial_id) FROM bench_tuning.otrial")[0][0]
        print(f"search of {args.trials} one-epoch trials (RandomSearch, digits, Adam): median overhead "
              f"{statistics.median(overheads):+.1f} % over {args.pairs} interleaved pairs; {trials} trials stored")
    finally:
        service.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
