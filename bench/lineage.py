"""What data lineage and per-step metrics cost a fit, against a real DfAnalyzer on embedded MonetDB
(started here on a free port). Prints figures; no thresholds.

- data: a fit on a 100 MB array (x: 25,600 x 1,024 float32) with its data hashed (SHA-256 of x and
  y on keras_prov's lineage thread) and without (the hashing replaced by nothing), in interleaved
  pairs: the median difference of fit's wall time, the hashing time, and the training thread's
  own share (taking references at the start, waiting at the end for hashing still running);
  then the time of the sampled identity of a 512 MB array (above the 256 MB full-hash limit).
- steps: the AlexNet-style CNN of examples/alexnet_kerasprov.py with `log_every_n_steps=10`
  and without per-step rows, interleaved pairs.
- stall: a tiny model at about 1,000 steps/s with `log_every_n_steps=1`: steps per second with and
  without the rows, and how long the recording thread still works after fit returns.

    .venv/bin/python bench/lineage.py [--pairs 3] [--part data,steps,stall]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import dfa_lib_python  # noqa: E402
import numpy as np  # noqa: E402

import keras_prov as keras  # noqa: E402
from keras_prov import data_lineage, run_capture  # noqa: E402
from keras_prov.recording_thread import recording  # noqa: E402
from service_process import ServiceProcess  # noqa: E402


class _NoLineage:
    """Stands for DataLineage when the data is not to be hashed."""

    @classmethod
    def start(cls, inputs, validation_split=None, when_done=None):
        return cls()

    def wait_for_arrays(self, timeout=None):
        pass

    def take_rows(self, timeout=None):
        return None


def interleaved(pairs, run):
    """[(with, without)] wall times and [(with, without)] process CPU times of `run(flag)`, which runs
    first alternating. CPU time (every thread of this process) moves less than wall time on a loaded
    machine, and counts the work of keras_prov's threads too."""
    walls, cpus = [], []
    for pair in range(pairs):
        wall, cpu = {}, {}
        for flag in ((True, False) if pair % 2 else (False, True)):
            started, cpu_started = time.perf_counter(), time.process_time()
            run(flag)
            wall[flag], cpu[flag] = time.perf_counter() - started, time.process_time() - cpu_started
        walls.append((wall[True], wall[False]))
        cpus.append((cpu[True], cpu[False]))
        print(f"  pair {pair + 1}: wall with {wall[True]:.2f} s, without {wall[False]:.2f} s "
              f"({100 * (wall[True] - wall[False]) / wall[False]:+.2f}%); CPU with {cpu[True]:.2f} s, "
              f"without {cpu[False]:.2f} s ({100 * (cpu[True] - cpu[False]) / cpu[False]:+.2f}%)")
    return walls, cpus


def summary(label, results):
    walls, cpus = results
    for name, pairs in (("wall", walls), ("CPU", cpus)):
        overheads = [100 * (a - b) / b for a, b in pairs]
        baselines = [b for _, b in pairs]
        print(f"{label}: {name} time median {statistics.median(overheads):+.2f}% (target <= 1%); the runs without "
              f"alone vary by {100 * (max(baselines) - min(baselines)) / min(baselines):.1f}%")


def data_part(pairs):
    rng = np.random.default_rng(0)
    x = rng.random((25_600, 1024), dtype=np.float32)
    y = rng.integers(0, 10, 25_600)
    print(f"\ndata: x {x.nbytes / 2**20:.0f} MiB, y {y.nbytes / 2**20:.2f} MiB")
    thread_costs = {True: [], False: []}
    real_start = data_lineage.DataLineage.start

    def fit(hashed):
        run_capture.data_lineage.DataLineage.start = real_start if hashed else _NoLineage.start
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((1024,)), keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        model.provenance(dataflow_tag="bench_lineage", store_model=False, system_metrics_every=0)
        model.fit(x, y, epochs=2, batch_size=256, verbose=0)
        callback = model._keras_prov_recorder.last_callback
        recording.drain(60)   # the hashing's rows are sent: its work is inside the measured time
        thread_costs[hashed].append(callback.begin_cost + callback.end_cost)

    fit(True)  # warm-up
    results = interleaved(pairs, fit)
    run_capture.data_lineage.DataLineage.start = real_start
    started, cpu_started = time.perf_counter(), time.process_time()
    data_lineage.array_identity(x)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    summary("data lineage", results)
    fit_cpu = statistics.median(b for _, b in results[1])
    print(f"  SHA-256 of the 100 MiB array alone: {wall:.3f} s wall, {cpu:.3f} s CPU = "
          f"{100 * cpu / fit_cpu:.2f}% of the CPU time of a fit without it")
    print(f"  training thread in on_train_begin + on_train_end: median {1e3 * statistics.median(thread_costs[True]):.1f} ms "
          f"with the data hashed, {1e3 * statistics.median(thread_costs[False]):.1f} ms without")
    big = np.zeros((512, 2**18), dtype=np.float32)   # 512 MiB
    started = time.perf_counter()
    row = data_lineage.array_identity(big)
    print(f"  512 MiB array: {row['digest_kind']} identity in {1e3 * (time.perf_counter() - started):.1f} ms")


def steps_part(pairs):
    from alexnet_kerasprov import build_model, compile_model, load_data

    x_train, _, y_train, _ = load_data()
    print(f"\nsteps: AlexNet-style CNN, {len(x_train)} samples, batch 64, 3 epochs")

    def fit(with_steps):
        keras.utils.set_random_seed(7)
        model = build_model(keras.Sequential)
        compile_model(model)
        model.provenance(dataflow_tag="bench_steps", store_model=False, log_every_n_steps=10 if with_steps else None)
        model.fit(x_train, y_train, epochs=3, batch_size=64, validation_split=0.2, verbose=0)

    fit(True)
    summary("log_every_n_steps=10", interleaved(pairs, fit))


def stall_part(pairs):
    rng = np.random.default_rng(1)
    x = rng.random((4000, 8), dtype=np.float32)
    y = rng.random((4000, 1), dtype=np.float32)
    print("\nstall: Dense(4) on 8 features, batch 1, one epoch of 4,000 steps")

    def fit(with_steps):
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        model.provenance(dataflow_tag="bench_stall", store_model=False, log_every_n_steps=1 if with_steps else None)
        model.fit(x, y, epochs=1, batch_size=1, verbose=0)
        if with_steps:
            ended = time.perf_counter()
            recording.drain(120)
            drains.append(time.perf_counter() - ended)

    drains = []
    fit(True)
    walls, _ = interleaved(pairs, fit)
    print(f"steps/s: with a row every step {statistics.median(4000 / a for a, _ in walls):.0f}, "
          f"without {statistics.median(4000 / b for _, b in walls):.0f}; the recording thread finished "
          f"{1e3 * statistics.median(drains):.0f} ms (median) after fit returned")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--part", default="data,steps,stall")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="bench-lineage-")
    service = ServiceProcess(os.path.join(data_dir, "data")).start()
    try:
        dfa_lib_python.connect(service.url, spool_dir=os.path.join(data_dir, "spool"))
        parts = {"data": data_part, "steps": steps_part, "stall": stall_part}
        for name in args.part.split(","):
            parts[name](args.pairs)
        print(f"\nall provenance stored: {keras.flush(120)}")
    finally:
        dfa_lib_python.close(timeout=10)
        service.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
