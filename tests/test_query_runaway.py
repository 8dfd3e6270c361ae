"""Issue 23, item 3: no read-only query takes the worker down. Text built from constants is refused
before the engine runs; what the guard cannot see is bounded by the engine's memory limit
(embedded MonetDB); a query in one long engine step is answered at its time limit, not dropped."""
import os
import threading
import time

import psutil
import pytest
import requests

from service_process import ServiceProcess

QUERY_TIMEOUT = 2
ENGINE_MEMORY_MB = 1024
# One engine step of about 8 s on a quiet machine (a 10,000 x 10,000 edit distance): the engine
# checks its time limit only between steps.
ONE_LONG_STEP = "SELECT max(levenshtein(repeat('a', 10000) || c.name, repeat('b', 10000))) FROM sys.columns c"


@pytest.fixture(scope="module")
def bounded_service(request, tmp_path_factory, dfa_backend):
    monetdb_url = None
    if dfa_backend == "server":
        server = request.getfixturevalue("monetdb_server")
        server.empty()
        monetdb_url = server.url
    changed = {"DFA_QUERY_TIMEOUT": str(QUERY_TIMEOUT), "DFA_ENGINE_MEMORY_MB": str(ENGINE_MEMORY_MB)}
    previous = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    try:
        service = ServiceProcess(tmp_path_factory.mktemp("runaway") / "dfa-data", monetdb_url=monetdb_url).start()
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value
    yield service
    service.stop()


def worker(service):
    return psutil.Process(service.process.pid).children()[0]


def timed_query(service, sql):
    started = time.monotonic()
    response = requests.post(service.url + "/api/v1/query", json={"sql": sql}, timeout=120)
    return response, time.monotonic() - started


class PeakMemory:
    """The largest resident size of a process while inside."""

    def __init__(self, process):
        self.process, self.peak, self._done = process, 0, threading.Event()

    def _sample(self):
        while not self._done.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._done.set()
        self._thread.join()


@pytest.mark.both_backends
def test_text_built_from_constants_is_refused_before_the_engine_runs(bounded_service):
    process = worker(bounded_service)
    with PeakMemory(process) as memory:
        response, seconds = timed_query(bounded_service, "SELECT length(repeat('x', 2000000000))")
    assert response.status_code == 400, response.text
    assert "2,000,000,000 characters" in response.json()["detail"] and seconds < 10
    assert memory.peak < 1024 * 2**20, f"the worker grew to {memory.peak / 2**20:.0f} MB"
    assert requests.get(bounded_service.url + "/health", timeout=10).json()["worker_restarts"] == 0


@pytest.mark.both_backends
def test_a_query_in_one_long_step_is_answered_at_its_limit_and_the_service_stays_up(bounded_service):
    response, seconds = timed_query(bounded_service, ONE_LONG_STEP)
    assert response.status_code == 400, response.text
    assert "--query-timeout" in response.json()["detail"]
    # Before, the client waited until the engine ended its step, or lost its connection when the
    # watchdog restarted the worker (2 x limit + 30 s); now it is answered 1.5 s after the limit.
    assert seconds < QUERY_TIMEOUT + 6, f"answered after {seconds:.1f}s"
    answer = requests.post(bounded_service.url + "/api/v1/query", json={"sql": "SELECT 1"}, timeout=30)
    assert answer.json()["rows"] == [[1]]


def test_the_engine_memory_limit_refuses_what_the_guard_cannot_see(bounded_service):
    """Embedded MonetDB only: a MonetDB server's memory is its operator's setting (gdk_vm_maxsize)."""
    process = worker(bounded_service)
    # The length comes from a table, so the guard cannot bound it; the engine's limit does.
    sql = "SELECT length(repeat('x', CAST((SELECT COUNT(*) FROM dataflow) AS INT) + 1500000000))"
    with PeakMemory(process) as memory:
        response, seconds = timed_query(bounded_service, sql)
    assert response.status_code == 400, response.text
    assert "allocate" in response.json()["detail"]
    assert memory.peak < ENGINE_MEMORY_MB * 2**20, f"the worker grew to {memory.peak / 2**20:.0f} MB"
    assert requests.post(bounded_service.url + "/api/v1/query", json={"sql": "SELECT 2"},
                         timeout=30).json()["rows"] == [[2]]
