"""PROV documents through the service and the CLI, from runs posted as keras_prov would post them."""
import json
import os
import subprocess
import sys

import pytest
import requests
from prov.model import ProvDocument

from dfanalyzer.export import get, known
from prov_sample import DATAFLOW, post_sample_run


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    post_sample_run(shared_dfa_service.url, "run-a", epochs=4, adaptations=2)
    post_sample_run(shared_dfa_service.url, "run-b", epochs=3, adaptations=0)
    return shared_dfa_service


def prov(service, path, format_name):
    response = requests.get(f"{service.url}{path}", params={"format": format_name}, timeout=60)
    assert response.status_code == 200, response.text
    return response


def cli(service, *args):
    environment = dict(os.environ, DFA_URL=service.url)
    return subprocess.run([sys.executable, "-m", "dfanalyzer", *args], capture_output=True, text=True,
                          env=environment, timeout=120)


@pytest.mark.parametrize("format_name", known())
def test_each_format_reads_back_into_the_document_written(service, format_name):
    # PROV-JSON is the reference: it carries every value with its type.
    reference = ProvDocument.deserialize(
        content=prov(service, "/api/v1/executions/run-a/prov", "json").text, format="json")
    response = prov(service, "/api/v1/executions/run-a/prov", format_name)
    assert response.headers["content-type"].startswith(get(format_name).media_type.split(";")[0])
    assert get(format_name).deserialize(response.text) == reference
    # 1 plan, 4 epochs, hyperparameters, trained model, 2 old and 2 new rates, 1 test result.
    entities = [r for r in reference.get_records() if r.get_type().localpart == "Entity"]
    assert len(entities) == 1 + 4 + 1 + 1 + 2 + 2 + 1


@pytest.mark.parametrize("format_name", known())
def test_exporting_twice_gives_identical_documents(service, format_name):
    first = prov(service, "/api/v1/executions/run-a/prov", format_name).content
    second = prov(service, "/api/v1/executions/run-a/prov", format_name).content
    assert first == second


def test_stored_rows_become_typed_entities_of_their_tasks(service):
    text = prov(service, "/api/v1/executions/run-a/prov", "provn").text
    assert "entity(kprov:dataflow/provsample, [prov:type='prov:Plan'" in text
    assert ("wasAssociatedWith(kprov:execution/provsample/run-a, kprov:agent/provsample/run-a/person/alice, "
            "kprov:dataflow/provsample)") in text
    assert 'kprov:loss="0.5" %% xsd:double' in text
    assert ("wasGeneratedBy(kprov:data/provsample/oTrainingModel/2, "
            "kprov:task/provsample/run-a/TrainingModel/1, -)") in text
    assert "used(kprov:task/provsample/run-a/TestingModel/t1, kprov:data/provsample/oTrainedModel/1, -)" in text
    assert ("wasDerivedFrom(kprov:data/provsample/oAdaptation/2, kprov:data/provsample/oAdaptation/1, "
            "kprov:task/provsample/run-a/Adaptation/a2, -, -)") in text
    # run-b's rows are not part of run-a's document.
    assert "run-b" not in text


def test_dataflow_document_holds_all_its_executions(service):
    text = prov(service, f"/api/v1/dataflows/{DATAFLOW}/prov", "provn").text
    assert "activity(kprov:execution/provsample/run-a," in text
    assert "activity(kprov:execution/provsample/run-b," in text


def test_unknown_names_and_formats_get_clear_errors(service):
    response = requests.get(f"{service.url}/api/v1/executions/no-such-run/prov", timeout=30)
    assert response.status_code == 404
    assert "no-such-run" in response.json()["detail"]
    response = requests.get(f"{service.url}/api/v1/dataflows/no-such-flow/prov", timeout=30)
    assert response.status_code == 404
    assert "no-such-flow" in response.json()["detail"]
    response = requests.get(f"{service.url}/api/v1/executions/run-a/prov", params={"format": "rdfxml"}, timeout=30)
    assert response.status_code == 422
    assert response.json()["detail"] == "unknown PROV format 'rdfxml'; known formats: provn, json, xml, ttl, jsonld"


def test_cli_export_writes_the_document_of_an_execution_or_a_dataflow(service, tmp_path):
    output = tmp_path / "run-a.json"
    result = cli(service, "export", "run-a", "--format", "json", "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "execution 'run-a'" in result.stdout
    document = json.loads(output.read_text())
    assert "kprov:execution/provsample/run-a" in document["activity"]
    output = tmp_path / "flow.ttl"
    result = cli(service, "export", DATAFLOW, "-f", "ttl", "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "dataflow 'provsample'" in result.stdout
    assert get("ttl").deserialize(output.read_text()) == ProvDocument.deserialize(
        content=prov(service, f"/api/v1/dataflows/{DATAFLOW}/prov", "json").text, format="json")


def test_cli_export_errors_name_what_was_wrong(service, tmp_path):
    output = tmp_path / "x.provn"
    result = cli(service, "export", "nothing-here", "-o", str(output))
    assert result.returncode == 1
    assert "no execution or dataflow named 'nothing-here'" in result.stderr
    result = cli(service, "export", "run-a", "--format", "yaml", "-o", str(output))
    assert result.returncode == 1
    assert "known formats: provn, json, xml, ttl, jsonld" in result.stderr
    assert not output.exists()


def test_cli_runs_lists_executions_with_final_metrics(service):
    result = cli(service, "runs")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("|")[0].strip() == "execution"
    run_a = next(line for line in lines if line.startswith("run-a"))
    # Last epoch of run-a: epoch 3, loss 1/4, accuracy 3/4; its test: loss 0.25, accuracy 0.9.
    assert "provsample" in run_a and "FINISHED" in run_a
    assert "epoch=3  loss=0.25  accuracy=0.75  test_loss=0.25  test_accuracy=0.9" in run_a
    runs = json.loads(cli(service, "runs", "--json", "--dataflow", DATAFLOW).stdout)
    assert [run["execution"] for run in runs] == ["run-a", "run-b"]
    assert runs[1]["metrics"]["loss"] == pytest.approx(1 / 3)


def test_nan_and_infinity_are_exported_as_xsd_doubles(service):
    from prov_sample import sample_messages

    messages = sample_messages("non-finite", epochs=3, adaptations=0)
    epochs = next(m for m in messages if m["kind"] == "task" and m["body"]["status"] == "FINISHED"
                  and m["body"]["transformation"] == "TrainingModel")
    epochs["body"]["sets"][0]["elements"][1][3] = "NaN"
    epochs["body"]["sets"][0]["elements"][2][3] = "-Infinity"
    response = requests.post(service.url + "/api/v1/ingest", json={"messages": messages}, timeout=60)
    assert response.status_code == 200, response.text
    text = prov(service, "/api/v1/executions/non-finite/prov", "provn").text
    losses = [line.split("kprov:loss=")[1].split(",")[0] for line in text.splitlines()
              if "entity(kprov:data/provsample/oTrainingModel/" in line]
    assert losses == ['"1.0" %% xsd:double', '"NaN" %% xsd:double', '"-INF" %% xsd:double']
