"""Soak: many mixed requests against one DfAnalyzer, printing the worker's memory as they go.

Prints figures; asserts nothing. Targets: with worker recycling (`--max-requests`, default
20,000; 0 turns it off), the service's memory grows by at most 5 MB per 100,000 requests and no
request fails across the recycles; without it, the worker's RSS grows by at most 50 MB between
the first report (after `--every` requests) and the last.

Growth with recycling is the slope of a least-squares line through the RSS of each worker at
its first report (each worker's memory rises and falls back at its replacement, so two single
readings would measure where in its life each worker was), plus the supervisor's. A fresh
worker's memory also follows the data it opens, which the ingest requests keep adding to:
`--skip ingest` leaves them out.

    .venv/bin/python bench/soak.py                       # 100,000 requests, RSS every 10,000
    .venv/bin/python bench/soak.py --requests 30000 --every 1000 --max-requests 5000
"""
import argparse
import itertools
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from service_process import ServiceProcess  # noqa: E402

SPEC = {"tag": "soak", "transformations": [
    {"tag": "TrainingModel", "sets": [
        {"tag": "iTrainingModel", "type": "INPUT", "attributes": [
            {"name": "optimizer", "type": "TEXT"}, {"name": "learning_rate", "type": "NUMERIC"}]},
        {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [
            {"name": "epoch", "type": "NUMERIC"}, {"name": "loss", "type": "NUMERIC"},
            {"name": "accuracy", "type": "NUMERIC"}]}]},
    {"tag": "TestingModel", "sets": [
        {"tag": "oTrainingModel", "type": "INPUT", "dependency": "TrainingModel", "attributes": []},
        {"tag": "oTestingModel", "type": "OUTPUT", "attributes": [{"name": "test_accuracy", "type": "NUMERIC"}]}]}]}


def task(exec_tag, task_id, transformation, status, sets, dependency=None):
    body = {"id": task_id, "dataflow": "soak", "exec": exec_tag, "transformation": transformation,
            "status": status, "sets": [{"tag": tag, "elements": elements} for tag, elements in sets]}
    if dependency:
        body["dependency"] = {"tags": [{"tag": dependency}], "ids": [{"id": task_id}]}
    return body


def prepare(session, url):
    """A finished run to read (`soak-read`) and a model file; returns the model's id."""
    session.post(url + "/pde/dataflow/json", json=SPEC, timeout=60).raise_for_status()
    epochs = [[e, 1.0 / (e + 1), e / 30] for e in range(30)]
    for body in (task("soak-read", 1, "TrainingModel", "RUNNING", [("iTrainingModel", [["adam", 0.001]])]),
                 task("soak-read", 1, "TrainingModel", "FINISHED", [("oTrainingModel", epochs)]),
                 task("soak-read", 1, "TestingModel", "FINISHED", [("oTestingModel", [[0.91]])], "TrainingModel")):
        session.post(url + "/pde/task/json", json=body, timeout=60).raise_for_status()
    model = session.post(url + "/api/v1/models", params={"dataflow": "soak", "exec": "soak-read", "task": "1",
                                                         "file_name": "model.keras", "format": "keras"},
                         data=os.urandom(200_000), headers={"Content-Type": "application/octet-stream"},
                         timeout=60)
    model.raise_for_status()
    return model.json()["id"]


def requests_cycle(url, model_id, skip=()):
    """The mix: (name, method, path, json body or None). Ingestion goes to its own run, so that
    the run being read, drawn and exported keeps its size."""
    counter = itertools.count()

    def ingest():
        n = next(counter)
        return {"messages": [{"id": str(uuid.uuid4()), "kind": "task", "body": task(
            "soak-write", 1, "TrainingModel", "RUNNING", [("oTrainingModel", [[n * 5 + i, 0.5, 0.5]])])}
            for i in range(5)]}

    mix = [
        ("health", "GET", "/health", None),
        ("query", "POST", "/api/v1/query", lambda: {"sql": "SELECT epoch, loss FROM soak.otrainingmodel "
                                                           "WHERE epoch < 10 ORDER BY epoch", "limit": 5}),
        ("ingest", "POST", "/api/v1/ingest", ingest),
        ("runs", "GET", "/api/v1/runs", None),
        ("model", "GET", f"/api/v1/models/{model_id}", None),
        ("graph", "GET", "/api/v1/executions/soak-read/graph.svg", None),
        ("prov", "GET", "/api/v1/executions/soak-read/prov?format=provn", None),
        ("query-1", "POST", "/api/v1/query", lambda: {"sql": "SELECT 1"}),
    ]
    return itertools.cycle([entry for entry in mix if entry[0] not in skip])


def pid_record(data_dir):
    with open(os.path.join(data_dir, "dfanalyzer.pid")) as handle:
        return json.load(handle)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker_rss_mb(data_dir):
    return rss_mb(pid_record(data_dir)["worker_pid"])


def slope_per_100k(points):
    """MB per 100,000 requests of the least-squares line through (requests, MB) points."""
    if len(points) < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread * 100_000 if spread else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--max-requests", type=int, default=20_000,
                        help="the service's --max-requests (worker recycling); 0: no recycling")
    parser.add_argument("--skip", default="", help="comma-separated requests of the mix to leave out, e.g. ingest")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        data_dir = str(Path(temporary) / "data")
        service = ServiceProcess(data_dir, extra_args=["--max-requests", str(args.max_requests)]).start()
        try:
            session = requests.Session()
            model_id = prepare(session, service.url)
            mix = requests_cycle(service.url, model_id, skip=set(filter(None, args.skip.split(","))))
            failures, first_rss, started, longest = {}, None, time.perf_counter(), 0.0
            supervisor_pid = pid_record(data_dir)["pid"]
            first_supervisor_rss = rss_mb(supervisor_pid)
            worker_firsts, seen_workers = [], set()  # (requests, RSS) of each worker at its first report
            print(f"{'requests':>9} {'worker RSS':>11} {'growth':>9} {'req/s':>7} {'recycles':>8}  failures")
            for done in range(1, args.requests + 1):
                name, method, path, body = next(mix)
                began = time.perf_counter()
                try:
                    response = session.request(method, service.url + path, json=body() if callable(body) else body,
                                               timeout=120)
                    if not response.ok:
                        failures[name] = failures.get(name, 0) + 1
                except requests.RequestException:
                    failures[name] = failures.get(name, 0) + 1
                longest = max(longest, time.perf_counter() - began)
                if done % args.every == 0:
                    rss = worker_rss_mb(data_dir)
                    first_rss = first_rss if first_rss is not None else rss
                    rate = done / (time.perf_counter() - started)
                    record = pid_record(data_dir)
                    recycles = record.get("recycles", 0)
                    if recycles and record["worker_pid"] not in seen_workers:
                        worker_firsts.append((done, rss))
                    seen_workers.add(record["worker_pid"])
                    print(f"{done:>9,} {rss:>8.1f} MB {rss - first_rss:>+6.1f} MB {rate:>7.0f} {recycles:>8}  "
                          f"{failures or '-'}", flush=True)
            health = session.get(service.url + "/health", timeout=60).json()
            record = pid_record(data_dir)
            failed = sum(failures.values())
            print(f"worker restarts: {health.get('worker_restarts')}; growth after the first {args.every:,} requests: "
                  f"{worker_rss_mb(data_dir) - first_rss:+.1f} MB (target <= +50 MB without recycling)")
            if args.max_requests:
                supervisor_growth = rss_mb(supervisor_pid) - first_supervisor_rss
                print(f"worker recycles: {record.get('recycles', 0)} (every {args.max_requests:,} requests); failed "
                      f"requests: {failed}; trend of the workers' RSS at their first report: "
                      f"{slope_per_100k(worker_firsts):+.1f} MB per 100,000 requests ({len(worker_firsts)} workers: "
                      f"{', '.join(f'{rss:.1f}' for _, rss in worker_firsts)} MB); "
                      f"supervisor {supervisor_growth:+.1f} MB; longest request {longest:.1f} s (targets: <= 5 MB per "
                      "100,000 requests, 0 failed)")
        finally:
            service.stop()


if __name__ == "__main__":
    main()
