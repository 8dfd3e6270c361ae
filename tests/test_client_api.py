"""dfa_lib_python used as the original library was: scripts store the rows the original stack stored."""
import json
import os
import subprocess
import sys

import pytest

import dfa_lib_python
from client_scripts import original_script
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.dependency import Dependency
from dfa_lib_python.element import Element
from dfa_lib_python.errors import ElementLengthError, SpecificationError
from dfa_lib_python.extractor import Extractor
from dfa_lib_python.extractor_cartridge import ExtractorCartridge
from dfa_lib_python.extractor_extension import ExtractorExtension
from dfa_lib_python.file import File
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.task import Task
from dfa_lib_python.task_status import TaskStatus
from dfa_lib_python.transformation import Transformation


@pytest.fixture
def connected(shared_dfa_service, tmp_path):
    """This process connected to the module's service with a private spool."""
    client = dfa_lib_python.connect(shared_dfa_service.url, spool_dir=str(tmp_path / "spool"))
    yield shared_dfa_service
    dfa_lib_python.close(timeout=30)
    assert client.closed


def test_original_style_script_stores_the_rows_of_the_original_stack(connected):
    df = original_script("ratios")
    assert dfa_lib_python.flush(60)

    tasks = connected.query(
        "SELECT t.id, t.identifier, d.tag, t.status FROM task t JOIN data_transformation d ON t.dt_id = d.id "
        "JOIN dataflow_execution e ON t.exec_id = e.id "
        f"WHERE e.tag = '{df.exec_tag}' ORDER BY t.identifier")
    assert [row[1:] for row in tasks] == [["1", "extractratio", "FINISHED"], ["2", "computeratio", "FINISHED"]]
    t1_id, t2_id = tasks[0][0], tasks[1][0]
    assert connected.query("SELECT name, file, extractratio_task_id FROM ratios.iextractratio ORDER BY name") == [
        ["a", "/data/a.csv", t1_id], ["b", "/data/b.csv", t1_id]]
    # The dependent task's input lands on the rows task 1 produced: no second copy of them.
    assert connected.query(
        "SELECT name, ratio, extractratio_task_id, computeratio_task_id FROM ratios.oextractratio ORDER BY name") == [
        ["a", 0.25, t1_id, t2_id], ["b", 0.5, t1_id, t2_id]]
    assert connected.query("SELECT name, result, computeratio_task_id FROM ratios.ocomputeratio ORDER BY name") == [
        ["a", 2.5, t2_id], ["b", 5.0, t2_id]]
    assert connected.query(f"SELECT task_id, depends_on_task_id FROM task_dependency WHERE task_id = {t2_id}") == [
        [t2_id, t1_id]]
    # The set re-typed for ComputeRatio stays ExtractRatio's output in the specification.
    links = connected.query(
        "SELECT p.tag, n.tag FROM data_dependency dd JOIN data_set s ON dd.ds_id = s.id "
        "LEFT JOIN data_transformation p ON dd.previous_dt_id = p.id "
        "LEFT JOIN data_transformation n ON dd.next_dt_id = n.id WHERE s.table_name = 'oextractratio' ORDER BY 1, 2")
    assert sorted(map(tuple, links), key=str) == sorted(
        [("extractratio", None), ("extractratio", "computeratio")], key=str)


def test_unchanged_original_script_with_dfa_url_delivers_everything_by_exit(shared_dfa_service, tmp_path):
    # No connect(), no flush(): only the original API and DFA_URL (with the trailing slash the
    # original default has). The exit-time flush delivers everything before the process ends.
    script = "from client_scripts import original_script\noriginal_script('unchanged', ('x', 'y', 'z'))\n"
    env = dict(os.environ, DFA_URL=shared_dfa_service.url + "/", DFA_SPOOL_DIR=str(tmp_path / "spool"),
               PYTHONPATH=os.path.dirname(__file__))
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert shared_dfa_service.query("SELECT name, ratio, computeratio_task_id IS NOT NULL FROM unchanged.oextractratio "
                                     "ORDER BY name") == [["x", 0.25, True], ["y", 0.5, True], ["z", 0.75, True]]
    assert shared_dfa_service.query("SELECT COUNT(*) FROM unchanged.ocomputeratio") == [[3]]
    assert os.listdir(tmp_path / "spool" / "sessions") == []


def test_keras_prov_style_and_upstream_style_store_each_row_once(connected):
    df = Dataflow("epochs", hyperparameters=True)
    df.execution.add_software("keras", version="3.15.1")
    df.save()
    # Keras-Prov: explicit exec tag, add_dataset then save every epoch.
    keras_style = Task(1, "epochs", "run-keras", "TrainingModel")
    keras_style.add_dataset(DataSet("iTrainingModel", [Element(["adam", 0.001, 3, 4])]))
    keras_style.begin()
    for epoch in range(3):
        keras_style.add_dataset(DataSet("oTrainingModel",
                                        [Element(["t", "0.1", 1.0 / (epoch + 1), 0.5, None, None, epoch])]))
        keras_style.save()
    keras_style.end()
    # Upstream: several add_dataset, one send at the end.
    upstream = Task(1, "epochs", "TrainingModel")
    upstream.begin()
    for epoch in range(3):
        upstream.add_dataset(DataSet("oTrainingModel", [Element(["t", "0.1", 2.0, 0.5, None, None, epoch])]))
    upstream.end()
    assert dfa_lib_python.flush(60)

    rows = connected.query(
        "SELECT e.tag, o.epoch, o.loss, o.val_loss FROM epochs.otrainingmodel o "
        "JOIN task t ON o.trainingmodel_task_id = t.id JOIN dataflow_execution e ON t.exec_id = e.id "
        "ORDER BY e.tag, o.epoch")
    assert rows == sorted([["run-keras", 0.0, 1.0, None], ["run-keras", 1.0, 0.5, None],
                           ["run-keras", 2.0, 1.0 / 3, None]] +
                          [[df.exec_tag, float(epoch), 2.0, None] for epoch in range(3)])
    assert connected.query("SELECT optimizer_name, learning_rate FROM epochs.itrainingmodel") == [["adam", 0.001]]
    # Both executions carry the agents, including the software agent added by the caller.
    agents = connected.query(
        "SELECT e.tag, a.kind, a.name, a.properties FROM agent a JOIN dataflow_execution e ON a.exec_id = e.id "
        "ORDER BY e.tag, a.kind, a.name")
    for exec_tag in ("run-keras", df.exec_tag):
        mine = {(kind, name): json.loads(props) for tag, kind, name, props in agents if tag == exec_tag}
        assert mine[("software", "keras")] == {"version": "3.15.1"}
        assert mine[("software", "dfa_lib_python")]["version"] == dfa_lib_python.__version__
        assert "python" in {name for kind, name in mine if kind == "software"}
        assert [kind for kind, _ in mine].count("person") == 1
        machine = next(props for (kind, _), props in mine.items() if kind == "machine")
        assert machine["os"] and machine["cpu_count"] >= 1


def test_values_keep_their_types_and_files_performances_and_sub_ids_are_stored(connected):
    np = pytest.importorskip("numpy")
    df = Dataflow("typed")
    step = Transformation("Step")
    step.set_sets([Set("oStep", SetType.OUTPUT, [Attribute("n", AttributeType.NUMERIC),
                                                  Attribute("label", AttributeType.TEXT),
                                                  Attribute("note", AttributeType.LONG_TEXT)])])
    df.add_transformation(step)
    df.save()
    task = Task("s-1", "typed", "Step", sub_id="fold-2", workspace="/work", resource="cpu")
    task.begin()
    task.add_dataset(DataSet("oStep", [Element([np.float32(1.5), "x", None]), Element(np.array([2, 3, 4])),
                                       Element([float("inf"), "1.0", "multi\nline"])]))
    task.add_file(File("model.keras", "/tmp/run"))
    task.end()
    assert dfa_lib_python.flush(60)
    assert connected.query("SELECT n, label, note FROM typed.ostep ORDER BY id") == [
        [1.5, "x", None], [2.0, "3", "4"], ["Infinity", "1.0", "multi\nline"]]
    [[sub_id, workspace, resource, status]] = connected.query(
        "SELECT sub_id, workspace, resource, status FROM task WHERE identifier = 's-1'")
    assert (sub_id, workspace, resource, status) == ("fold-2", "/work", "cpu", "FINISHED")
    assert connected.query("SELECT f.name, f.path FROM file f JOIN task t ON f.task_id = t.id "
                           "WHERE t.identifier = 's-1'") == [["model.keras", "/tmp/run"]]
    [[duration]] = connected.query("SELECT p.duration_seconds FROM performance p JOIN task t ON p.task_id = t.id "
                                   "WHERE t.identifier = 's-1'")
    assert duration >= 0


def test_wrong_length_element_raises_at_the_call_with_dfa_strict(connected, monkeypatch):
    monkeypatch.setenv("DFA_STRICT", "1")
    df = Dataflow("lengths", hyperparameters=True)
    df.save()
    task = Task(1, "lengths", "TrainingModel")
    with pytest.raises(ElementLengthError) as error:
        task.add_dataset(DataSet("iTrainingModel", [Element(["sgd", 0.1, 2, 3]), Element(["sgd", 0.1])]))
    message = str(error.value)
    assert "element 1" in message and "iTrainingModel" in message and "has 2 value(s)" in message
    assert "4 attribute(s) ['optimizer_name', 'learning_rate', 'num_epochs', 'num_layers']" in message
    with pytest.raises(SpecificationError, match="declares no such set"):
        task.add_dataset(DataSet("oNowhere", [Element([1])]))
    task.end()  # the refused data set was not kept
    assert dfa_lib_python.flush(60)
    assert connected.query("SELECT COUNT(*) FROM lengths.itrainingmodel") == [[0]]
    assert dfa_lib_python.get_client().status["rejected_messages"] == 0


def test_specification_mistakes_are_refused_at_the_call():
    with pytest.raises(SpecificationError, match="use letters, digits"):
        Dataflow("my dataflow")
    with pytest.raises(SpecificationError, match="MonetDB itself uses"):
        Dataflow("SYS")
    with pytest.raises(SpecificationError, match="clashes with a column"):
        Attribute("id", AttributeType.NUMERIC)
    with pytest.raises(SpecificationError, match="AttributeType.NUMERIC"):
        Attribute("loss", "FLOAT")
    df = Dataflow("dangling")
    consumer = Transformation("Consumer")
    consumer.add_set(Set("oProducer", SetType.INPUT, [Attribute("x", AttributeType.NUMERIC)], dependency="Producer"))
    df.add_transformation(consumer)
    with pytest.raises(SpecificationError, match="'producer', which is not a transformation"):
        df.save()
    with pytest.raises(SpecificationError, match="Task needs a transformation tag"):
        Task(1, "dangling")


def test_specification_objects_keep_the_original_shapes():
    dependency = Dependency(["ExtractRatio"], [1, "2"]).get_specification()
    assert dependency == {"tags": [{"tag": "extractratio"}], "ids": [{"id": "1"}, {"id": "2"}]}
    extractor = Extractor("ext", "oSet", ExtractorCartridge.EXTRACTION, ExtractorExtension.CSV,
                          [Attribute("a", AttributeType.NUMERIC)])
    data_set = Set("oSet", SetType.OUTPUT, [Attribute("a", AttributeType.NUMERIC)], [extractor])
    assert data_set.get_specification()["extractors"][0]["extension"] == "CSV"
    df = Dataflow("Shapes", hyperparameters=True)
    assert df.tag == "shapes"
    assert [t.tag for t in df.transformations] == ["trainingmodel", "adaptation", "testingmodel"]
    spec = df.get_specification()["transformations"]
    assert [(s["tag"], s["type"], s.get("dependency")) for s in spec[2]["sets"]] == [
        ("otrainingmodel", "INPUT", "trainingmodel"), ("otestingmodel", "OUTPUT", None)]
    # The predefined sets can be extended before save(); the shared set changes in both roles.
    df.get_transformation("TrainingModel").get_set("oTrainingModel").add_attribute(
        Attribute("top5_accuracy", AttributeType.NUMERIC))
    spec = df.get_specification()["transformations"]
    assert spec[0]["sets"][1]["attributes"][-1]["name"] == "top5_accuracy"
    assert spec[2]["sets"][0]["attributes"][-1]["name"] == "top5_accuracy"
    df.check()
    task = Task(7, "shapes", "exec-7", "TrainingModel", dependency=Dependency(["Adaptation"], [3]))
    task.set_status(TaskStatus.FAILED)
    spec = task.get_specification()
    assert (spec["id"], spec["exec"], spec["transformation"], spec["status"]) == ("7", "exec-7", "trainingmodel",
                                                                                  "FAILED")
    assert spec["dependency"] == {"tags": [{"tag": "adaptation"}], "ids": [{"id": "3"}]}


FORK_AND_THREADS = """
import multiprocessing, sys, threading
import dfa_lib_python
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.task import Task

def training(task_id):
    task = Task(task_id, "forked", "run-forked", "TrainingModel")
    task.begin()
    for epoch in range(3):
        task.add_dataset(DataSet("oTrainingModel", [Element(["t", "0.1", 0.1, 0.9, None, None, task_id * 10 + epoch])]))
        task.save()
    task.end()

def forked(task_id):
    training(task_id)
    sys.exit(0 if dfa_lib_python.flush(60) else 1)

if __name__ == "__main__":
    dfa_lib_python.connect(sys.argv[1], spool_dir=sys.argv[2])
    Dataflow("forked", hyperparameters=True, exec_tag="run-forked").save()
    assert dfa_lib_python.flush(60)
    # Forked children send through their own client, to the parent's service and spool.
    children = [multiprocessing.get_context("fork").Process(target=forked, args=(n,)) for n in (1, 2)]
    for child in children:
        child.start()
    # Threads of one process share its client.
    threads = [threading.Thread(target=training, args=(n,)) for n in (3, 4, 5)]
    for thread in threads:
        thread.start()
    for worker in children + threads:
        worker.join(60)
    print([child.exitcode for child in children])
    sys.exit(0 if dfa_lib_python.flush(60) else 1)
"""


def test_threads_and_forked_processes_each_deliver_their_records(shared_dfa_service, tmp_path):
    # In a fresh interpreter, as a user's script forks: a pytest worker that ran Keras tests
    # before holds TensorFlow, which a forked child cannot garbage-collect safely.
    script = tmp_path / "fork_and_threads.py"
    script.write_text(FORK_AND_THREADS)
    result = subprocess.run([sys.executable, str(script), shared_dfa_service.url, str(tmp_path / "spool")],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["[0,", "0]"], result.stderr[-3000:]
    rows = shared_dfa_service.query("SELECT epoch FROM forked.otrainingmodel ORDER BY epoch")
    assert rows == [[float(n * 10 + epoch)] for n in (1, 2, 3, 4, 5) for epoch in range(3)]
