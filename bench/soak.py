"""Soak: many mixed requests against one DfAnalyzer, printing its memory as they go.

Prints figures; asserts nothing. Targets: with worker recycling (`--max-requests`, default
20,000; 0 turns it off), the service's memory grows by at most 5 MB per 100,000 requests and no
request fails across the recycles; without it, the worker's RSS grows by at most 50 MB between
the first report (after `--every` requests) and the last.

Growth across recycles: each worker's memory rises through its life and falls back at its
replacement, so two single readings would only say where in its life each worker was. The
service's memory (supervisor + worker) is therefore read for every worker at the same age
(`--age` requests after it was first seen) and the growth is the slope of the least-squares line
through these readings, in MB per 100,000 requests. A fresh worker's memory also follows the
data it opens, which the ingest requests keep adding to: the data directory's own growth is
printed beside it, and `--skip ingest` leaves ingestion out. Memory is printed whole (RSS) and
split as the kernel counts it (/proc/<pid>/status): anonymous (the process's own: heap, anonymous
maps) and mapped files (shared libraries, the engine's column files: page cache the kernel can
drop and read again), so that the growth of each is told apart.

    .venv/bin/python bench/soak.py                       # 100,000 requests, a line every 10,000
    .venv/bin/python bench/soak.py --requests 30000 --every 1000 --max-requests 5000
    .venv/bin/python bench/soak.py --connection-per-request   # a new TCP connection per request
"""
import argparse
import contextlib
import itertools
import json
import os
import shutil
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


def requests_mix(url, model_id, skip=()):
    """One turn of the mix: (name, method, path, json body or None). Ingestion goes to its own run, so that
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
    return [entry for entry in mix if entry[0] not in skip]


def pid_record(data_dir):
    with open(os.path.join(data_dir, "dfanalyzer.pid")) as handle:
        return json.load(handle)


MEMORY_FIELDS = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file", "RssShmem:": "shmem"}


def memory_mb(pid):
    """A process's resident memory in MB, whole (`rss`) and split as the kernel counts it: `anon`
    (heap, stacks, anonymous maps: what only the process holds), `file` (pages of mapped files, the
    engine's column files among them: page cache the kernel can drop and read again) and `shmem`."""
    found = dict.fromkeys(MEMORY_FIELDS.values(), float("nan"))
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                field = MEMORY_FIELDS.get(line.split(None, 1)[0])
                if field:
                    found[field] = int(line.split()[1]) / 1024
    except OSError:
        pass  # a worker replaced between reading the pid record and its memory
    return found


def service_mb(record):
    """The memory of supervisor + worker, split as `memory_mb`'s."""
    worker, supervisor = memory_mb(record["worker_pid"]), memory_mb(record["pid"])
    return {field: worker[field] + supervisor[field] for field in worker}


def directory_mb(path):
    return sum(entry.stat().st_size for entry in Path(path).rglob("*") if entry.is_file()) / 2**20


def listed(values):
    return ", ".join(f"{value:.1f}" for value in values)


def slope_per_100k(points):
    """MB per 100,000 requests of the least-squares line through (requests, MB) points."""
    if len(points) < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread * 100_000 if spread else float("nan")


class Workers:
    """Follows the worker processes through recycles, reading the pid record every `--sample`
    requests. A worker's age is the requests sent since it was first seen; the service's memory
    (supervisor + worker) is kept at one fixed age of every worker, so that workers are compared
    at the same point of their lives, and at the last sample before each was replaced."""

    def __init__(self, data_dir, age):
        self.data_dir, self.age = data_dir, age
        self.current, self.born = None, 0
        self.at_age = []      # (requests, service's memory_mb, worker's memory_mb) of each worker at `age`
        self.at_end = []      # (worker age, worker's memory_mb) of each replaced worker at its last sample
        self.last = None

    def sample(self, done):
        record = pid_record(self.data_dir)
        worker = record["worker_pid"]
        worker_mb, supervisor_mb = memory_mb(worker), memory_mb(record["pid"])
        if worker != self.current:
            if self.last is not None:
                self.at_end.append(self.last)
            self.current, self.born = worker, done
        age = done - self.born
        if age == self.age:
            self.at_age.append((done, {field: worker_mb[field] + supervisor_mb[field] for field in worker_mb},
                                worker_mb))
        self.last = (age, worker_mb)
        return worker_mb, supervisor_mb, record.get("recycles", 0)


def send(sender, url, entry, failures, errors):
    """Sends one request of the mix, counting it in `failures` (by name) unless it succeeded."""
    name, method, path, body = entry
    try:
        response = sender.request(method, url + path, json=body() if callable(body) else body, timeout=120)
        if response.ok:
            return
        errors.setdefault(response.status_code, response.text[:200])
    except requests.RequestException as error:
        errors.setdefault(type(error).__name__, str(error)[:200])
    failures[name] = failures.get(name, 0) + 1


def fresh_service_mb(data_dir, model_id, skip, age, per_request):
    """The service's memory (supervisor + worker, split as `memory_mb`'s) when a service started on
    `data_dir` has served `age` requests of the mix: what the data of `data_dir` alone makes a fresh
    worker weigh."""
    service = ServiceProcess(data_dir, extra_args=["--max-requests", "0"]).start()
    try:
        mix, failures = itertools.cycle(requests_mix(service.url, model_id, skip)), {}
        sender = requests if per_request else requests.Session()
        for _ in range(age):
            send(sender, service.url, next(mix), failures, {})
        return service_mb(pid_record(data_dir))
    finally:
        service.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000, help="print a line every so many requests")
    parser.add_argument("--sample", type=int, default=100, help="read the worker's pid and memory every so many requests")
    parser.add_argument("--age", type=int, default=2_000,
                        help="compare the workers' memory when each has been sent this many requests")
    parser.add_argument("--max-requests", type=int, default=20_000,
                        help="the service's --max-requests (worker recycling); 0: no recycling")
    parser.add_argument("--connection-per-request", action="store_true",
                        help="open a new connection for each request (default: one kept-alive session)")
    parser.add_argument("--skip", default="", help="comma-separated requests of the mix to leave out, e.g. ingest")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data directories and the service's log (data.log) to look at afterwards")
    args = parser.parse_args()
    if args.age % args.sample or args.every % args.sample:
        parser.error("--age and --every must be multiples of --sample (the memory is read every --sample requests)")
    skip = set(filter(None, args.skip.split(",")))
    kept = contextlib.nullcontext(tempfile.mkdtemp(prefix="dfa-soak-")) if args.keep else None
    with kept or tempfile.TemporaryDirectory() as temporary:
        if args.keep:
            print(f"kept in {temporary} (the service's log: {temporary}/data.log)")
        data_dir, snapshot_dir = str(Path(temporary) / "data"), str(Path(temporary) / "data-at-start")
        service = ServiceProcess(data_dir, extra_args=["--max-requests", str(args.max_requests)]).start()
        try:
            model_id = prepare(requests.Session(), service.url)
            # The data as the soak starts, kept for the comparison at the end; and every worker of the
            # soak then starts alike, on a database it did not create.
            service.stop()
            shutil.copytree(data_dir, snapshot_dir)
            service.start()
            session = requests.Session()
            turn = requests_mix(service.url, model_id, skip)
            names, mix = [name for name, *_ in turn], itertools.cycle(turn)
            sender = requests if args.connection_per_request else session
            workers = Workers(data_dir, args.age)
            failures, errors, first_rss, longest = {}, {}, None, 0.0
            first_data_mb, started = directory_mb(data_dir), time.perf_counter()
            print(f"connections: {'one per request' if args.connection_per_request else 'one kept-alive session'}; "
                  f"--max-requests {args.max_requests:,}; mix: {', '.join(names)}")
            print(f"{'requests':>9} {'worker RSS':>11} {'anon':>9} {'file':>9} {'supervisor':>11} {'growth':>9} "
                  f"{'req/s':>7} {'recycles':>8}  failures")
            for done in range(1, args.requests + 1):
                began = time.perf_counter()
                send(sender, service.url, next(mix), failures, errors)
                longest = max(longest, time.perf_counter() - began)
                if done % args.sample == 0:
                    worker_mb, supervisor_mb, recycles = workers.sample(done)
                    if done % args.every == 0:
                        first_rss = first_rss if first_rss is not None else worker_mb["rss"]
                        rate = done / (time.perf_counter() - started)
                        print(f"{done:>9,} {worker_mb['rss']:>8.1f} MB {worker_mb['anon']:>6.1f} MB "
                              f"{worker_mb['file']:>6.1f} MB {supervisor_mb['rss']:>8.1f} MB "
                              f"{worker_mb['rss'] - first_rss:>+6.1f} MB {rate:>7.0f} {recycles:>8}  {failures or '-'}",
                              flush=True)
            elapsed = time.perf_counter() - started
            health = session.get(service.url + "/health", timeout=60).json()
            record = pid_record(data_dir)
            failed = sum(failures.values())
            data_growth = (directory_mb(data_dir) - first_data_mb) / args.requests * 100_000
        finally:
            service.stop()
        print(f"requests: {args.requests:,} in {elapsed:.0f} s; FAILED REQUESTS: {failed}"
              f"{' ' + repr(errors) if errors else ''}; worker restarts: {health.get('worker_restarts')}; "
              f"longest request {longest:.1f} s")
        print(f"data directory: {data_growth:+.1f} MB per 100,000 requests (the stored data's own growth)")
        if not args.max_requests:
            print(f"growth after the first {args.every:,} requests: {workers.last[1]['rss'] - first_rss:+.1f} MB "
                  "(target <= +50 MB without recycling)")
            return
        at_age = workers.at_age
        growth = {field: slope_per_100k([(x, mb[field]) for x, mb, _ in at_age]) for field in ("rss", "anon", "file")}
        print(f"worker recycles: {record.get('recycles', 0)} (every {args.max_requests:,} requests)")
        print(f"service RSS (supervisor + worker) of each worker after {args.age:,} requests: "
              f"{listed(mb['rss'] for _, mb, _ in at_age)} MB")
        print(f"  of which anonymous: {listed(mb['anon'] for _, mb, _ in at_age)} MB")
        print(f"  of which mapped files: {listed(mb['file'] for _, mb, _ in at_age)} MB")
        print(f"  worker alone: {listed(mb['rss'] for _, _, mb in at_age)} MB")
        if workers.at_end:
            print("  each replaced worker at its last sample: " + ", ".join(
                f"{mb['rss']:.1f} MB ({age:,} requests old)" for age, mb in workers.at_end))
        at_end = fresh_service_mb(data_dir, model_id, skip, args.age, args.connection_per_request)
        at_start = fresh_service_mb(snapshot_dir, model_id, skip, args.age, args.connection_per_request)
        data_share = {field: (at_end[field] - at_start[field]) / args.requests * 100_000 for field in growth}
        print(f"a fresh service after {args.age:,} requests: {at_start['rss']:.1f} MB (anonymous {at_start['anon']:.1f}, "
              f"files {at_start['file']:.1f}) on the data as the soak started, {at_end['rss']:.1f} MB (anonymous "
              f"{at_end['anon']:.1f}, files {at_end['file']:.1f}) on the data as it ended")
        for field, label in (("rss", "RSS"), ("anon", "anonymous"), ("file", "mapped files")):
            print(f"growth per 100,000 requests, {label}: {growth[field]:+.1f} MB across recycles, of which "
                  f"{data_share[field]:+.1f} MB the stored data's and {growth[field] - data_share[field]:+.1f} MB the requests'")
        print(f"GROWTH across recycles: {growth['rss']:+.1f} MB RSS, {growth['anon']:+.1f} MB anonymous per 100,000 "
              f"requests (least squares through the service's memory of {len(at_age)} workers at equal age); "
              f"FAILED REQUESTS: {failed} (targets: <= 5 MB per 100,000 requests, 0 failed)")


if __name__ == "__main__":
    main()
