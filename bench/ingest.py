"""Ingestion throughput through /api/v1/ingest, fairness between clients, and epoch-range query
latency on embedded MonetDB.

Prints figures; asserts nothing. Targets: >= 20,000 elements/s; >= 20,000 single-row messages/s
in batches of 500; p99 under 1 s for a one-row insert while another client sends 5,000-message
batches; <= 50 ms median for an epoch-range query over a 1,000,000-row set table.
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from service_process import ServiceProcess  # noqa: E402

SPEC = {"tag": "bench", "transformations": [{"tag": "TrainingModel", "sets": [
    {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [
        {"name": name, "type": "NUMERIC"} for name in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr")]
        + [{"name": "timestamp", "type": "TEXT"}]}]}]}


def messages(task_id, epochs, per_message):
    """Messages of one task carrying `per_message` epoch rows each."""
    batch = []
    for first in range(epochs[0], epochs[1], per_message):
        rows = [[e, 1.0 / (e + 1), 0.5, 0.9, 0.4, 0.001, "2026-11-23T10:00:00"]
                for e in range(first, min(first + per_message, epochs[1]))]
        batch.append({"id": str(uuid.uuid4()), "kind": "task", "body": {
            "id": task_id, "dataflow": "bench", "exec": "bench-run", "transformation": "TrainingModel",
            "status": "RUNNING", "sets": [{"tag": "oTrainingModel", "elements": rows}]}})
    return batch


def process_tree_cpu_seconds(pid):
    """User + system CPU seconds of a process and its descendants (the supervisor's worker), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = [int(child) for child in handle.read().split()]
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_tree_cpu_seconds(child) for child in children)


def throughput(url, total, per_message, messages_per_batch, task_id):
    batches = []
    all_messages = messages(task_id, (0, total), per_message)
    for start in range(0, len(all_messages), messages_per_batch):
        batches.append({"messages": all_messages[start:start + messages_per_batch]})
    session = requests.Session()
    started = time.perf_counter()
    for body in batches:
        session.post(url + "/api/v1/ingest", json=body, timeout=300).raise_for_status()
    return total / (time.perf_counter() - started)


def new_task_messages(prefix, count):
    """`count` messages, each a new task with one epoch row (what many short trials send)."""
    return [message for number in range(count) for message in messages(f"{prefix}-{number}", (0, 1), 1)]


def one_row_latency_beside_large_batches(url, rounds=3, inserts=200, new_tasks=False):
    """p50 and p99 latency (ms) of one-row inserts while another client sends 5,000-message
    batches: rows of one task, or (`new_tasks`) 5,000 new tasks."""
    stop = threading.Event()

    def send_large():
        session = requests.Session()
        for round_number in range(rounds):
            batch = (new_task_messages(f"new-{round_number}", 5000) if new_tasks
                     else messages(f"large-{round_number}", (0, 5000), 1))
            session.post(url + "/api/v1/ingest", json={"messages": batch}, timeout=600).raise_for_status()
        stop.set()

    sender = threading.Thread(target=send_large)
    sender.start()
    session, latencies = requests.Session(), []
    while not stop.is_set() and len(latencies) < inserts:
        body = {"messages": messages("small", (len(latencies), len(latencies) + 1), 1)}
        began = time.perf_counter()
        session.post(url + "/api/v1/ingest", json=body, timeout=600).raise_for_status()
        latencies.append((time.perf_counter() - began) * 1000)
    sender.join()
    latencies.sort()
    return latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], len(latencies)


PARTS = ("elements", "messages", "fairness", "fairness-new-tasks", "query")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated figures to print, among {', '.join(PARTS)} (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="times each throughput figure is measured")
    arguments = parser.parse_args()
    parts = arguments.parts.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {', '.join(sorted(unknown))}; choose among {', '.join(PARTS)}")
    with tempfile.TemporaryDirectory() as data_dir:
        service = ServiceProcess(Path(data_dir) / "data").start()
        try:
            requests.post(service.url + "/pde/dataflow/json", json=SPEC, timeout=30).raise_for_status()
            for attempt in range(arguments.repeat):
                if "elements" in parts:
                    rate = throughput(service.url, 100_000, per_message=100, messages_per_batch=50,
                                      task_id=f"t-many-{attempt}")
                    print(f"ingest, 100 elements per message, 50 messages per batch: {rate:,.0f} elements/s "
                          "(target >= 20,000)")
                if "messages" in parts:
                    cpu_before = process_tree_cpu_seconds(service.process.pid)
                    rate = throughput(service.url, 10_000, per_message=1, messages_per_batch=500,
                                      task_id=f"t-one-{attempt}")
                    cpu = (process_tree_cpu_seconds(service.process.pid) - cpu_before) / 10
                    print(f"ingest, 1 element per message (one epoch row), 500 per batch: {rate:,.0f} messages/s "
                          f"(target >= 20,000); service CPU {cpu * 1000:.0f} ms per 1,000 messages")
            if "fairness" in parts:
                median, p99, count = one_row_latency_beside_large_batches(service.url)
                print(f"one-row insert beside 5,000-message batches: p50 {median:.0f} ms, p99 {p99:.0f} ms over "
                      f"{count} inserts (target p99 < 1,000 ms)")
            if "fairness-new-tasks" in parts:
                median, p99, count = one_row_latency_beside_large_batches(service.url, new_tasks=True)
                print(f"one-row insert beside 5,000-message batches of new tasks: p50 {median:.0f} ms, p99 {p99:.0f} "
                      f"ms over {count} inserts (target p99 < 1,000 ms; 10.7 s on the loaded machine before "
                      "issue 23)")
            if "query" in parts:
                print_query_latency(service)
        finally:
            service.stop()


def print_query_latency(service):
    """Fills the set table to 1,000,000 rows, then times epoch-range queries over it."""
    [[rows]] = service.query("SELECT COUNT(*) FROM bench.otrainingmodel")
    while rows < 1_000_000:
        throughput(service.url, 100_000, per_message=1000, messages_per_batch=20, task_id=f"fill-{rows}")
        [[rows]] = service.query("SELECT COUNT(*) FROM bench.otrainingmodel")
    latencies = []
    session = requests.Session()
    for start in range(0, 20_000, 1000):
        sql = (f"SELECT epoch, loss, val_loss FROM bench.otrainingmodel "
               f"WHERE epoch BETWEEN {start} AND {start + 50} ORDER BY epoch")
        began = time.perf_counter()
        session.post(service.url + "/api/v1/query", json={"sql": sql, "limit": 100000}, timeout=30).raise_for_status()
        latencies.append((time.perf_counter() - began) * 1000)
    print(f"epoch-range query over {rows:,} rows, through HTTP: median {statistics.median(latencies):.1f} ms, "
          f"max {max(latencies):.1f} ms over {len(latencies)} queries (target <= 50 ms)")


if __name__ == "__main__":
    main()
