"""Memory per read (runs list, PROV document, PROV-N export, SVG graph) in one process, without
HTTP: resident memory per call after 300 warm-up calls, and again after glibc's malloc_trim(0),
which gives freed memory back to the system. Prints figures; asserts nothing.

    .venv/bin/python bench/read_memory.py prov 2000         # what: read runs document prov svg
    MALLOC_ARENA_MAX=2 .venv/bin/python bench/read_memory.py runs 4000
    .venv/bin/python bench/read_memory.py read 6000 500     # third argument: statements per connection
"""
import ctypes
import gc
import os
import shutil
import sys
import tempfile
import time
import uuid

import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak import SPEC, task  # noqa: E402

from dfanalyzer.export import Exporter  # noqa: E402
from dfanalyzer.export.run_summary import RunSummary  # noqa: E402
from dfanalyzer.graph import ProvGraph, registry as image_formats  # noqa: E402
from dfanalyzer.ingest import Ingestor  # noqa: E402
from dfanalyzer.store import open_store, session  # noqa: E402

WARM_UP = 300


def seeded_store(data_dir):
    """soak.py's finished run `soak-read`: 30 epochs and a test result."""
    store = open_store(data_dir=data_dir)
    epochs = [[e, 1.0 / (e + 1), e / 30] for e in range(30)]
    bodies = [task("soak-read", 1, "TrainingModel", "RUNNING", [("iTrainingModel", [["adam", 0.001]])]),
              task("soak-read", 1, "TrainingModel", "FINISHED", [("oTrainingModel", epochs)]),
              task("soak-read", 1, "TestingModel", "FINISHED", [("oTestingModel", [[0.91]])], "TrainingModel")]
    messages = [{"id": str(uuid.uuid4()), "kind": "dataflow", "body": SPEC}]
    messages += [{"id": str(uuid.uuid4()), "kind": "task", "body": body} for body in bodies]
    Ingestor(store).ingest_batch(messages)
    return store


def reads(store):
    svg = image_formats.get("svg")
    return {
        "read": lambda: store.read("SELECT tag, start_time FROM dataflow_execution WHERE tag = ?", ["soak-read"]),
        "runs": lambda: RunSummary(store).list("soak"),
        "document": lambda: Exporter(store).document("soak-read", kind="execution"),
        "prov": lambda: Exporter(store).export("soak-read", "provn", kind="execution"),
        "svg": lambda: svg.render(ProvGraph(Exporter(store).document("soak-read", kind="execution")).agraph()),
    }


def main():
    what, calls = sys.argv[1], int(sys.argv[2])
    if len(sys.argv) > 3:
        session.RECYCLE_AFTER_STATEMENTS = int(sys.argv[3])
    data_dir = tempfile.mkdtemp(prefix="read-memory-")
    store = seeded_store(data_dir)
    try:
        call = reads(store)[what]
        process = psutil.Process()
        for _ in range(WARM_UP):
            call()
        gc.collect()
        before, started = process.memory_info().rss, time.monotonic()
        for _ in range(calls):
            call()
        elapsed = time.monotonic() - started
        gc.collect()
        after = process.memory_info().rss
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        trimmed = process.memory_info().rss
        print(f"{what:9s} MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '-'):2s} {calls} calls: "
              f"RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MB, {(after - before) / calls:+.0f} B/call; "
              f"after malloc_trim {(trimmed - before) / calls:+.0f} B/call; {1000 * elapsed / calls:.1f} ms/call")
    finally:
        store.close()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
