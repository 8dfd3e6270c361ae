"""PROV documents built from provenance read out of the store (here: an in-memory snapshot)."""
import math

import pytest
from prov.model import ProvDocument

from dfanalyzer.export import DocumentBuilder, UnknownFormat, get, known
from prov_sample import SHA256, sample_snapshot


def records_of(document, kind):
    return [record for record in document.get_records() if record.get_type().localpart == kind]


def pairs(document, relation):
    """(subject, object) identifiers of one kind of relation, as text."""
    return {(str(record.formal_attributes[0][1]), str(record.formal_attributes[1][1]))
            for record in records_of(document, relation)}


@pytest.fixture(scope="module")
def document():
    return DocumentBuilder().build(sample_snapshot(epochs=4, adaptations=2))


@pytest.mark.parametrize("format_name", known())
def test_every_format_reads_back_into_an_equal_document(document, format_name):
    document_format = get(format_name)
    text = document_format.serialize(document)
    assert document_format.deserialize(text) == document


@pytest.mark.parametrize("format_name", known())
def test_building_twice_gives_identical_text(format_name):
    document_format = get(format_name)
    first = document_format.serialize(DocumentBuilder().build(sample_snapshot()))
    second = document_format.serialize(DocumentBuilder().build(sample_snapshot()))
    assert first == second


def test_known_formats_and_aliases():
    assert known() == ["provn", "json", "xml", "ttl", "jsonld"]
    assert get("PROV-N").name == "provn"
    assert get("turtle").name == "ttl"
    with pytest.raises(UnknownFormat) as error:
        get("docx")
    assert "'docx'" in str(error.value)
    assert "provn, json, xml, ttl, jsonld" in str(error.value)


def test_plan_execution_and_agents(document):
    plan = "kprov:dataflow/provsample"
    execution = "kprov:execution/provsample/run%201%2F%C3%BC"  # 'run 1/ü', percent-encoded
    entity_types = {str(record.identifier): {str(t) for t in record.get_asserted_types()}
                    for record in records_of(document, "Entity")}
    assert entity_types[plan] == {"prov:Plan"}
    associations = [tuple(str(value) for _, value in record.formal_attributes)
                    for record in records_of(document, "Association")]
    agents = {str(record.identifier): {str(t) for t in record.get_asserted_types()}
              for record in records_of(document, "Agent")}
    assert len(agents) == 4
    assert {types.pop() for types in agents.values()} == {"prov:Person", "prov:SoftwareAgent", "kprov:Machine"}
    assert sorted(associations) == sorted((execution, agent, plan) for agent in agents)
    person = f"{execution.replace('execution', 'agent')}/person/alice"
    assert pairs(document, "Delegation") == {(f"{execution.replace('execution', 'agent')}/software/{name}", person)
                                             for name in ("keras_prov", "keras")}


def test_tasks_are_activities_with_times_informed_by_execution_and_dependencies(document):
    activities = {str(record.identifier): record for record in records_of(document, "Activity")}
    training = "kprov:task/provsample/run%201%2F%C3%BC/TrainingModel/1"
    testing = "kprov:task/provsample/run%201%2F%C3%BC/TestingModel/t1"
    assert activities[training].get_startTime().isoformat() == "2026-01-02T03:04:05+00:00"
    assert activities[training].get_endTime().isoformat() == "2026-01-02T03:04:10+00:00"
    informed = pairs(document, "Communication")
    execution = "kprov:execution/provsample/run%201%2F%C3%BC"
    assert (training, execution) in informed and (testing, execution) in informed
    assert (testing, training) in informed
    assert len(activities) == 1 + 1 + 2 + 1


def test_rows_are_typed_entities_used_and_generated_by_role(document):
    entities = {str(record.identifier): record for record in records_of(document, "Entity")}
    epoch = entities["kprov:data/provsample/oTrainingModel/2"]
    values = {name.localpart: value for name, value in epoch.attributes if name.namespace.prefix == "kprov"}
    assert values == {"epoch": 1.0, "loss": 0.5, "accuracy": 0.5}
    assert all(isinstance(value, float) for value in values.values())
    training = "kprov:task/provsample/run%201%2F%C3%BC/TrainingModel/1"
    testing = "kprov:task/provsample/run%201%2F%C3%BC/TestingModel/t1"
    generated = pairs(document, "Generation")
    assert {(f"kprov:data/provsample/oTrainingModel/{n}", training) for n in range(1, 5)} <= generated
    used = pairs(document, "Usage")
    assert (training, "kprov:data/provsample/iTrainingModel/1") in used
    assert (testing, "kprov:data/provsample/oTrainedModel/1") in used
    assert (training, "kprov:data/provsample/oTrainingModel/1") not in used


def test_model_file_and_adaptation_derivations(document):
    entities = {str(record.identifier): record for record in records_of(document, "Entity")}
    model = entities["kprov:model/provsample/run%201%2F%C3%BC/1"]
    attributes = {name.localpart: value for name, value in model.attributes}
    assert attributes["sha256"] == SHA256 and attributes["size_bytes"] == 4096
    assert attributes["location"] == "provsample/run/1/model.keras"
    derived = pairs(document, "Derivation")
    hyperparameters = "kprov:data/provsample/iTrainingModel/1"
    assert ("kprov:model/provsample/run%201%2F%C3%BC/1", hyperparameters) in derived
    assert ("kprov:data/provsample/oTrainedModel/1", hyperparameters) in derived
    # The first new rate derives from the hyperparameters, the second from the first.
    assert ("kprov:data/provsample/oAdaptation/1", hyperparameters) in derived
    assert ("kprov:data/provsample/oAdaptation/2", "kprov:data/provsample/oAdaptation/1") in derived
    assert ("kprov:data/provsample/oAdaptation/2", hyperparameters) not in derived
    # The oTrainedModel row and the stored file are the same file (same sha256).
    assert pairs(document, "Alternate") == {("kprov:data/provsample/oTrainedModel/1",
                                             "kprov:model/provsample/run%201%2F%C3%BC/1")}


def test_nan_is_kept_as_an_xsd_double():
    document = DocumentBuilder().build(sample_snapshot(nan_epoch=2))
    text = get("provn").serialize(document)
    assert 'kprov:accuracy="NaN" %% xsd:double' in text
    read_back = ProvDocument.deserialize(content=get("json").serialize(document), format="json")
    row = next(r for r in read_back.get_records() if str(r.identifier) == "kprov:data/provsample/oTrainingModel/3")
    accuracy = next(value for name, value in row.attributes if name.localpart == "accuracy")
    assert math.isnan(accuracy)


def test_a_generic_dataflow_gets_no_keras_derivations():
    snapshot = sample_snapshot()
    for data_set in snapshot.sets:
        data_set.tag = "set_" + data_set.tag  # no set keeps a keras_prov name
    document = DocumentBuilder().build(snapshot)
    assert records_of(document, "Derivation") == []
    # used: hyperparameters, 2 old rates, the trained model by the test; generated: 4 epochs,
    # the oTrainedModel row, 2 new rates, the test result and the model file.
    assert len(records_of(document, "Usage")) == 4
    assert len(records_of(document, "Generation")) == 4 + 1 + 2 + 1 + 1
