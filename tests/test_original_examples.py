"""Scripts written as the original DNNProv, DLProv and Keras-Prov examples were (TensorFlow's Keras,
dfa_lib_python's flavours, Keras 2 names; generated data of the original shapes) run unchanged in a
fresh interpreter and record what they describe. They live in examples/original_style/."""
import os

import pytest

from fresh_interpreter import ScriptBatch

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "original_style")
SCRIPTS = ("dnnprov_flowers", "dlprov_mnist", "kerasprov_alexnet_tf")


@pytest.fixture(scope="module")
def runs(shared_dfa_service, tmp_path_factory):
    batch = ScriptBatch(workers=3)
    for name in SCRIPTS:
        batch.start_file(name, os.path.join(EXAMPLES, name + ".py"), env={
            "DFA_URL": shared_dfa_service.url, "DFA_SPOOL_DIR": str(tmp_path_factory.mktemp(f"spool-{name}")),
            "DLPROV_WORK_DIR": str(tmp_path_factory.mktemp("dlprov-work"))})
    yield batch
    batch.close()


def finished(service, dataflow):
    return service.query("SELECT t.status, COUNT(*) FROM task t JOIN dataflow d ON t.df_id = d.id "
                         f"WHERE d.tag = '{dataflow}' GROUP BY t.status")


def test_dnnprov_script_with_keras2_scheduler(runs, shared_dfa_service):
    stdout, stderr = runs.result("dnnprov_flowers")
    service = shared_dfa_service
    assert "Traceback" not in stderr and "recorded as dnnprov_flowers" in stdout
    assert service.query("SELECT optimizer_name, learning_rate, num_epochs, num_layers "
                         "FROM dnnprov_flowers.itrainingmodel") == [["adam", pytest.approx(0.002), 2.0, 13.0]]
    epochs = service.query("SELECT epoch, loss, val_accuracy FROM dnnprov_flowers.otrainingmodel ORDER BY epoch")
    assert [row[0] for row in epochs] == [0.0, 1.0] and all(row[1] is not None and row[2] is not None
                                                             for row in epochs)
    # K.get_value / K.set_value on optimizer.lr worked: the rate was halved at the second epoch
    assert service.query("SELECT new_lrate, epoch_id FROM dnnprov_flowers.oadaptation") == [
        [pytest.approx(0.001), 1.0]]
    assert len(service.query("SELECT loss, accuracy FROM dnnprov_flowers.otestingmodel")) == 1
    assert finished(service, "dnnprov_flowers") == [["FINISHED", 3]]


def test_dlprov_pipeline(runs, shared_dfa_service):
    stdout, stderr = runs.result("dlprov_mnist")
    service = shared_dfa_service
    assert "Traceback" not in stderr and "recorded as dlprov_mnist" in stdout
    assert service.query("SELECT optimizer_name, num_epochs, batch_size, num_layers FROM dlprov_mnist.itrain") == [
        ["adam", 2.0, 32.0, 4.0]]  # Keras 3: Input is not a layer
    assert [row[0] for row in service.query("SELECT epoch FROM dlprov_mnist.otrain ORDER BY epoch")] == [0.0, 1.0]
    (name, path), = service.query("SELECT model_name, model_dir FROM dlprov_mnist.otrainedmodel")
    assert name == "mnist_dense" and path.endswith("mnist-trained.keras") and os.path.isfile(path)
    assert len(service.query("SELECT loss FROM dlprov_mnist.otest")) == 1
    assert finished(service, "dlprov_mnist") == [["FINISHED", 4]]


def test_kerasprov_script_on_tensorflow_keras(runs, shared_dfa_service):
    stdout, stderr = runs.result("kerasprov_alexnet_tf")
    service = shared_dfa_service
    assert "Traceback" not in stderr and "recorded as kerasprov_alexnet_tf" in stdout
    tag = "kerasprov_alexnet_tf"
    assert service.query(f"SELECT optimizer_name, learning_rate, epochs, batch_size, num_layers FROM {tag}.itrainingmodel") \
        == [["Adam", pytest.approx(0.001), 2.0, 16.0, 13.0]]
    assert service.query(f"SELECT epoch, learning_rate FROM {tag}.otrainingmodel ORDER BY epoch") == [
        [1.0, pytest.approx(0.001)], [2.0, pytest.approx(0.0005)]]
    assert service.query(f"SELECT epoch, cause FROM {tag}.oadaptation") == [[2.0, "LearningRateScheduler"]]
    assert len(service.query(f"SELECT loss FROM {tag}.otestingmodel")) == 1
    assert service.query(f"SELECT format FROM {tag}.otrainedmodel") == [["keras"]]


def test_nothing_else_is_recorded(runs, shared_dfa_service):
    for name in SCRIPTS:
        runs.result(name)
    # the DNNProv and DLProv scripts did not ask keras_prov for anything: it recorded nothing of its own
    assert sorted(row[0] for row in shared_dfa_service.query("SELECT tag FROM dataflow")) == sorted(SCRIPTS)
