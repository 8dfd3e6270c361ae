"""On a MonetDB server, a user query is really stopped (seen from an administrator's connection in
sys.queue()) at its --query-timeout, when its client disconnects and when the service stops, and
its reader is free again."""
import json
import signal
import socket
import time

import pytest
import requests

from service_process import ServiceProcess

READER = "dfanalyzer_reader"
# 100 steps of 0.7 s (quiet machine) to 3 s (loaded) each on a MonetDB server: well over a minute
# in all, far past the limits below (and within the query guard's 5,000 tokens).
SLOW_QUERY = "SELECT " + " + ".join(
    f"(SELECT COUNT(*) FROM sys.columns a, sys.columns b, sys.schemas c "
    f"WHERE LENGTH(a.name || b.name || c.name || '{n}') > 10)"
    for n in range(100))


@pytest.fixture
def server_service(monetdb_database, tmp_path):
    started = []

    def start(query_timeout):
        service = ServiceProcess(tmp_path / "dfa-data", monetdb_url=monetdb_database.url,
                                 extra_args=["--query-timeout", str(query_timeout)]).start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def running_reader_queries(database):
    connection = database.connect()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT tag FROM sys.queue() WHERE username = %s AND status = 'running'", [READER])
        return cursor.fetchall()
    finally:
        connection.close()


def poll(condition, timeout=90, pause=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(pause)
    return False


def run_query(service, sql, limit=10):
    return requests.post(service.url + "/api/v1/query", json={"sql": sql, "limit": limit}, timeout=120)


def test_a_query_past_its_time_limit_is_stopped_on_the_server_with_a_400_and_its_reader_answers_next(
        server_service, monetdb_database):
    service = server_service(query_timeout=2)
    response = run_query(service, SLOW_QUERY)
    assert response.status_code == 400 and "--query-timeout" in response.json()["detail"]
    assert poll(lambda: not running_reader_queries(monetdb_database), timeout=30)
    assert run_query(service, "SELECT 1").json()["rows"] == [[1]]


def test_a_result_too_large_for_memory_gets_a_400_on_the_server_too(server_service):
    service = server_service(query_timeout=60)
    # About 220 MB of text (733 rows of 300 KB), past the service's 100 MB for one query's rows.
    response = run_query(service, "SELECT REPEAT('x', 300000) AS big FROM sys.columns", limit=1000)
    assert response.status_code == 400 and "smaller limit" in response.json()["detail"]
    assert run_query(service, "SELECT 2").json()["rows"] == [[2]]
    # Below the cap, every row asked for arrives, fetched in blocks.
    count = run_query(service, "SELECT COUNT(*) FROM sys.columns").json()["rows"][0][0]
    names = run_query(service, "SELECT name FROM sys.columns", limit=100_000).json()["rows"]
    assert count > 500 and len(names) == count


def test_a_disconnected_clients_query_is_stopped_on_the_server_long_before_its_limit(server_service,
                                                                                    monetdb_database):
    service = server_service(query_timeout=3600)
    client = start_slow_query(service, monetdb_database)
    client.close()
    # Minutes of work left and an hour of limit: only the disconnect can end it this soon.
    assert poll(lambda: not running_reader_queries(monetdb_database), timeout=30)
    assert run_query(service, "SELECT 1").json()["rows"] == [[1]]


def test_a_query_running_when_the_service_stops_is_stopped_on_the_server(server_service, monetdb_database):
    service = server_service(query_timeout=3600)
    client = start_slow_query(service, monetdb_database)
    try:
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(60) == 0
        assert poll(lambda: not running_reader_queries(monetdb_database), timeout=30)
    finally:
        client.close()


def start_slow_query(service, database):
    """Sends SLOW_QUERY on a raw connection (returned, to close when the test says) and waits
    until MonetDB runs it."""
    body = json.dumps({"sql": SLOW_QUERY, "limit": 10}).encode()
    client = socket.create_connection(("127.0.0.1", service.port))
    client.sendall(b"POST /api/v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    if not poll(lambda: running_reader_queries(database)):
        client.close()
        raise AssertionError("the query never started")
    return client


def test_the_watchdog_stops_a_query_that_monetdbs_own_limit_lets_run(monetdb_database):
    """The reader session's own limit is lifted by an administrator: the service's watchdog still
    stops the query (sys.stop) past the limit and its grace, with the same 400."""
    from dfanalyzer.errors import QueryRejected
    from dfanalyzer.store import open_store

    store = open_store(monetdb_url=monetdb_database.url, query_timeout=2)
    try:
        store.read("SELECT 1", isolated=True)  # its reader connection waits idle in the pool
        administrator = monetdb_database.connect()
        try:
            cursor = administrator.cursor()
            cursor.execute("SELECT sessionid FROM sys.sessions WHERE username = %s", [READER])
            for (session,) in cursor.fetchall():
                cursor.execute(f"CALL sys.setquerytimeout({int(session)}, 0)")
        finally:
            administrator.close()
        with pytest.raises(QueryRejected, match="--query-timeout"):
            store.read(SLOW_QUERY, isolated=True)
        assert poll(lambda: not running_reader_queries(monetdb_database), timeout=30)
        assert store.read("SELECT 3", isolated=True)[1] == [(3,)]
    finally:
        store.close()
