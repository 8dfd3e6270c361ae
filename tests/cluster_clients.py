"""Client processes that send epochs to several DfAnalyzer services, for the server-backend tests
and bench/cluster.py.

Run as a script, one process per client:

    python tests/cluster_clients.py URL1,URL2 TAG CLIENT MESSAGES ROWS_PER_MESSAGE RESULT.json

It sends MESSAGES task messages (each one batch, ROWS_PER_MESSAGE epochs) to the services in
turn, re-sending a message after any answer that is not 200 (as dfa_lib_python does), and
writes {"statuses": {code: count}, "latencies": [seconds per acknowledged message],
"started": ..., "finished": ...} (wall-clock seconds around the task messages).
"""
import collections
import json
import os
import sys
import time

import requests

SET_TAG = "oEpochs"


def specification(tag):
    return {"tag": tag, "transformations": [{"tag": "Train", "sets": [
        {"tag": SET_TAG, "type": "OUTPUT", "attributes": [
            {"name": "client", "type": "NUMERIC"}, {"name": "epoch", "type": "NUMERIC"},
            {"name": "loss", "type": "NUMERIC"}]}]}]}


def task_message(tag, client, first_epoch, rows):
    elements = [[client, epoch, 1.0 / (epoch + 1)] for epoch in range(first_epoch, first_epoch + rows)]
    return {"id": f"{client}", "dataflow": tag, "exec": f"run-{client}", "transformation": "Train",
            "status": "RUNNING", "sets": [{"tag": SET_TAG, "elements": elements}]}


def deliver(urls, batch, statuses, timeout=float(os.environ.get("CLUSTER_CLIENT_TIMEOUT", 300))):
    """Posts `batch` until a service acknowledges it; counts every answer's status."""
    deadline = time.monotonic() + timeout
    turn, last = 0, "no answer"
    while time.monotonic() < deadline:
        url = urls[turn % len(urls)]
        turn += 1
        try:
            response = requests.post(url + "/api/v1/ingest", json=batch, timeout=60)
        except requests.RequestException as error:
            statuses["connection error"] += 1
            last = str(error)
            time.sleep(0.2)
            continue
        statuses[str(response.status_code)] += 1
        last = f"HTTP {response.status_code}: {response.text[:300]}"
        if response.status_code == 200:
            return
        time.sleep(min(float(response.headers.get("Retry-After", 0.2)), 1.0))
    raise RuntimeError(f"no service acknowledged batch {batch['messages'][0]['id']} in {timeout}s; last: {last}")


def run_client(urls, tag, client, messages, rows_per_message):
    statuses, latencies = collections.Counter(), []
    deliver(urls, {"messages": [{"id": f"spec-{tag}-{client}", "kind": "dataflow", "body": specification(tag)}]}, statuses)
    started = time.time()
    for number in range(messages):
        message = task_message(tag, client, number * rows_per_message, rows_per_message)
        batch = {"messages": [{"id": f"{tag}-{client}-{number}", "kind": "task", "body": message}]}
        sent = time.perf_counter()
        deliver([urls[(client + number) % len(urls)]] + urls, batch, statuses)
        latencies.append(time.perf_counter() - sent)
    return {"statuses": dict(statuses), "latencies": latencies, "started": started, "finished": time.time()}


if __name__ == "__main__":
    urls, tag, client, messages, rows, result_path = sys.argv[1:7]
    result = run_client(urls.split(","), tag, int(client), int(messages), int(rows))
    with open(result_path, "w") as out:
        json.dump(result, out)
