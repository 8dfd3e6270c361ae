"""A crashing worker is replaced; SIGTERM closes the store and removes the pid file."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import requests

from service_process import ServiceProcess

# Sixty cheap steps of about 0.2 s each: the engine checks its time limit between steps.
SLOW_QUERY = "SELECT " + " + ".join(
    f"(SELECT COUNT(*) FROM sys.columns a, sys.columns b WHERE LENGTH(a.name || b.name || '{n}') > 10)"
    for n in range(60))


def _pid_record(data_dir):
    with open(os.path.join(data_dir, "dfanalyzer.pid")) as handle:
        return json.load(handle)


def _wait_healthy(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            response = requests.get(url + "/health", timeout=5)
            if response.ok:
                return response.json()
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


def test_a_worker_that_dies_is_replaced_and_the_restart_is_shown(tmp_path):
    data_dir = str(tmp_path / "data")
    service = ServiceProcess(data_dir).start()
    try:
        requests.post(service.url + "/api/v1/query", json={"sql": "SELECT 1"}, timeout=30).raise_for_status()
        first_worker = _pid_record(data_dir)["worker_pid"]
        os.kill(first_worker, signal.SIGSEGV)  # as the engine's crashes do
        health = _wait_healthy(service.url)
        assert health["worker_restarts"] == 1
        record = _pid_record(data_dir)
        assert record["worker_pid"] != first_worker and record["last_restart"]["cause"] == "signal 11"
        status = subprocess.run([sys.executable, "-m", "dfanalyzer", "status", "--port", str(service.port),
                                 "--data-dir", data_dir], capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and "worker restarts: 1" in status.stdout and "signal 11" in status.stdout
        assert "died (signal 11)" in service.log()
    finally:
        service.stop()


def test_sigterm_with_a_query_running_exits_0_and_removes_the_pid_file(tmp_path):
    data_dir = str(tmp_path / "data")
    service = ServiceProcess(data_dir).start()
    answers = []
    query = threading.Thread(target=lambda: answers.append(_post_quietly(service.url, SLOW_QUERY)))
    query.start()
    time.sleep(1)
    service.process.send_signal(signal.SIGTERM)
    code = service.process.wait(60)
    query.join(60)
    assert code == 0, service.log()
    assert not os.path.exists(os.path.join(data_dir, "dfanalyzer.pid"))
    # The data directory is free again: a new service opens it.
    ServiceProcess(data_dir).start().stop()


def _post_quietly(url, sql):
    try:
        return requests.post(url + "/api/v1/query", json={"sql": sql}, timeout=60).status_code
    except requests.RequestException as error:
        return type(error).__name__
