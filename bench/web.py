"""The web app's speed in headless Chromium, with many long runs stored (figures, not a test).

Seeds RUNS runs × EPOCHS epochs × 6 metrics (loss, accuracy, val_loss, val_accuracy,
learning_rate, elapsed_time) through the ingest API, plus one 10,000-epoch run, then prints the
median of 5 page loads of: the runs page until its table is drawn, a run page until its first
chart is drawn, a 20-run comparison until its charts are drawn, the 10,000-epoch run's chart, and
the live latency from an epoch's end in a real Keras training to its point on the open run page.
Then it leaves a live run page open for --soak-minutes while an epoch is stored every second and
prints the service's resident memory and the page's JavaScript heap (after a garbage collection)
at its start and end.

    python bench/web.py                 # 1,000 runs × 200 epochs (the issue's figure)
    python bench/web.py --runs 50 --soak-minutes 1    # quicker while developing
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from service_process import ServiceProcess  # noqa: E402
from web_browser import WatchedPage, chromium  # noqa: E402
from web_seed import RunSeeder  # noqa: E402

DATAFLOW = "bench"
REPEATS = 5
RUNS_PER_POST = 20

CHART_POINTS_JS = """() => { const el = document.querySelector('#charts .chart');
  const chart = el && echarts.getInstanceByDom(el);
  return chart ? chart.getOption().series.reduce((n, s) => n + s.data.length, 0) : 0; }"""


def seed(url, runs, epochs):
    seeder = RunSeeder(url, DATAFLOW)
    started = time.perf_counter()
    batch = []
    for index in range(runs):
        hyperparameters = {"optimizer_name": ("sgd", "adam", "rmsprop")[index % 3],
                           "learning_rate": 10 ** (-4 + 3 * (index % 97) / 96), "batch_size": 2 ** (4 + index % 5),
                           "epochs": epochs, "dropout": (index % 10) / 20}
        messages, _ = seeder.run_messages(f"run-{index:04d}", hyperparameters, epochs, seed=(index % 13) / 13)
        batch += messages
        if (index + 1) % RUNS_PER_POST == 0 or index + 1 == runs:
            seeder.post(batch)
            batch = []
    seeder.run("long-run", {"optimizer_name": "sgd", "learning_rate": 0.01, "batch_size": 32, "epochs": 10_000,
                            "dropout": 0.1}, epochs=10_000)
    return time.perf_counter() - started


def timed(page, path, ready_js, timeout=60_000):
    started = time.perf_counter()
    page.goto(path)
    page.page.wait_for_function(ready_js, timeout=timeout)
    return time.perf_counter() - started


def median_load(browser, url, path, ready_js):
    times = []
    for _ in range(REPEATS):
        page = WatchedPage(browser, url)
        times.append(timed(page, path, ready_js))
        problems = page.problems
        page.close()
        if problems:
            raise SystemExit(f"{path}: {problems}")
    return statistics.median(times)


LIVE_TRAINING = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import keras_prov as keras

    ends = []
    class Stamp(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.time())
            time.sleep(1.0)

    rng = np.random.default_rng(1)
    x, y = rng.random((64, 8)).astype("float32"), rng.integers(0, 2, 64)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.provenance(dataflow_tag="benchlive", exec_tag="live", store_model=False)
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=8, batch_size=32, verbose=0, callbacks=[Stamp()])
    keras.flush(60)
    print(json.dumps(ends))
""")


def live_latency(browser, url, spool_dir):
    """Seconds from on_epoch_end in the training process to the epoch's point on the open page."""
    page = WatchedPage(browser, url)
    p = page.goto("/runs/live?dataflow=benchlive")
    environment = dict(os.environ, DFA_URL=url, DFA_SPOOL_DIR=spool_dir, TF_CPP_MIN_LOG_LEVEL="2")
    training = subprocess.Popen([sys.executable, "-c", LIVE_TRAINING], env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
    p.wait_for_function("document.querySelector('#charts .chart')", timeout=180_000)
    # The page notes when each point appears (the clock is the machine's, as in the training process).
    p.evaluate("""() => { window.seen = {}; const tick = () => {
        const el = document.querySelector('#charts .chart'); const chart = echarts.getInstanceByDom(el);
        const loss = chart.getOption().series.find(s => s.name === 'loss');
        if (loss) for (const [epoch] of loss.data) if (!(epoch in window.seen)) window.seen[epoch] = Date.now() / 1000;
        setTimeout(tick, 10); }; tick(); }""")
    output, _ = training.communicate(timeout=300)
    ends = __import__("json").loads(output.strip().splitlines()[-1])
    p.wait_for_function(f"Object.keys(window.seen).length >= {len(ends)}", timeout=30_000)
    seen = p.evaluate("window.seen")
    page.close()
    # Epochs seen on the first draw were stored before the page looked: only later ones count.
    first_drawn = min(float(epoch) for epoch in seen)
    latencies = [seen[str(epoch + 1)] - end if str(epoch + 1) in seen else seen[f"{epoch + 1}.0"] - end
                 for epoch, end in enumerate(ends) if epoch + 1 > first_drawn + 1]
    return statistics.median(latencies), len(latencies)


def resident_mb(pid):
    """Resident memory of a process and its descendants (the service's supervisor and worker), MB."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grown = {pid}, True
    while grown:
        children = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= children
        grown = bool(children)
    total = 0
    for member in tree:
        try:
            with open(f"/proc/{member}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


def soak(url, pid, minutes):
    """A live run page open for `minutes` while one epoch a second is stored; memory at both ends."""
    seeder = RunSeeder(url, "benchsoak")
    hyperparameters = {"optimizer_name": "sgd", "learning_rate": 0.01, "batch_size": 32, "epochs": 100_000}
    training = seeder.run("soak", hyperparameters, epochs=10, status="RUNNING")
    stop = threading.Event()

    def feed():
        epoch = 10
        while not stop.wait(1.0):
            epoch += 1
            seeder.add_epochs("soak", training, hyperparameters, epoch, epoch)

    feeder = threading.Thread(target=feed, daemon=True)
    with chromium(["--enable-precise-memory-info", "--js-flags=--expose-gc"]) as browser:
        page = WatchedPage(browser, url)
        p = page.goto("/runs/soak?dataflow=benchsoak")
        p.wait_for_function("document.querySelector('#charts .chart')")
        heap = "() => { gc(); return performance.memory.usedJSHeapSize / 1048576; }"
        feeder.start()
        time.sleep(20)   # past the first draws and caches
        samples = [(resident_mb(pid), p.evaluate(heap), p.evaluate(CHART_POINTS_JS))]
        time.sleep(minutes * 60)
        samples.append((resident_mb(pid), p.evaluate(heap), p.evaluate(CHART_POINTS_JS)))
        stop.set()
        feeder.join()
        problems = page.problems
        page.close()
    (rss0, heap0, points0), (rss1, heap1, points1) = samples
    print(f"live run page open {minutes:g} min, one epoch stored per second ({points0} -> {points1} points drawn):")
    print(f"  service resident memory {rss0:7.1f} MB -> {rss1:7.1f} MB (supervisor and worker)")
    print(f"  page JavaScript heap    {heap0:7.1f} MB -> {heap1:7.1f} MB (after gc)")
    if problems:
        print(f"  page problems: {problems}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--soak-minutes", type=float, default=5)
    arguments = parser.parse_args()
    work = tempfile.mkdtemp(prefix="dfa-bench-web-")
    service = ServiceProcess(os.path.join(work, "data")).start()
    try:
        seconds = seed(service.url, arguments.runs, arguments.epochs)
        print(f"seeded {arguments.runs} runs x {arguments.epochs} epochs x 6 metrics + one 10,000-epoch run "
              f"through /api/v1/ingest in {seconds:.0f} s")
        compared = ",".join(f"run-{index:04d}" for index in range(min(20, arguments.runs)))
        with chromium() as browser:
            figures = [
                ("runs page: table drawn", "/?dataflow=bench",
                 "document.querySelectorAll('#runs tbody tr[data-run]').length > 0", 1.5),
                ("run page: first chart drawn", f"/runs/run-{arguments.runs // 2:04d}?dataflow=bench", f"({CHART_POINTS_JS})() > 0", 1.0),
                ("20-run comparison: charts drawn", f"/compare?runs={compared}&dataflow=bench",
                 "document.querySelectorAll('#charts .chart').length > 0 && "
                 "echarts.getInstanceByDom(document.querySelector('#charts .chart')).getOption().series.length === " + str(min(20, arguments.runs)),
                 2.0),
                ("10,000-epoch run: first chart drawn", "/runs/long-run?dataflow=bench", f"({CHART_POINTS_JS})() > 0",
                 1.0),
            ]
            print(f"median of {REPEATS} loads in headless Chromium (1280x800):")
            for name, path, ready, target in figures:
                median = median_load(browser, service.url, path, ready)
                print(f"  {name:38s} {median:6.2f} s   (target <= {target} s)")
            latency, count = live_latency(browser, service.url, os.path.join(work, "spool"))
            print(f"  {'live: epoch end -> point on the chart':38s} {latency:6.2f} s   (target <= 2 s; median of {count} epochs)")
        if arguments.soak_minutes > 0:
            soak(service.url, service.process.pid, arguments.soak_minutes)
    finally:
        service.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
