"""The DNNProv and DLProv flavours of the original library: their Dataflow signatures and predefined
sets, and elements that do not fit recorded as far as they can be instead of stopping the script."""
import json
import warnings

import dfa_lib_python
import pytest
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.mismatch import ElementMismatchWarning
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.task import Task
from dfa_lib_python.transformation import Transformation


@pytest.fixture
def connected(shared_dfa_service, tmp_path, monkeypatch):
    monkeypatch.delenv("DFA_STRICT", raising=False)
    dfa_lib_python.connect(shared_dfa_service.url, spool_dir=str(tmp_path / "spool"))
    yield shared_dfa_service
    dfa_lib_python.close(timeout=30)


def shape(dataflow):
    """[(transformation, [(set, type, dependency, [attribute:type])])] of a dataflow's specification."""
    return [(t["tag"], [(s["tag"], s["type"], s.get("dependency"), [f"{a['name']}:{a['type']}" for a in s["attributes"]])
                        for s in t["sets"]])
            for t in dataflow.get_specification()["transformations"]]


def test_dnnprov_dataflow_predefines_exactly_its_sets():
    training = [("itrainingmodel", "INPUT", None, ["optimizer_name:TEXT", "learning_rate:NUMERIC",
                                                   "num_epochs:NUMERIC", "num_layers:NUMERIC"])]
    epochs = ["timestamp:TEXT", "elapsed_time:TEXT", "loss:NUMERIC", "accuracy:NUMERIC", "val_loss:NUMERIC",
              "val_accuracy:NUMERIC", "epoch:NUMERIC"]
    expected = [
        ("trainingmodel", training + [("otrainingmodel", "OUTPUT", None, epochs)]),
        ("adaptation", [("otrainingmodel", "INPUT", "trainingmodel", epochs),
                        ("iadaptation", "INPUT", None, ["epochs_drop:NUMERIC", "drop_n:NUMERIC", "initial_lrate:NUMERIC"]),
                        ("oadaptation", "OUTPUT", None, ["new_lrate:NUMERIC", "timestamp:TEXT", "epoch_id:NUMERIC",
                                                         "adaptation_id:NUMERIC"])]),
        ("testingmodel", [("otrainingmodel", "INPUT", "trainingmodel", epochs),
                          ("otestingmodel", "OUTPUT", None, ["loss:NUMERIC", "accuracy:NUMERIC"])]),
    ]
    assert shape(Dataflow("dnn_positional", True)) == expected
    assert shape(Dataflow("dnn_keywords", hyperparameters=True, transformations=[])) == expected
    extra = Transformation("Extra", [Set("oExtra", SetType.OUTPUT, [Attribute("x", AttributeType.NUMERIC)])])
    assert [t for t, _ in shape(Dataflow("dnn_more", True, [extra]))] == ["trainingmodel", "adaptation",
                                                                          "testingmodel", "extra"]
    assert shape(Dataflow("plain", [extra])) == [("extra", [("oextra", "OUTPUT", None, ["x:NUMERIC"])])]


def test_dlprov_dataflow_predefines_exactly_its_sets_and_keeps_the_email():
    dataflow = Dataflow("dl_keywords", predefined=True, email="ana@example.org")
    spec = shape(dataflow)
    assert [(t, [(s, kind, dependency) for s, kind, dependency, _ in sets]) for t, sets in spec] == [
        ("loaddata", [("iinputdataset", "INPUT", None), ("oloaddata", "OUTPUT", None)]),
        ("applyfilter", [("ifilter", "INPUT", None), ("ofilter", "OUTPUT", None)]),
        ("splitdata", [("isplitconfig", "INPUT", None), ("otrainset", "OUTPUT", None), ("ovalset", "OUTPUT", None),
                       ("otestset", "OUTPUT", None)]),
        ("train", [("otrainset", "INPUT", "splitdata"), ("ovalset", "INPUT", "splitdata"), ("itrain", "INPUT", None),
                   ("otrain", "OUTPUT", None), ("otrainedmodel", "OUTPUT", None), ("oweights", "OUTPUT", None)]),
        ("test", [("otestset", "INPUT", "splitdata"), ("otrainedmodel", "INPUT", "train"), ("otest", "OUTPUT", None)]),
    ]
    attributes = {s: a for _, sets in spec for s, _, _, a in sets}
    assert attributes["iinputdataset"] == ["dataset_name:TEXT", "dataset_source:TEXT"]
    assert attributes["oloaddata"] == ["dataset_dir:FILE"] and attributes["ofilter"] == ["pp_dataset:FILE"]
    assert attributes["isplitconfig"] == ["train_size:NUMERIC", "val_size:NUMERIC", "test_size:NUMERIC"]
    assert attributes["otrainset"] == ["trainsetx:FILE", "trainsety:FILE"]
    assert attributes["otestset"] == ["testsetx:FILE", "testsety:FILE"]
    assert attributes["itrain"] == ["optimizer_name:TEXT", "learning_rate:NUMERIC", "num_epochs:NUMERIC",
                                    "batch_size:NUMERIC", "num_layers:NUMERIC"]
    assert attributes["otrainedmodel"] == ["model_name:TEXT", "model_dir:FILE"]
    assert attributes["oweights"] == ["weights_path:FILE"] and attributes["otest"] == ["loss:NUMERIC", "accuracy:NUMERIC"]
    assert dataflow.execution.agent("person").properties["email"] == "ana@example.org"
    positional = Dataflow("dl_positional", True, "bo@example.org", [])
    assert shape(positional)[0][0] == "loaddata" and len(shape(positional)) == 5
    assert positional.execution.agent("person").properties["email"] == "bo@example.org"


def test_dnnprov_script_records_training_adaptation_and_test(connected):
    df = Dataflow("dnnprov_run", True)
    df.save()
    train = Task(1, "dnnprov_run", "TrainingModel")
    train.add_dataset(DataSet("iTrainingModel", [Element(["Adam", 0.001, 2, 7])]))
    train.begin()
    for epoch in (1, 2):
        train.add_dataset(DataSet("oTrainingModel", [Element(["2026-01-01 10:00", "3.2", 0.5 / epoch, 0.8, 0.6, 0.7,
                                                               epoch])]))
        train.save()
    train.end()
    adapt = Task(2, "dnnprov_run", "Adaptation", dependency=train)
    adapt.add_dataset(DataSet("iAdaptation", [Element([10, 0.5, 0.001])]))
    adapt.begin()
    adapt.add_dataset(DataSet("oAdaptation", [Element([0.0005, "2026-01-01 10:01", 2, 1])]))
    adapt.end()
    test = Task(3, "dnnprov_run", "TestingModel", dependency=train)
    test.begin()
    test.add_dataset(DataSet("oTestingModel", [Element([0.4, 0.81])]))
    test.end()
    assert dfa_lib_python.flush(60)
    assert connected.query("SELECT optimizer_name, num_layers FROM dnnprov_run.itrainingmodel") == [["Adam", 7.0]]
    assert connected.query("SELECT epoch, loss, elapsed_time FROM dnnprov_run.otrainingmodel ORDER BY epoch") == [
        [1.0, 0.5, "3.2"], [2.0, 0.25, "3.2"]]
    assert connected.query("SELECT new_lrate, epoch_id FROM dnnprov_run.oadaptation") == [[0.0005, 2.0]]
    assert connected.query("SELECT loss, accuracy FROM dnnprov_run.otestingmodel") == [[0.4, 0.81]]


def test_dlprov_script_records_and_the_email_reaches_the_agents(connected):
    df = Dataflow("dlprov_run", predefined=True, email="ana@example.org")
    df.save()
    load = Task(1, "dlprov_run", "LoadData")
    load.add_dataset(DataSet("iInputDataset", [Element(["digits", "sklearn"])]))
    load.begin()
    load.add_dataset(DataSet("oLoadData", [Element(["/data/digits"])]))
    load.end()
    split = Task(2, "dlprov_run", "SplitData", dependency=load)
    split.add_dataset(DataSet("iSplitConfig", [Element([0.7, 0.1, 0.2])]))
    split.begin()
    split.add_dataset(DataSet("oTrainSet", [Element(["/d/xtr.npy", "/d/ytr.npy"])]))
    split.add_dataset(DataSet("oValSet", [Element(["/d/xva.npy", "/d/yva.npy"])]))
    split.add_dataset(DataSet("oTestSet", [Element(["/d/xte.npy", "/d/yte.npy"])]))
    split.end()
    train = Task(3, "dlprov_run", "Train", dependency=split)
    train.add_dataset(DataSet("iTrain", [Element(["SGD", 0.01, 2, 32, 5])]))
    train.begin()
    train.add_dataset(DataSet("oTrain", [Element(["t", "1.0", 0.3, 0.9, 0.4, 0.85, 1])]))
    train.add_dataset(DataSet("oTrainedModel", [Element(["cnn", "/models/cnn.keras"])]))
    train.add_dataset(DataSet("oWeights", [Element(["/models/cnn.weights.h5"])]))
    train.end()
    test = Task(4, "dlprov_run", "Test", dependency=[split, train])
    test.begin()
    test.add_dataset(DataSet("oTest", [Element([0.35, 0.88])]))
    test.end()
    assert dfa_lib_python.flush(60)
    assert connected.query("SELECT trainsetx, trainsety FROM dlprov_run.otrainset") == [["/d/xtr.npy", "/d/ytr.npy"]]
    assert connected.query("SELECT model_name, model_dir FROM dlprov_run.otrainedmodel") == [["cnn", "/models/cnn.keras"]]
    assert connected.query("SELECT loss FROM dlprov_run.otest") == [[0.35]]
    people = connected.query("SELECT a.properties FROM agent a JOIN dataflow_execution e ON a.exec_id = e.id "
                             f"WHERE e.tag = '{df.exec_tag}' AND a.kind = 'person'")
    assert [json.loads(row[0]).get("email") for row in people] == ["ana@example.org"]


def test_elements_that_do_not_fit_warn_once_and_are_padded_or_set_aside(connected):
    df = Dataflow("lenient", True)
    df.save()
    task = Task(1, "lenient", "TrainingModel")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task.add_dataset(DataSet("iTrainingModel", [Element(["SGD", 0.1])]))  # two values short
        task.begin()
        for epoch in (1, 2):
            task.add_dataset(DataSet("oTrainingModel", [Element(["t", "1", 0.5, 0.9, 0.4, 0.8, epoch, "extra"])]))
            task.add_dataset(DataSet("oTrainingModel", [Element(["t", "1", 0.5])]))
            task.add_dataset(DataSet("oUndeclared", [Element([epoch])]))
            task.save()
        task.end()
    messages = [str(w.message) for w in caught if issubclass(w.category, ElementMismatchWarning)]
    assert len(messages) == 4  # short iTrainingModel, long and short oTrainingModel, undeclared oUndeclared
    assert any("iTrainingModel" in m and "has 2 value(s)" in m and "4 attribute(s)" in m and "NULL" in m
               for m in messages)
    assert any("oTrainingModel" in m and "has 8 value(s)" in m and "rejected.jsonl" in m for m in messages)
    assert any("oUndeclared" in m and "declares no such set" in m for m in messages)
    assert dfa_lib_python.flush(60)
    assert connected.query("SELECT optimizer_name, learning_rate, num_epochs, num_layers "
                           "FROM lenient.itrainingmodel") == [["SGD", 0.1, None, None]]
    assert connected.query("SELECT loss, accuracy, epoch FROM lenient.otrainingmodel") == [[0.5, None, None]] * 2
    rejected = dfa_lib_python.get_client().rejected.read()
    set_aside = sorted((r["message"]["set"], r["message"]["elements"]) for r in rejected
                       if r["message"].get("dataflow") == "lenient")
    assert set_aside == [("otrainingmodel", [["t", "1", 0.5, 0.9, 0.4, 0.8, 1, "extra"]]),
                         ("otrainingmodel", [["t", "1", 0.5, 0.9, 0.4, 0.8, 2, "extra"]]),
                         ("oundeclared", [[1]]), ("oundeclared", [[2]])]


def test_tasks_reach_the_service_after_their_dataflow_without_save(connected):
    df = Dataflow("unsaved")
    step = Transformation("Step")
    step.set_sets([Set("oStep", SetType.OUTPUT, [Attribute("value", AttributeType.NUMERIC)])])
    df.add_transformation(step)  # no df.save()
    task = Task(1, "unsaved", "Step")
    task.begin()
    task.add_dataset(DataSet("oStep", [Element([4.5])]))
    task.end()
    later = Transformation("Later", [Set("oLater", SetType.OUTPUT, [Attribute("n", AttributeType.NUMERIC)])])
    df.add_transformation(later)  # added after the first save, still no save()
    task = Task(2, "unsaved", "Later")
    task.add_dataset(DataSet("oLater", [Element([1])]))
    task.end()
    assert dfa_lib_python.flush(60)
    assert connected.query("SELECT value FROM unsaved.ostep") == [[4.5]]
    assert connected.query("SELECT n FROM unsaved.olater") == [[1.0]]
    assert dfa_lib_python.get_client().status["rejected_messages"] == 0
