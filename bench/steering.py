"""200 training processes listening to one service for steering actions: what it costs the service
while nothing happens, and how fast an action reaches the process.

Starts a service (embedded MonetDB, LOST after 60 s), stores 200 RUNNING runs, and runs 200
`keras_prov.steering.SteeringListener`s — the listener thread of a recorded fit, the same client
code — in this process. Then prints the service's CPU use (supervisor + worker, % of one core)
over an idle minute, and the delivery time of steering actions asked of a sample of runs (from
the POST to the listener holding the action). Asserts nothing.

    .venv/bin/python bench/steering.py [--listeners 200] [--idle 60] [--actions 40]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))
from service_process import ServiceProcess  # noqa: E402

DATAFLOW = {"tag": "bench_steering", "transformations": [{"tag": "TrainingModel", "sets": [
    {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [{"name": "epoch", "type": "NUMERIC"}]}]}]}


def service_cpu_seconds(service):
    process = psutil.Process(service.process.pid)
    total = 0.0
    for member in [process] + process.children(recursive=True):
        times = member.cpu_times()
        total += times.user + times.system
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle measurement")
    parser.add_argument("--actions", type=int, default=40, help="steering actions whose delivery is timed")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_prov.steering import SteeringListener

    with tempfile.TemporaryDirectory() as directory:
        service = ServiceProcess(Path(directory) / "dfa-data", extra_args=["--lost-after", "60"]).start()
        try:
            requests.post(service.url + "/pde/dataflow/json", json=DATAFLOW, timeout=60).raise_for_status()
            executions = [f"run-{index}" for index in range(args.listeners)]
            batch = [{"kind": "task", "id": f"task-{index}", "body": {
                "id": "1", "dataflow": DATAFLOW["tag"], "exec": execution, "transformation": "TrainingModel",
                "status": "RUNNING", "sets": []}} for index, execution in enumerate(executions)]
            requests.post(service.url + "/api/v1/ingest", json={"messages": batch}, timeout=120).raise_for_status()
            listeners = [SteeringListener(service.url, DATAFLOW["tag"], execution) for execution in executions]
            for listener in listeners:
                listener.start()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                answer = requests.get(f"{service.url}/api/v1/executions/{executions[-1]}/steering",
                                      timeout=30).json()
                if answer["listening"]:
                    break
                time.sleep(1)
            time.sleep(20)  # every listener has asked at least once; the liveness flush has run
            print(f"{args.listeners} listeners connected; measuring the service for {args.idle:.0f} s of idle")
            before, started = service_cpu_seconds(service), time.monotonic()
            time.sleep(args.idle)
            used, elapsed = service_cpu_seconds(service) - before, time.monotonic() - started
            print(f"service CPU while idle: {100 * used / elapsed:.1f} % of one core "
                  f"({used:.2f} s in {elapsed:.0f} s; target <= 10 %)")
            delays = []
            for index in range(args.actions):
                listener = listeners[(index * 7) % len(listeners)]
                execution = executions[listeners.index(listener)]
                asked = time.monotonic()
                requests.post(f"{service.url}/api/v1/executions/{execution}/steering", json={"action": "note",
                              "note": f"bench {index}"}, timeout=30).raise_for_status()
                while not listener.actions and time.monotonic() - asked < 30:
                    time.sleep(0.002)
                delays.append(time.monotonic() - asked if listener.actions else float("inf"))
                listener.take(("note",))
                time.sleep(0.2)
            delays.sort()
            print(f"delivery of {len(delays)} actions with {args.listeners} listening: median "
                  f"{statistics.median(delays) * 1000:.0f} ms, p95 {delays[int(0.95 * (len(delays) - 1))] * 1000:.0f} ms, "
                  f"max {delays[-1] * 1000:.0f} ms (target <= 2000 ms)")
            print(f"machine load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            for listener in listeners:
                listener.close()
        finally:
            service.stop()


if __name__ == "__main__":
    main()
