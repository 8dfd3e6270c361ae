"""What a dfa_lib_python call costs the training loop: median per-call time of begin/save/end.

Runs each call many times against a real DfAnalyzer (started here on a free port with a temporary
data directory) and again with the service down (records go to the spool only), and prints
median / 90th / 99th percentile microseconds per call. The calls only append to the spool; a
background thread sends, so the figures should be far below the cost of an HTTP request.

    .venv/bin/python bench/client_overhead.py [--calls 5000]
"""
import argparse
import logging
import os
import statistics
import sys
import tempfile
import time


import dfa_lib_python
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.task import Task

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from service_process import ServiceProcess, free_port  # noqa: E402

TARGET_MEDIAN_US = 50.0


def timed(call, count):
    """Per-call seconds of `count` calls."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def measure(label, tag, calls):
    """Times Dataflow.save, begin, save (one epoch's element) and end; returns rows to print."""
    df = Dataflow(tag, hyperparameters=True)
    df.save()  # the first send starts the client; not timed
    rows = [(label, "Dataflow.save", timed(df.save, max(calls // 10, 100)))]
    tasks = [Task(index, tag, "TrainingModel") for index in range(calls)]
    iterator = iter(tasks)
    rows.append((label, "Task.begin", timed(lambda: next(iterator).begin(), calls)))

    task = tasks[0]
    epoch = [0]

    def save_epoch():
        # What keras_prov does per epoch: one element with the epoch's metrics, then save.
        task.add_dataset(DataSet("oTrainingModel", [Element(["t", "1.5", 0.25, 0.9, 0.3, 0.88, epoch[0]])]))
        task.save()
        epoch[0] += 1

    rows.append((label, "add_dataset+save", timed(save_epoch, calls)))
    save_only = timed(task.save, calls)
    rows.append((label, "Task.save", save_only))
    iterator = iter(tasks)
    rows.append((label, "Task.end", timed(lambda: next(iterator).end(), calls)))
    return rows


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls timed per method")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the outage warning is expected in the second run

    rows = []
    with tempfile.TemporaryDirectory() as work:
        service = ServiceProcess(os.path.join(work, "data")).start()
        url = service.url
        try:
            client = dfa_lib_python.connect(url, spool_dir=os.path.join(work, "spool-up"))
            rows += measure("service up", "bench_up", args.calls)
            start = time.perf_counter()
            delivered = client.flush(120)
            drain = time.perf_counter() - start
            sent = client.status["sent_messages"]
        finally:
            dfa_lib_python.close(timeout=5)
            service.stop()
        dfa_lib_python.connect(f"http://127.0.0.1:{free_port()}", spool_dir=os.path.join(work, "spool-down"))
        rows += measure("service down", "bench_down", args.calls)
        dfa_lib_python.close(timeout=0.5)

    print(f"dfa_lib_python {dfa_lib_python.__version__}: microseconds per call ({args.calls} calls each, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    print(f"{'condition':<14}{'call':<18}{'median':>8}{'p90':>8}{'p99':>9}")
    for label, call, times in rows:
        print(f"{label:<14}{call:<18}{statistics.median(times) * 1e6:>8.1f}{percentile(times, 0.9) * 1e6:>8.1f}"
              f"{percentile(times, 0.99) * 1e6:>9.1f}")
    worst = max(statistics.median(times) for label, call, times in rows if call.startswith("Task.")) * 1e6
    print(f"worst median of begin/save/end: {worst:.1f} us (target <= {TARGET_MEDIAN_US:.0f} us): "
          f"{'OK' if worst <= TARGET_MEDIAN_US else 'OVER TARGET'}")
    print(f"service up: {sent} messages delivered; everything stored {drain:.2f} s after the last call: {delivered}")


if __name__ == "__main__":
    main()
