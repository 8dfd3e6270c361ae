"""Values MonetDB holds that Python's types cannot (dates after the year 9999, before the year 1):
every read path answers them as text or refuses them with a 400, never a 500; on embedded
MonetDB and on a MonetDB server."""
import pytest
import requests

from web_seed import RunSeeder

pytestmark = pytest.mark.both_backends

OUT_OF_RANGE = [
    ("SELECT CAST('10000-01-01' AS DATE)", "10000-01-01"),
    ("SELECT date '9999-12-31' + interval '1' day", "10000-01-01"),
    ("SELECT CAST('10000-01-01 00:00:00.5' AS TIMESTAMP)", "10000-01-01T00:00:00.500000"),
    ("SELECT timestamp '9999-12-31 23:59:59' + interval '1' second", "10000-01-01T00:00:00"),
    ("SELECT CAST('-0001-01-01' AS DATE)", "-0001-01-01"),
    ("SELECT CAST('0000-06-30 10:00' AS TIMESTAMP)", "0000-06-30T10:00:00"),
]


def test_query_answers_out_of_range_times_as_text_in_json_and_csv(shared_dfa_service):
    url = shared_dfa_service.url + "/api/v1/query"
    for sql, text in OUT_OF_RANGE:
        answer = requests.post(url, json={"sql": sql + ", CAST('2020-02-03' AS DATE)"}, timeout=30)
        assert answer.status_code == 200, (sql, answer.text)
        assert answer.json()["rows"] == [[text, "2020-02-03"]], sql
        csv = requests.post(url, params={"format": "csv"}, json={"sql": sql}, timeout=30)
        assert csv.status_code == 200, (sql, csv.text)
        assert csv.text.splitlines()[1] == text, sql
    with_zone = requests.post(url, json={"sql": "SELECT CAST('10000-01-01 00:00:00' AS TIMESTAMP WITH TIME ZONE)"},
                              timeout=30)
    assert with_zone.status_code == 200 and with_zone.json()["rows"][0][0].startswith("10000-01-01T00:00:00")
    overflow = requests.post(url, json={"sql": "SELECT CAST(12345678901234567.89 AS DECIMAL(18,2))"}, timeout=30)
    assert overflow.status_code == 400 and "overflow" in overflow.text


# Conversions MonetDB refuses; on a server some are kernel errors without a SQLSTATE, which were
# taken for a lost connection (503).
UNCONVERTIBLE = [
    ("SELECT CAST('abc' AS BLOB)", "blob"),
    ("SELECT CAST('zz' AS UUID)", "uuid"),
    ("SELECT CAST('abc' AS JSON)", "json"),
    ("SELECT CAST('x' AS INET)", "inet"),
    ("SELECT CAST('abc' AS INT)", "int"),
]


def test_values_monetdb_cannot_convert_are_a_400_saying_which(shared_dfa_service):
    url = shared_dfa_service.url + "/api/v1/query"
    for sql, kind in UNCONVERTIBLE:
        for params in ({}, {"format": "csv"}):
            answer = requests.post(url, params=params, json={"sql": sql}, timeout=30)
            assert answer.status_code == 400, (sql, params, answer.status_code, answer.text)
            assert kind in answer.json()["detail"].lower(), (sql, answer.text)
    still = requests.post(url, json={"sql": "SELECT 1"}, timeout=30)  # the connection went back to serve on
    assert still.status_code == 200 and still.json()["rows"] == [[1]]


def _store_odd_times(service, monetdb_database):
    """Puts times Python cannot hold into the catalog, as a foreign writer of the database could."""
    statements = ["UPDATE dataflow_execution SET start_time = timestamp '9999-12-31 23:00:00' + interval '2' hour "
                  "WHERE tag = 'odd-run'",
                  "UPDATE task SET start_time = timestamp '9999-12-31 23:00:00' + interval '2' hour, "
                  "end_time = CAST('-0005-01-01 00:00:00' AS TIMESTAMP) "
                  "WHERE exec_id = (SELECT id FROM dataflow_execution WHERE tag = 'odd-run')"]
    if monetdb_database is not None:
        connection = monetdb_database.connect()
        try:
            for statement in statements:
                connection.cursor().execute(statement)
        finally:
            connection.close()
        return
    from dfanalyzer.store import open_store  # the service is stopped: one process opens a data directory

    service.stop()
    store = open_store(data_dir=service.data_dir)
    try:
        with store.write() as tx:
            for statement in statements:
                tx.execute(statement)
    finally:
        store.close()
    service.start()


def test_stored_times_past_9999_are_text_in_runs_and_a_400_in_prov(shared_dfa_service, dfa_backend, request):
    seeder = RunSeeder(shared_dfa_service.url, "oddtimes")
    hyperparameters = {"optimizer_name": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 2, "dropout": 0.1}
    seeder.run("odd-run", hyperparameters, epochs=2)
    seeder.run("plain-run", hyperparameters, epochs=2)
    server = request.getfixturevalue("monetdb_server") if dfa_backend == "server" else None
    _store_odd_times(shared_dfa_service, server)
    base = shared_dfa_service.url

    def get(path, **params):
        return requests.get(base + path, params=params, timeout=60)

    runs = get("/api/v1/runs", dataflow="oddtimes")
    assert runs.status_code == 200, runs.text
    odd = next(run for run in runs.json() if run["execution"] == "odd-run")
    assert odd["start_time"] == "10000-01-01T01:00:00"
    for sort in ("start", "duration"):
        table = get("/api/v1/runs/table", dataflow="oddtimes", sort=sort)
        assert table.status_code == 200, table.text
        rows = {row["execution"]: row for row in table.json()["rows"]}
        assert rows["odd-run"]["start"] == "10000-01-01T01:00:00" and rows["odd-run"]["duration"] is None
        assert isinstance(rows["plain-run"]["duration"], float)
    csv = get("/api/v1/runs/table", dataflow="oddtimes", format="csv")
    assert csv.status_code == 200 and "10000-01-01T01:00:00" in csv.text
    summary = get("/api/v1/executions/odd-run/summary")
    assert summary.status_code == 200 and summary.json()["start"] == "10000-01-01T01:00:00", summary.text
    assert get("/runs/odd-run").status_code == 200
    for path in ("/api/v1/executions/odd-run/prov", "/api/v1/dataflows/oddtimes/prov",
                 "/api/v1/executions/odd-run/graph.svg", "/api/v1/executions/odd-run/graph.json"):
        refused = get(path)
        assert refused.status_code == 400, (path, refused.status_code, refused.text[:200])
        assert "10000-01-01T01:00:00" in refused.json()["detail"] and "9999" in refused.json()["detail"]
    assert get("/api/v1/executions/plain-run/prov", format="provn").status_code == 200
    assert get("/api/v1/dataflows/oddtimes/graph.svg").status_code == 200
