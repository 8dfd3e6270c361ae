"""Saved queries are kept by the service; the paper's two analyses are offered where they apply."""
import requests

DENSEED = {"tag": "denseed_like", "transformations": [
    {"tag": "TrainingModel", "sets": [
        {"tag": "iTrainingModel", "type": "INPUT", "attributes": [{"name": "learning_rate", "type": "NUMERIC"}]},
        {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [
            {"name": "epoch", "type": "NUMERIC"}, {"name": "loss", "type": "NUMERIC"}, {"name": "val_loss", "type": "NUMERIC"}]}]},
    {"tag": "DenseBlock", "sets": [
        {"tag": "iDenseBlock", "type": "INPUT", "attributes": [
            {"name": "block_name", "type": "TEXT"}, {"name": "k", "type": "NUMERIC"}, {"name": "l", "type": "NUMERIC"}]},
        {"tag": "oDenseBlock", "type": "OUTPUT", "attributes": [{"name": "parameters", "type": "NUMERIC"}]}]},
]}


def post(service, path, body):
    response = requests.post(service.url + path, json=body, timeout=30)
    response.raise_for_status()
    return response


def seed_denseed(service):
    post(service, "/pde/dataflow/json", DENSEED)
    epochs = [[e, 1.0 / e, 1.5 / e] for e in range(1, 7)]
    post(service, "/pde/task/json", {"id": "1", "dataflow": "denseed_like", "exec": "r1", "transformation": "TrainingModel",
                                     "status": "RUNNING", "sets": [{"tag": "iTrainingModel", "elements": [[0.002]]},
                                                                   {"tag": "oTrainingModel", "elements": epochs}]})
    for number, (name, k, layers) in enumerate([("encoder_block", 24, 4), ("decoder_block", 16, 2)], start=1):
        post(service, "/pde/task/json", {
            "id": str(number), "dataflow": "denseed_like", "exec": "r1", "transformation": "DenseBlock", "status": "FINISHED",
            "dependency": {"tags": [{"tag": "TrainingModel"}], "ids": [{"id": "1"}]},
            "sets": [{"tag": "iDenseBlock", "elements": [[name, k, layers]]}, {"tag": "oDenseBlock", "elements": [[1000]]}]})


def test_save_list_replace_and_delete(shared_dfa_service):
    url = shared_dfa_service.url + "/api/v1/saved-queries"
    created = post(shared_dfa_service, "/api/v1/saved-queries", {"name": "it's mine", "sql": "SELECT tag FROM dataflow;"}).json()
    assert created["name"] == "it's mine" and created["sql"] == "SELECT tag FROM dataflow" and created["created"]
    replaced = post(shared_dfa_service, "/api/v1/saved-queries", {"name": "it's mine", "sql": "SELECT 2 AS two"}).json()
    assert replaced["id"] == created["id"]
    listed = requests.get(url, timeout=30).json()["saved"]
    assert [(q["name"], q["sql"]) for q in listed] == [("it's mine", "SELECT 2 AS two")]
    assert requests.get(f"{url}/{created['id']}", timeout=30).json()["sql"] == "SELECT 2 AS two"

    refused = requests.post(url, json={"name": "bad", "sql": "DROP TABLE task"}, timeout=30)
    assert refused.status_code == 400 and "only SELECT and WITH" in refused.json()["detail"]
    assert requests.post(url, json={"name": " ", "sql": "SELECT 1"}, timeout=30).status_code == 422

    assert requests.delete(f"{url}/{created['id']}", timeout=30).ok
    assert requests.get(url, timeout=30).json()["saved"] == []
    assert requests.delete(f"{url}/{created['id']}", timeout=30).status_code == 404


def test_paper_analyses_are_ready_examples(shared_dfa_service):
    seed_denseed(shared_dfa_service)
    examples = requests.get(shared_dfa_service.url + "/api/v1/saved-queries", params={"dataflow": "denseed_like"},
                            timeout=30).json()["examples"]
    assert [e["name"].split(":")[0] for e in examples] == ["Paper analysis 1", "Paper analysis 2"]
    assert "K=16 and L=2" in examples[0]["name"]  # the latest dense block recorded
    loss_now = shared_dfa_service.query(examples[0]["sql"])
    assert loss_now == [[16.0, 2.0, 6.0, 1.0 / 6, 1.5 / 6]]
    first_four = shared_dfa_service.query(examples[1]["sql"])
    assert first_four == [[float(e), 1.0 / e, 1.5 / e] for e in range(1, 5)]
    # A dataflow without the sets gets no examples.
    post(shared_dfa_service, "/pde/dataflow/json", {"tag": "plain", "transformations": [
        {"tag": "T", "sets": [{"tag": "oT", "type": "OUTPUT", "attributes": [{"name": "x", "type": "NUMERIC"}]}]}]})
    assert requests.get(shared_dfa_service.url + "/api/v1/saved-queries", params={"dataflow": "plain"},
                        timeout=30).json()["examples"] == []


def test_without_a_dataflow_the_examples_of_every_dataflow_that_has_them(shared_dfa_service):
    seed_denseed(shared_dfa_service)
    examples = requests.get(shared_dfa_service.url + "/api/v1/saved-queries", timeout=30).json()["examples"]
    assert {e["name"].rsplit("(", 1)[1].rstrip(")") for e in examples} == {"denseed_like"}
    assert len(examples) == 2
