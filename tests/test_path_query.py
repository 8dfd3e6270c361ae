"""Path queries (JSON fields and the original program text) give the rows of hand-written SQL."""
from urllib.parse import quote, urlencode

import pytest
import requests

import path_dataflow

pytestmark = pytest.mark.both_backends  # SQL built here must run on either store


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    path_dataflow.seed(shared_dfa_service.url)
    return shared_dfa_service


def path_query(service, **fields):
    return requests.post(f"{service.url}/api/v1/dataflows/{path_dataflow.TAG}/path-query", json=fields, timeout=30)


def rows_of(service, sql):
    return sorted(tuple(row) for row in service.query(sql))


def test_physical_chain_equals_hand_written_joins(service):
    answer = path_query(service, source=["iLoad"], target=["oTest"],
                        projection=["iLoad.source", "oTrain.epoch", "oTrain.loss", "oTest.accuracy"],
                        selection=["oTrain.loss < 0.4"]).json()
    assert answer["paths"] == [["iLoad", "oLoad", "oTrain", "oTest"]]
    assert answer["params"] == [0.4] and "0.4" not in answer["sql"]
    expected = rows_of(service, """
        SELECT i.source, t.epoch, t.loss, s.accuracy FROM paths.iload i
        JOIN paths.oload l ON l.load_task_id = i.load_task_id
        JOIN paths.otrain t ON t.train_task_id = l.train_task_id
        JOIN paths.otest s ON s.test_task_id = t.test_task_id
        WHERE t.loss < 0.4""")
    assert len(expected) == 6  # epochs 2 and 3 of digits, 2 of iris; once per oLoad split
    assert sorted(tuple(r) for r in answer["rows"]) == expected
    assert answer["columns"] == ["iload.source", "otrain.epoch", "otrain.loss", "otest.accuracy"]
    # The console form has the value written in, and gives the same rows through /api/v1/query.
    assert rows_of(service, answer["console_sql"]) == expected


def test_branch_puts_every_set_of_both_paths_in_from(service):
    answer = path_query(service, source=["iLoad"], target=["oTest", "oProfile"],
                        projection=["iLoad.source", "oTest.accuracy", "oProfile.mean"]).json()
    assert sorted(answer["paths"]) == [["iLoad", "oLoad", "oProfile"], ["iLoad", "oLoad", "oTrain", "oTest"]]
    expected = rows_of(service, """
        SELECT i.source, s.accuracy, p.mean FROM paths.iload i, paths.oload l, paths.otrain t, paths.otest s,
               paths.oprofile p
        WHERE i.load_task_id = l.load_task_id AND l.train_task_id = t.train_task_id
          AND t.test_task_id = s.test_task_id AND l.profile_task_id = p.profile_task_id""")
    assert expected == [("digits.csv", 0.9, 0.5)] * 8 + [("iris.csv", 0.8, 0.5)] * 6
    assert sorted(tuple(r) for r in answer["rows"]) == expected
    # exclude drops the Test branch, include keeps only it
    only_profile = path_query(service, source=["iLoad"], target=["oTest", "oProfile"], exclude=["oTrain"]).json()
    assert only_profile["paths"] == [["iLoad", "oLoad", "oProfile"]]
    only_test = path_query(service, source=["iLoad"], target=["oTest", "oProfile"], include=["oTrain"]).json()
    assert only_test["paths"] == [["iLoad", "oLoad", "oTrain", "oTest"]]


def test_logical_and_hybrid_mappings(service):
    logical = path_query(service, source=["oLoad"], target=["oTest"], mapping="logical",
                         projection=["oLoad.split", "oTrain.epoch", "oTest.dataset"],
                         selection=["oLoad.dataset = 'iris'"]).json()
    expected = rows_of(service, """
        SELECT l.split, t.epoch, s.dataset FROM paths.oload l JOIN paths.otrain t ON t.dataset = l.dataset
        JOIN paths.otest s ON s.dataset = t.dataset WHERE l.dataset = 'iris'""")
    assert len(expected) == 6 and sorted(tuple(r) for r in logical["rows"]) == expected
    hybrid = path_query(service, source=["oLoad"], target=["oTest"], mapping="hybrid").json()
    # no projection: the join attributes of every set
    assert hybrid["columns"] == ["oload.train_task_id", "otrain.train_task_id", "oload.dataset", "otrain.dataset",
                                 "otrain.test_task_id", "otest.test_task_id", "otest.dataset"]
    assert len(hybrid["rows"]) == 14


def test_original_program_text(service):
    program = ("mapping(physical) source(iLoad) target(oTest;oProfile) "
               "projection(iLoad.source;oTrain.epoch;oProfile.mean) "
               "selection(oTrain.epoch >= 1;iLoad.source LIKE 'dig%') exclude(oProfile)")
    response = requests.post(f"{service.url}/query_interface/{path_dataflow.TAG}/1", data=program,
                             headers={"content-type": "text/plain"}, timeout=30)
    assert response.status_code == 422 and "oProfile" in response.json()["detail"]  # projected set not on a path
    program = program.replace("exclude(oProfile)", "")
    answer = requests.post(f"{service.url}/query_interface/{path_dataflow.TAG}/1", data=program,
                           headers={"content-type": "text/plain"}, timeout=30).json()
    assert sorted(tuple(r) for r in answer["rows"]) == [("digits.csv", e, 0.5) for e in (1.0, 1.0, 2.0, 2.0, 3.0, 3.0)]
    assert answer["params"] == [1.0, "dig%"]


def test_user_text_never_becomes_sql(service):
    attack = "oLoad.dataset = 'x'' OR ''1''=''1'"
    answer = path_query(service, source=["oLoad"], target=["oLoad"], selection=[attack]).json()
    assert answer["rows"] == [] and answer["params"] == ["x' OR '1'='1"]
    for fields, message in [
        ({"source": ["oLoad"], "target": ["oLoad"], "selection": ["oLoad.dataset = iris"]}, "single quotes"),
        ({"source": ["oLoad"], "target": ["oLoad"], "selection": ["oLoad.rows; DROP TABLE task"]}, "no operator"),
        ({"source": ["oLoad"], "target": ["oLoad"], "projection": ['oLoad.rows" FROM task --']}, "has no attribute"),
        ({"source": ["oLoad"], "target": ["oLoad"], "projection": ['nothing.rows']}, "not set.attribute"),
        ({"source": ["oLoad"], "target": ["oLoad"], "projection": ["oLoad.nothing"]}, "has no attribute"),
        ({"source": ["oTest"], "target": ["iLoad"]}, "no path"),
        ({"source": ["nowhere"], "target": ["oTest"]}, "has no set"),
        ({"source": ["oLoad"], "target": ["oLoad"], "selection": ["oLoad.rows > 'many'"]}, "compare it with a number"),
    ]:
        response = path_query(service, **fields)
        assert response.status_code == 422 and message in response.json()["detail"], (fields, response.text)
    assert requests.post(f"{service.url}/query_interface/{path_dataflow.TAG}/1", data="source(oLoad",
                         timeout=30).status_code == 422
    assert service.query("SELECT COUNT(*) FROM task") != [[0]]


def jquery_form_body(program):
    """The body jQuery's `$.ajax({type: "POST", data: {message: program}})` sends, as the original
    Query Interface page did: encodeURIComponent of the value, spaces as '+'."""
    return "message=" + quote(program, safe="-_.!~*'()").replace("%20", "+")


def test_original_clients_form_encoded_program(service):
    program = ("mapping(physical)\nsource(iLoad)\ntarget(oTest)\nprojection(iLoad.source;oTrain.epoch)\n"
               "selection(oTrain.epoch >= 3;iLoad.source LIKE 'dig%')")
    url = f"{service.url}/query_interface/{path_dataflow.TAG}/1"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
               "X-Requested-With": "XMLHttpRequest"}
    body = jquery_form_body(program)
    assert body.startswith("message=mapping(physical)%0Asource(iLoad)") and "epoch+%3E%3D+3" in body
    answer = requests.post(url, data=body.encode(), headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    assert sorted(tuple(r) for r in answer.json()["rows"]) == [("digits.csv", 3.0), ("digits.csv", 3.0)]
    # Every character percent-encoded (as Python's urlencode does) reads the same.
    encoded = requests.post(url, data=urlencode({"message": program}).encode(), headers=headers, timeout=30)
    assert encoded.json()["rows"] == answer.json()["rows"]
    missing = requests.post(url, data=b"program=source(iLoad)", headers=headers, timeout=30)
    assert missing.status_code == 422 and "message=" in missing.json()["detail"]
