"""Many clients, several services, one MonetDB server — beside one service on embedded MonetDB.

8 client processes send task messages (one epoch per message, as keras_prov sends them, then
100 epochs per message) through 2 services sharing one MonetDB server, and through 1 embedded
service. Prints rows/s and the acknowledgement latency (p50, p99) of a message; asserts nothing.

    .venv/bin/python bench/cluster.py [--clients 8] [--messages 250]

Needs mserver5 (../shared/monetdb-server beside the clone, $MSERVER5 or PATH).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))
from monetdb_server import HOW_TO_RUN, MonetDBServer, find_mserver5, runnable_mserver5  # noqa: E402
from service_process import ServiceProcess  # noqa: E402


def run_clients(urls, tag, clients, messages, rows_per_message, work_dir):
    """Starts the client processes, waits for them; returns (rows/s, p50 s, p99 s, statuses)."""
    results = [os.path.join(work_dir, f"{tag}-{client}.json") for client in range(clients)]
    processes = [subprocess.Popen([sys.executable, str(TESTS / "cluster_clients.py"), ",".join(urls), tag,
                                   str(client), str(messages), str(rows_per_message), results[client]])
                 for client in range(clients)]
    for process in processes:
        if process.wait() != 0:
            raise RuntimeError(f"a client process failed (exit {process.returncode})")
    loaded = []
    for path in results:
        with open(path) as result:
            loaded.append(json.load(result))
    latencies = sorted(latency for result in loaded for latency in result["latencies"])
    seconds = max(r["finished"] for r in loaded) - min(r["started"] for r in loaded)
    statuses = {}
    for result in loaded:
        for status, count in result["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return clients * messages * rows_per_message / seconds, statistics.median(latencies), p99, statuses


def report(label, figures):
    rate, p50, p99, statuses = figures
    print(f"{label:<58} {rate:>9,.0f} rows/s   ack p50 {p50 * 1000:>6.1f} ms   p99 {p99 * 1000:>7.1f} ms   "
          f"answers {statuses}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--messages", type=int, default=250, help="single-row messages per client")
    parser.add_argument("--services", type=int, default=2)
    args = parser.parse_args()
    binary = find_mserver5()
    if binary is None:
        print(f"bench/cluster.py skipped: {HOW_TO_RUN}")
        return
    batched_messages = max(1, args.messages // 5)
    with tempfile.TemporaryDirectory() as work_dir:
        database = MonetDBServer(runnable_mserver5(binary, work_dir), Path(work_dir) / "farm").start()
        services = []
        try:
            services = [ServiceProcess(Path(work_dir) / f"service-{n}", monetdb_url=database.url).start()
                        for n in range(args.services)]
            urls = [service.url for service in services]
            where = f"{args.clients} clients -> {args.services} services -> 1 MonetDB server"
            report(f"{where}, 1 row/message",
                   run_clients(urls, "single", args.clients, args.messages, 1, work_dir))
            report(f"{where}, 100 rows/message",
                   run_clients(urls, "batched", args.clients, batched_messages, 100, work_dir))
        finally:
            for service in services:
                service.stop()
            database.stop()
        embedded = ServiceProcess(Path(work_dir) / "embedded").start()
        try:
            where = f"{args.clients} clients -> 1 service -> embedded MonetDB"
            report(f"{where}, 1 row/message",
                   run_clients([embedded.url], "single", args.clients, args.messages, 1, work_dir))
            report(f"{where}, 100 rows/message",
                   run_clients([embedded.url], "batched", args.clients, batched_messages, 100, work_dir))
        finally:
            embedded.stop()


if __name__ == "__main__":
    main()
