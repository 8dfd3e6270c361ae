"""Issue 9: every bad input gets a 4xx naming what is wrong, nothing is stored, the service stays up,
and answers tell strangers nothing about the machine."""
import json
from urllib.parse import unquote

import requests

from test_service_ingestion import SPEC, post, task

OCTETS = {"Content-Type": "application/octet-stream"}


def raw_post(service, path, text):
    return requests.post(service.url + path, data=text, headers={"Content-Type": "application/json"}, timeout=30)


def assert_up(service):
    assert requests.get(service.url + "/health", timeout=10).json()["status"] == "ok"


def test_numbers_and_times_that_do_not_fit_are_422(shared_dfa_service):
    service = shared_dfa_service
    post(service, "/pde/dataflow/json", SPEC)
    rows_before = service.query("SELECT COUNT(*) FROM mnist.otrainingmodel")
    # A 401-digit integer as a NUMERIC value (JSON numbers have no size limit).
    huge = raw_post(service, "/pde/task/json", json.dumps(task("n1", "TrainingModel", "RUNNING", exec_tag="big"))
                    .replace('"sets": []', '"sets": [{"tag": "oTrainingModel", "elements": [[1, 2, ' + "9" * 401 + "]]}]"))
    assert huge.status_code == 422 and "does not fit a DOUBLE" in huge.json()["detail"], huge.text
    for start in (1e20, "1e20", -1e15, "NaN", "nan", 1e30):
        message = task("n2", "TrainingModel", "FINISHED", exec_tag="times",
                       performances=[{"startTime": start, "endTime": "2026-01-01 10:00:00"}])
        response = post(service, "/pde/task/json", message)
        assert response.status_code == 422 and "is not a time" in response.json()["detail"], (start, response.text)
    execution = {"messages": [{"id": "exec-1e30", "kind": "execution",
                               "body": {"dataflow": "mnist", "exec": "t1e30", "startTime": 1e30}}]}
    refused = post(service, "/api/v1/ingest", execution)
    assert refused.status_code == 422 and refused.json()["detail"]["message_id"] == "exec-1e30"
    assert service.query("SELECT COUNT(*) FROM mnist.otrainingmodel") == rows_before
    assert service.query("SELECT COUNT(*) FROM dataflow_execution WHERE tag IN ('big', 'times', 't1e30')") == [[0]]
    assert_up(service)


def test_model_ids_beyond_int64_are_422(shared_dfa_service):
    for model_id in ("99999999999999999999", "-99999999999999999999", "0", "-1"):
        for suffix in ("", "/file"):
            response = requests.get(f"{shared_dfa_service.url}/api/v1/models/{model_id}{suffix}", timeout=30)
            assert response.status_code == 422, (model_id, suffix, response.status_code)
    assert requests.get(f"{shared_dfa_service.url}/api/v1/models/{2 ** 63 - 1}", timeout=30).status_code == 404


def test_tags_are_matched_whole_and_labels_are_bounded(shared_dfa_service):
    service = shared_dfa_service
    newline = post(service, "/pde/dataflow/json", dict(SPEC, tag="a\n"))
    assert newline.status_code == 422 and "dataflow tag" in newline.json()["detail"]
    assert service.query("SELECT COUNT(*) FROM sys.schemas WHERE name LIKE 'a%' AND LENGTH(name) = 2") == [[0]]
    post(service, "/pde/dataflow/json", SPEC)
    long_exec = post(service, "/pde/task/json", task("l1", "TrainingModel", "RUNNING", exec_tag="r" * 300))
    assert long_exec.status_code == 422 and "the limit is 255" in long_exec.json()["detail"]
    for exec_tag in ("run\r\nX-Injected: 1", "run\x00", "run\u2028"):
        response = post(service, "/pde/task/json", task("l2", "TrainingModel", "RUNNING", exec_tag=exec_tag))
        assert response.status_code == 422 and "control character" in response.json()["detail"], exec_tag
    long_task = post(service, "/pde/task/json", task("7" * 300, "TrainingModel", "RUNNING", exec_tag="long-task"))
    assert long_task.status_code == 422
    assert service.query("SELECT COUNT(*) FROM dataflow_execution WHERE LENGTH(tag) > 255 OR tag LIKE 'run%'") == [[0]]


def test_ids_with_control_characters_are_refused_not_trimmed(shared_dfa_service):
    """Issue 23: "7\n" was trimmed to "7" and became the same task; ids, sub_id, dependency ids,
    workspace and resource with a control character are refused on both ingestion endpoints."""
    service = shared_dfa_service
    post(service, "/pde/dataflow/json", SPEC)
    assert post(service, "/pde/task/json", task("7", "TrainingModel", "RUNNING", exec_tag="controls")).ok
    cases = [("id", "7\n"), ("id", "7\r"), ("id", "\t7"), ("sub_id", "a\n"), ("workspace", "/tmp/run\n"),
             ("resource", "host\r")]
    for number, (field, value) in enumerate(cases):
        message = task(f"c{number}", "TrainingModel", "RUNNING", exec_tag="controls")
        message[field] = value
        direct = post(service, "/pde/task/json", message)
        assert direct.status_code == 422 and "control character" in direct.json()["detail"], (field, direct.text)
        batch = post(service, "/api/v1/ingest", {"messages": [{"id": f"control-{number}", "kind": "task",
                                                               "body": message}]})
        assert batch.status_code == 422 and batch.json()["detail"]["message_id"] == f"control-{number}", batch.text
    dependent = task("d7", "TrainingModel", "RUNNING", exec_tag="controls")
    dependent["dependency"] = {"tags": [{"tag": "TrainingModel"}], "ids": [{"id": "7\n"}]}
    refused = post(service, "/pde/task/json", dependent)
    assert refused.status_code == 422 and "dependency id" in refused.json()["detail"]
    saved = requests.post(service.url + "/api/v1/saved-queries", json={"name": "mine\n", "sql": "SELECT 1"}, timeout=30)
    assert saved.status_code == 422 and "control character" in saved.json()["detail"]
    assert service.query("SELECT identifier, sub_id FROM task WHERE exec_id = "
                         "(SELECT id FROM dataflow_execution WHERE tag = 'controls')") == [["7", ""]]
    assert_up(service)


def test_download_names_survive_any_tag(shared_dfa_service):
    service = shared_dfa_service
    post(service, "/pde/dataflow/json", SPEC)
    exec_tag = 'run "ünï" 東京'
    assert post(service, "/pde/task/json", task("d1", "TrainingModel", "FINISHED", exec_tag=exec_tag)).ok
    for path in ("prov?format=provn", "graph.dot"):
        response = requests.get(f"{service.url}/api/v1/executions/{requests.utils.quote(exec_tag, safe='')}/{path}",
                                timeout=60)
        assert response.status_code == 200, (path, response.text[:300])
        disposition = response.headers["Content-Disposition"]
        assert disposition.isascii() and '\\"' not in disposition
        encoded = disposition.split("filename*=UTF-8''", 1)[1]
        assert unquote(encoded).startswith(exec_tag)


def test_uploads_never_overwrite_and_must_be_octet_streams(shared_dfa_service):
    service = shared_dfa_service
    post(service, "/pde/dataflow/json", SPEC)
    assert post(service, "/pde/task/json", task("m1", "TrainingModel", "FINISHED", exec_tag="models")).ok
    params = {"dataflow": "mnist", "exec": "models", "task": "m1", "format": "keras", "file_name": "model.keras"}
    url = service.url + "/api/v1/models"
    first = requests.post(url, params=params, data=b"first bytes", headers=OCTETS, timeout=30)
    assert first.status_code == 201, first.text
    again = requests.post(url, params=params, data=b"first bytes", headers=OCTETS, timeout=30)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = requests.post(url, params=params, data=b"other bytes", headers=OCTETS, timeout=30)
    assert other.status_code == 409 and "never replaced" in other.json()["detail"]
    # A browser's cross-origin form post (no preflight) is text/plain: refused before anything is read.
    plain = requests.post(url, params=params, data=b"other bytes", headers={"Content-Type": "text/plain"}, timeout=30)
    assert plain.status_code == 415 and "application/octet-stream" in plain.json()["detail"]
    newline = requests.post(url, params={**params, "file_name": "model\n"}, data=b"x", headers=OCTETS, timeout=30)
    assert newline.status_code == 422
    model_id = first.json()["id"]
    download = requests.get(f"{url}/{model_id}/file", timeout=30)
    assert download.content == b"first bytes" and "attachment" in download.headers["Content-Disposition"]
    assert requests.get(f"{url}/{model_id}", timeout=30).json()["sha256"] == first.json()["sha256"]


def test_answers_name_no_path_and_send_no_cors_headers(shared_dfa_service):
    service = shared_dfa_service
    health = requests.get(service.url + "/health", headers={"Origin": "http://evil.example"}, timeout=30)
    assert service.data_dir not in health.text and "data_dir" not in health.json()
    assert not any(name.lower().startswith("access-control") for name in health.headers)
    preflight = requests.options(service.url + "/api/v1/query", timeout=30, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert not any(name.lower().startswith("access-control") for name in preflight.headers)
    for path in ("/api/v1/models/123456", "/api/v1/models/123456/file", "/api/v1/executions/nope/prov",
                 "/api/v1/dataflows/nope", "/nothing-here"):
        response = requests.get(service.url + path, timeout=30)
        assert response.status_code == 404 and service.data_dir not in response.text, path


def test_the_guard_tokenizes_strings_comments_and_quoted_names(shared_dfa_service):
    service = shared_dfa_service
    post(service, "/pde/dataflow/json", SPEC)

    def query(sql):
        return requests.post(service.url + "/api/v1/query", json={"sql": sql, "limit": 10}, timeout=60)

    for sql in ["SELECT '--'; COMMIT; DELETE FROM task", "SELECT 1 # x\n; DELETE FROM task",
                "SELECT 'a\\'; DELETE FROM task --'", "SELECT /* a /* b */ ; */ 1; DELETE FROM task",
                "SELECT * FROM sys.copyfrom(NULL,'a','b','c','d','e',1,1,1,'x',1,1)", "SELECT * FROM sys.queue",
                "SELECT " + "+".join(["1"] * 25000), "SELECT 'unclosed", 'SELECT "unclosed FROM task']:
        response = query(sql)
        assert response.status_code == 400, (sql[:60], response.text[:200])
    assert query("SELECT " + "+".join(["1"] * 25000)).json()["detail"].startswith("the query has more than")
    assert query("SELECT * FROM sys.copyfrom(NULL,'a','b','c','d','e',1,1,1,'x',1,1)").json()["detail"].startswith(
        "the function sys.copyfrom()")
    assert query("SELECT '--' AS a, 'x;y' AS b /* ; */").json()["rows"] == [["--", "x;y"]]
    assert service.query("SELECT COUNT(*) FROM dataflow WHERE tag = 'mnist'") == [[1]]
    assert_up(service)


def test_keyword_attributes_and_hyphenated_dataflows_can_be_queried(shared_dfa_service):
    service = shared_dfa_service
    spec = {"tag": "keras-alexnet-df", "transformations": [{"tag": "Train", "sets": [
        {"tag": "oTrain", "type": "OUTPUT", "attributes": [
            {"name": name, "type": "NUMERIC"} for name in ("start", "set", "comment", "release", "execute")]}]}]}
    assert post(service, "/pde/dataflow/json", spec).ok
    message = {"id": "k1", "dataflow": "keras-alexnet-df", "exec": "kw", "transformation": "Train",
               "status": "RUNNING", "sets": [{"tag": "oTrain", "elements": [[1, 2, 3, 4, 5]]}]}
    assert post(service, "/pde/task/json", message).ok

    def query(sql):
        return requests.post(service.url + "/api/v1/query", json={"sql": sql, "limit": 10}, timeout=60)

    quoted = query('SELECT "start", "set", "comment", "release", "execute" FROM "keras-alexnet-df".otrain')
    assert quoted.json()["rows"] == [[1.0, 2.0, 3.0, 4.0, 5.0]], quoted.text
    unquoted = query("SELECT start, comment, release, execute FROM \"keras-alexnet-df\".otrain")
    assert unquoted.json()["rows"] == [[1.0, 3.0, 4.0, 5.0]], unquoted.text
    hyphenated = query("SELECT * FROM keras-alexnet-df.otrain")
    assert hyphenated.status_code == 400 and '"keras-alexnet-df".<set>' in hyphenated.json()["detail"]
    keyword = query('SELECT set FROM "keras-alexnet-df".otrain')
    assert keyword.status_code == 400 and '"set"' in keyword.json()["detail"]
    named = query('SELECT count(*), max("start") FROM "keras-alexnet-df".otrain').json()
    assert named["columns"] == ["count(*)", 'max("start")']


def test_malformed_task_and_specification_parts_are_422(shared_dfa_service):
    service = shared_dfa_service
    post(service, "/pde/dataflow/json", SPEC)
    not_a_list = post(service, "/pde/task/json", dict(task("e1", "TrainingModel", "RUNNING", exec_tag="shape"),
                                                      sets=[{"tag": "oTrainingModel", "elements": 5}]))
    assert not_a_list.status_code == 422 and "'elements'" in not_a_list.json()["detail"]
    program = {"tag": "TrainingModel", "programs": [{"name": "p" * 300, "path": "train.py"}], "sets": []}
    long_program = post(service, "/pde/dataflow/json", dict(SPEC, transformations=SPEC["transformations"] + [program]))
    assert long_program.status_code == 422 and "program name" in long_program.json()["detail"]
    assert_up(service)
