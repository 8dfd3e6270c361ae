"""What `keras_prov.start_run` costs the thread of a training loop that does not call fit: the time
inside `run.log_epoch` (metrics given as tensors, as loops give them), `run.log_learning_rate` and
`run.log_test` on the caller's thread, and the one-off costs of `start_run` and of leaving the
block, against a real DfAnalyzer on embedded MonetDB (started here on a free port). Then how long
the recording thread took to turn it all into records. No thresholds: this prints figures.

    .venv/bin/python bench/manual_run.py [--epochs 2000] [--metrics 6]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_prov  # noqa: E402
from keras_prov.recording_thread import recording  # noqa: E402
from service_process import ServiceProcess  # noqa: E402


def microseconds(samples):
    ordered = sorted(samples)
    return (f"median {statistics.median(ordered) * 1e6:.1f} µs, p90 {ordered[int(len(ordered) * 0.9)] * 1e6:.1f} µs, "
            f"max {ordered[-1] * 1e6:.0f} µs")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000, help="log_epoch calls")
    parser.add_argument("--metrics", type=int, default=6, help="metrics per log_epoch")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="bench-manual-run-")
    service = ServiceProcess(os.path.join(directory, "dfa-data")).start()
    try:
        model = keras_prov.Sequential([keras_prov.Input((8,)), keras_prov.layers.Dense(4)])
        values = [tf.constant(float(i)) for i in range(args.metrics)]
        names = [f"metric_{i}" for i in range(args.metrics)]
        start_run = keras_prov.start_run  # imports keras_prov.manual_run and dfa_lib_python: not timed
        started = time.perf_counter()
        run = start_run("bench_manual", hyperparameters={"learning_rate": 0.1, "epochs": args.epochs},
                                   model=model, url=service.url, store_model=False)
        start_cost = time.perf_counter() - started
        epoch_costs, rate_costs = [], []
        for epoch in range(1, args.epochs + 1):
            metrics = dict(zip(names, values))
            started = time.perf_counter()
            run.log_epoch(epoch, loss=np.float32(1.0 / epoch), **metrics)
            epoch_costs.append(time.perf_counter() - started)
            if epoch % 100 == 0:
                started = time.perf_counter()
                run.log_learning_rate(0.1 / epoch)
                rate_costs.append(time.perf_counter() - started)
        started = time.perf_counter()
        run.log_test(loss=tf.constant(0.5))
        test_cost = time.perf_counter() - started
        started = time.perf_counter()
        run.end()
        end_cost = time.perf_counter() - started
        started = time.perf_counter()
        recording.drain(600)
        drained = time.perf_counter() - started
        stored = keras_prov.flush(600)

        print(f"start_run: {start_cost * 1e3:.2f} ms (once: connects dfa_lib_python, reads the model)")
        print(f"log_epoch with {args.metrics + 1} metrics ({args.epochs} calls): {microseconds(epoch_costs)}")
        print(f"log_learning_rate ({len(rate_costs)} calls): {microseconds(rate_costs)}")
        print(f"log_test: {test_cost * 1e6:.0f} µs; leaving the run (no model stored): {end_cost * 1e6:.0f} µs")
        print(f"recording thread still busy after the loop: {drained:.2f} s; everything stored: {stored}")
        rows = service.query("SELECT COUNT(*) FROM bench_manual.otrainingmodel")
        print(f"oTrainingModel rows stored: {rows[0][0]}")
    finally:
        service.stop()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
