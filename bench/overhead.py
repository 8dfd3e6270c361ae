"""What recording provenance costs a training run: the AlexNet-style CNN of
examples/alexnet_kerasprov.py fitted with and without keras_prov, in interleaved pairs with the
same seeds, against a real DfAnalyzer on embedded MonetDB (started here on a free port).

Prints the median overhead of fit's wall time in percent, the training thread's time inside
keras_prov per epoch (median, p90), and the one-off costs at the start and end of fit (the end
includes saving the trained model). No thresholds: this prints figures.

    .venv/bin/python bench/overhead.py [--pairs 3] [--epochs 5] [--no-store-model]
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
import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_prov  # noqa: E402
from alexnet_kerasprov import build_model, compile_model, load_data  # noqa: E402
from service_process import ServiceProcess  # noqa: E402


def timed_fit(with_provenance, data, epochs, url, store_model):
    x_train, _, y_train, _ = data
    keras.utils.set_random_seed(7)
    model = build_model(keras_prov.Sequential if with_provenance else keras.Sequential)
    compile_model(model)
    if with_provenance:
        model.provenance(dataflow_tag="overhead", url=url, store_model=store_model)
    started = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, validation_split=0.2, verbose=0)
    elapsed = time.perf_counter() - started
    callback = model._keras_prov_recorder.last_callback if with_provenance else None
    return elapsed, callback


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--no-store-model", action="store_true", help="do not save the trained model at fit end")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="bench-overhead-")
    service = ServiceProcess(os.path.join(data_dir, "data")).start()
    url = service.url
    try:
        dfa_lib_python.connect(url, spool_dir=os.path.join(data_dir, "spool"))
        data = load_data()
        timed_fit(False, data, 1, url, False)  # warm-up: TensorFlow's first graph build is not ours
        timed_fit(True, data, 1, url, False)
        overheads, epoch_costs, begin_costs, end_costs, baselines, inside = [], [], [], [], [], []
        for pair in range(args.pairs):
            order = (False, True) if pair % 2 == 0 else (True, False)  # alternate which runs first
            times = {}
            for with_provenance in order:
                elapsed, callback = timed_fit(with_provenance, data, args.epochs, url, not args.no_store_model)
                times[with_provenance] = elapsed
                if callback is None:
                    baselines.append(elapsed)
                else:
                    inside.append(callback.begin_cost + sum(callback.callback_costs) + callback.end_cost)
                    epoch_costs += callback.callback_costs
                    begin_costs.append(callback.begin_cost)
                    end_costs.append(callback.end_cost)
            overhead = 100.0 * (times[True] - times[False]) / times[False]
            overheads.append(overhead)
            print(f"pair {pair + 1}: without {times[False]:.2f} s, with {times[True]:.2f} s, overhead {overhead:+.2f}%")
        stored = keras_prov.flush(120)
        epoch_us = sorted(cost * 1e6 for cost in epoch_costs)
        print(f"\nAlexNet-style CNN, {args.epochs} epochs x {args.pairs} interleaved pairs, "
              f"model storing {'off' if args.no_store_model else 'on'}, backend {keras.backend.backend()}")
        print(f"median overhead of fit: {statistics.median(overheads):+.2f}% (target <= 1%); the runs without "
              f"provenance alone vary by {100 * (max(baselines) - min(baselines)) / min(baselines):.1f}% on this machine")
        print(f"training thread inside keras_prov: median {1e3 * statistics.median(inside):.1f} ms per fit = "
              f"{100 * statistics.median(inside) / statistics.median(baselines):.2f}% of the median fit without it")
        print(f"training thread inside keras_prov per epoch: median {statistics.median(epoch_us):.0f} us, "
              f"p90 {epoch_us[int(0.9 * (len(epoch_us) - 1))]:.0f} us (target <= 200 us)")
        print(f"once per fit: on_train_begin {1e3 * statistics.median(begin_costs):.1f} ms, "
              f"on_train_end {1e3 * statistics.median(end_costs):.1f} ms (saving the model included)")
        print(f"all provenance stored: {stored}")
    finally:
        dfa_lib_python.close(timeout=10)
        service.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
