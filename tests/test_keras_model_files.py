"""The trained model at a sane cost: one model.keras without optimizer state by default, the weights
file and the optimizer state on request; models left waiting are uploaded by
`python -m dfa_lib_python flush` and `keras_prov.flush()`; subclassed models record their real sizes."""
import io
import os
import subprocess
import sys
import zipfile

import dfa_lib_python
import h5py
import keras
import pytest

from keras_prov_helpers import digits, stored, unique_tag
from service_process import ServiceProcess, free_port


@pytest.fixture(scope="module")
def service(shared_dfa_service, tmp_path_factory):
    dfa_lib_python.connect(shared_dfa_service.url, spool_dir=str(tmp_path_factory.mktemp("spool")))
    yield shared_dfa_service
    dfa_lib_python.close(timeout=10)


def adam_model():
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    return model


def stored_files(service, tag):
    """{file name: (size, groups of its weights HDF5)} of the model files stored for `tag`."""
    rows = stored(service, "SELECT m.path, o.file_name FROM model_file m JOIN task t ON m.task_id = t.id "
                           f"JOIN dataflow d ON t.df_id = d.id JOIN {tag}.otrainedmodel o ON o.path = m.path "
                           f"WHERE d.tag = '{tag}'")
    files = {}
    for path, name in rows:
        with open(os.path.join(service.data_dir, "models", path), "rb") as handle:
            content = handle.read()
        weights = zipfile.ZipFile(io.BytesIO(content)).read("model.weights.h5") if name.endswith(".keras") else content
        files[name] = (len(content), sorted(h5py.File(io.BytesIO(weights), "r").keys()))
    return files


def test_one_model_file_without_optimizer_state_by_default(service):
    x, y = digits(32)
    tag = unique_tag("onefile")
    adam_model().fit(x, y, epochs=1, verbose=0, provenance=tag)
    files = stored_files(service, tag)
    assert list(files) == ["model.keras"]
    assert "optimizer" not in files["model.keras"][1]


def test_weights_file_and_optimizer_state_are_options(service):
    x, y = digits(32)
    tag = unique_tag("allfiles")
    model = adam_model()
    model.provenance(dataflow_tag=tag, store_weights=True, store_optimizer=True)
    model.fit(x, y, epochs=1, verbose=0)
    files = stored_files(service, tag)
    assert sorted(files) == ["model.keras", "model.weights.h5"]
    assert "optimizer" in files["model.keras"][1] and "optimizer" in files["model.weights.h5"][1]
    # The model keeps training with its own optimizer after the save without it.
    assert model.optimizer is not None and int(model.optimizer.iterations) > 0


def test_subclassed_model_records_its_real_parameter_counts_and_shapes(service):
    class TwoDense(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(8, activation="relu")
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    x, y = digits(32)
    tag = unique_tag("subclassed")
    model = TwoDense()
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0, hyperparameters=True, provenance=tag)
    assert stored(service, f"SELECT trainable_params, non_trainable_params FROM {tag}.itrainingmodel") == [
        [64 * 8 + 8 + 8 * 10 + 10, 0]]
    layers = stored(service, f"SELECT parameters, output_shape FROM {tag}.ilayers ORDER BY layer_index")
    assert layers == [[64 * 8 + 8, "(None, 8)"], [8 * 10 + 10, "(None, 10)"]]
    assert len(stored(service, f"SELECT epoch FROM {tag}.otrainingmodel")) == 2


OFFLINE_PROGRAM = """
import sys, numpy as np, keras
x = np.random.rand(32, 4).astype("float32"); y = np.random.rand(32, 1).astype("float32")
m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
m.compile("sgd", "mse")
m.fit(x, y, epochs=1, verbose=0, provenance=sys.argv[1])
"""


def test_models_left_waiting_are_uploaded_by_the_flush_command_and_by_keras_prov_flush(tmp_path):
    port = free_port()
    spool = tmp_path / "spool"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "DFA_URL": f"http://127.0.0.1:{port}",
           "DFA_SPOOL_DIR": str(spool), "KERAS_PROV_EXIT_TIMEOUT": "1"}

    def run(*command):
        return subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=300, env=env)

    def waiting():
        return os.listdir(spool / "keras_prov-models")

    assert run("-c", OFFLINE_PROGRAM, "waiting_cli").returncode == 0  # nothing listens on the port
    assert len(waiting()) == 1
    service = ServiceProcess(tmp_path / "dfa-data", port=port).start()
    try:
        flushed = run("-m", "dfa_lib_python", "flush")
        assert flushed.returncode == 0, flushed.stdout + flushed.stderr[-3000:]
        assert "everything in the spool is stored" in flushed.stdout
        assert waiting() == []
        assert service.query("SELECT m.format FROM model_file m JOIN task t ON m.task_id = t.id "
                             "JOIN dataflow d ON t.df_id = d.id WHERE d.tag = 'waiting_cli'") == [["keras"]]

        service.stop()
        assert run("-c", OFFLINE_PROGRAM, "waiting_api").returncode == 0
        assert len(waiting()) == 1
        service.start()
        fresh = run("-c", "import keras_prov; assert keras_prov.flush(120)")
        assert fresh.returncode == 0, fresh.stderr[-3000:]
        assert waiting() == []
        assert service.query("SELECT m.format FROM model_file m JOIN task t ON m.task_id = t.id "
                             "JOIN dataflow d ON t.df_id = d.id WHERE d.tag = 'waiting_api'") == [["keras"]]
    finally:
        service.stop()
