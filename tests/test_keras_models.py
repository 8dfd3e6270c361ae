"""keras_prov as a user meets it: the import, the model kinds, the stored trained model, their own
transformations, and plain Keras through autolog."""
import hashlib
import os
import subprocess
import sys

import dfa_lib_python
import numpy as np
import pytest
import requests
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.task import Task
from dfa_lib_python.transformation import Transformation

from keras_prov_helpers import digits, stored, tiny_model, unique_tag

import keras_prov

keras = keras_prov


@pytest.fixture(scope="module")
def service(shared_dfa_service, tmp_path_factory):
    dfa_lib_python.connect(shared_dfa_service.url, spool_dir=str(tmp_path_factory.mktemp("spool")))
    yield shared_dfa_service
    dfa_lib_python.close(timeout=10)


def test_the_whole_keras_api_is_there_under_keras_prov():
    import keras as plain_keras
    import keras_prov.layers
    from keras_prov import layers
    from keras_prov.optimizers import SGD

    assert layers.Dense is plain_keras.layers.Dense and keras_prov.layers.Conv2D is plain_keras.layers.Conv2D
    assert SGD is plain_keras.optimizers.SGD and keras.callbacks.EarlyStopping is plain_keras.callbacks.EarlyStopping
    assert keras.Input is plain_keras.Input and keras.ops.sum is plain_keras.ops.sum
    assert keras.models.Sequential is keras.Sequential and issubclass(keras.Sequential, plain_keras.Sequential)
    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert isinstance(functional, keras.Model) and isinstance(functional, plain_keras.Model)


def test_trained_model_is_stored_with_its_sha256_and_downloads_as_a_plain_keras_model(service, tmp_path):
    x, y = digits(64)
    tag = unique_tag("stored")
    model = tiny_model()
    model.provenance(dataflow_tag=tag, store_weights=True)
    model.fit(x, y, epochs=2, verbose=0)

    recorded = stored(service, f"SELECT file_name, path, format, size_bytes, sha256 FROM {tag}.otrainedmodel "
                               "ORDER BY file_name")
    assert [row[2] for row in recorded] == ["keras", "weights.h5"]
    catalog = stored(service, "SELECT m.id, m.path, m.sha256, m.size_bytes FROM model_file m "
                              "JOIN task t ON m.task_id = t.id JOIN dataflow d ON t.df_id = d.id "
                              f"WHERE d.tag = '{tag}' ORDER BY m.path")
    assert [[row[1], row[2], float(row[3])] for row in catalog] == [[r[1], r[4], r[3]] for r in recorded]

    keras_file = catalog[0]
    download = requests.get(f"{service.url}/api/v1/models/{keras_file[0]}/file", timeout=30)
    assert download.ok and hashlib.sha256(download.content).hexdigest() == keras_file[2]
    on_disk = os.path.join(service.data_dir, "models", keras_file[1])
    assert hashlib.sha256(open(on_disk, "rb").read()).hexdigest() == keras_file[2]

    # `dfanalyzer model get` downloads it too, and plain Keras loads it with the trained weights.
    target = tmp_path / "model.keras"
    cli = subprocess.run([sys.executable, "-m", "dfanalyzer", "model", "get", str(keras_file[0]), "-o", str(target),
                          "--url", service.url], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    loaded = subprocess.run([sys.executable, "-c", (
        "import sys, numpy, keras; m = keras.saving.load_model(sys.argv[1]); "
        "print(type(m).__module__, type(m).__name__); numpy.save(sys.argv[2], m.predict(numpy.load(sys.argv[3]), verbose=0))")
        , str(target), str(tmp_path / "predicted.npy"), _saved(tmp_path, x[:5])],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert loaded.returncode == 0, loaded.stderr
    assert "keras.src.models.sequential Sequential" in loaded.stdout
    np.testing.assert_allclose(np.load(tmp_path / "predicted.npy"), model.predict(x[:5], verbose=0), rtol=1e-5)


def _saved(tmp_path, array):
    path = tmp_path / "inputs.npy"
    np.save(path, array)
    return str(path)


def test_storing_the_model_can_be_turned_off(service):
    x, y = digits(32)
    tag = unique_tag("nomodel")
    model = tiny_model()
    model.fit(x, y, epochs=1, verbose=0, provenance=keras.Provenance(dataflow_tag=tag, store_model=False))
    assert stored(service, f"SELECT COUNT(*) FROM {tag}.otrainedmodel") == [[0]]
    assert stored(service, f"SELECT COUNT(*) FROM {tag}.otrainingmodel") == [[1]]


def test_every_recorded_column_can_be_queried_without_quotes(service):
    x, y = digits(48)
    tag = unique_tag("columns")
    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Conv2D(4, 3, strides=1, padding="same", activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(hidden))
    model = keras.Model(inputs, outputs)  # functional API
    model.compile(keras.optimizers.Adam(0.01, clipnorm=1.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.provenance(dataflow_tag=tag)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=5)
    model.fit(x.reshape(-1, 8, 8, 1), y, epochs=2, verbose=0, callbacks=[stopper])
    model.evaluate(x.reshape(-1, 8, 8, 1), y, verbose=0)

    queries = {
        "itrainingmodel": "optimizer_name, learning_rate, momentum, nesterov, weight_decay, beta_1, beta_2, epsilon, "
                          "clipnorm, clipvalue, loss, metrics, epochs, initial_epoch, batch_size, steps_per_epoch, "
                          "validation_split, validation_freq, training_samples, num_layers, trainable_params, "
                          "non_trainable_params, shuffle, class_weight, keras_version, backend",
        "ilayers": "layer_index, name, class_name, output_shape, parameters, units, filters, kernel_size, strides, "
                   "padding, activation, dropout_rate",
        "otrainingmodel": "epoch, timestamp, elapsed_time, learning_rate, loss, accuracy",
        "oearlystopping": "monitor, patience, min_delta, stopped_epoch, best_epoch, best_value, restore_best_weights",
        "otrainedmodel": "file_name, path, format, size_bytes, sha256",
        "otestingmodel": "timestamp, elapsed_time, loss, accuracy",
    }
    for table, columns in queries.items():
        assert stored(service, f"SELECT {columns} FROM {tag}.{table}"), table
    hyperparameters = stored(service, f"SELECT optimizer_name, beta_1, clipnorm, momentum FROM {tag}.itrainingmodel")
    assert hyperparameters == [["Adam", pytest.approx(0.9), 1.0, None]]  # Adam has no momentum: NULL
    conv = stored(service, f"SELECT filters, kernel_size, padding, activation, output_shape FROM {tag}.ilayers "
                           "WHERE class_name = 'Conv2D'")
    assert conv == [[4.0, "(3, 3)", "same", "relu", "(None, 8, 8, 4)"]]


def test_users_add_their_own_transformation_to_the_same_execution(service):
    x, y = digits(32)
    tag = unique_tag("custom")
    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    dataflow = model.get_dataflow()
    block = Transformation("DenseBlock")
    block.set_sets([Set("iDenseBlock", SetType.INPUT, [Attribute("k", AttributeType.NUMERIC),
                                                       Attribute("l", AttributeType.NUMERIC)])])
    dataflow.add_transformation(block)
    model.fit(x, y, epochs=1, verbose=0)
    task = Task(1, tag, model.get_exec_tag(), "DenseBlock", dependency=model.get_training_task())
    task.add_dataset(DataSet("iDenseBlock", [Element([24, 4])]))
    task.begin()
    task.end()

    rows = stored(service, f"SELECT k, l FROM {tag}.idenseblock")
    assert rows == [[24.0, 4.0]]
    executions = stored(service, "SELECT DISTINCT e.tag FROM task t JOIN dataflow_execution e ON t.exec_id = e.id "
                                 f"JOIN dataflow d ON t.df_id = d.id WHERE d.tag = '{tag}'")
    assert executions == [[model.get_exec_tag()]]


def test_autolog_records_plain_keras_models(service):
    import keras as plain_keras

    x, y = digits(32)
    tag = unique_tag("autolog")
    keras_prov.autolog(dataflow_tag=tag, extra={"trial": 3})
    try:
        model = plain_keras.Sequential([plain_keras.Input((64,)), plain_keras.layers.Dense(10, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, verbose=0)
        model.evaluate(x, y, verbose=0)
    finally:
        keras_prov.autolog(disable=True)
    assert stored(service, f"SELECT trial, optimizer_name FROM {tag}.itrainingmodel") == [[3.0, "SGD"]]
    assert len(stored(service, f"SELECT loss FROM {tag}.otrainingmodel")) == 2
    assert len(stored(service, f"SELECT loss FROM {tag}.otestingmodel")) == 1
    fresh = plain_keras.Sequential([plain_keras.Input((64,)), plain_keras.layers.Dense(10, activation="softmax")])
    assert fresh.get_exec_tag() is None  # after disable, a plain model records only when asked


def test_embedded_mode_writes_provenance_and_model_into_the_data_directory(tmp_path):
    data_dir = tmp_path / "embedded"
    script = (
        "import numpy as np, keras_prov as keras\n"
        "x = np.random.rand(32, 4).astype('float32'); y = np.random.rand(32, 1).astype('float32')\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        "m.compile('sgd', 'mse'); m.provenance(dataflow_tag='colab')\n"
        "m.fit(x, y, epochs=2, verbose=0)\n"
        "assert keras.flush(60)\n"
        "import dfa_lib_python\n"
        "print(dfa_lib_python.query('SELECT COUNT(*) FROM colab.otrainingmodel').rows[0][0])\n"
        "print(dfa_lib_python.query('SELECT path, sha256 FROM model_file WHERE format = ' + repr('keras')).rows[0])\n"
    )
    env = {**os.environ, "DFA_URL": f"embedded:{data_dir}", "DFA_SPOOL_DIR": str(tmp_path / "spool"),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    count, model_row = result.stdout.strip().splitlines()[-2:]
    assert count == "2"
    path, sha256 = eval(model_row)  # the printed [path, sha256] list
    stored_file = data_dir / "models" / path
    assert hashlib.sha256(stored_file.read_bytes()).hexdigest() == sha256


def test_a_script_recording_into_an_embedded_directory_stores_everything_before_it_exits(tmp_path):
    # The script ends right after fit, with no flush: the exit itself must store the run and its
    # model (keras_prov's exit steps before dfa_lib_python's close, both before Python stops the
    # thread pools the embedded store runs on).
    data_dir, spool = tmp_path / "embedded", tmp_path / "spool"
    script = (
        "import numpy as np\n"
        "from tensorflow import keras\n"
        "x = np.random.rand(32, 4).astype('float32'); y = np.random.randint(0, 2, 32)\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation='softmax')])\n"
        "m.compile('adam', 'sparse_categorical_crossentropy', metrics=['accuracy'])\n"
        "m.fit(x, y, epochs=2, verbose=0, hyperparameters=True)\n"
        "print(m.get_exec_tag())\n"
    )
    env = {**os.environ, "DFA_URL": f"embedded:{data_dir}", "DFA_SPOOL_DIR": str(spool), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    said = [line for line in result.stderr.splitlines()
            if line.startswith(("keras_prov:", "dfa_lib_python:", "Traceback", "RuntimeError"))]
    assert said == [], result.stderr[-3000:]
    left = [path for path in spool.rglob("*") if path.is_file() and path.stat().st_size > 0]
    assert left == [], "records left unsent in the spool at exit"
    exec_tag = result.stdout.split()[-1]
    read = (
        "import dfa_lib_python\n"
        f"print(dfa_lib_python.query(\"SELECT status FROM dataflow_execution WHERE tag = '{exec_tag}'\").rows)\n"
        "print(dfa_lib_python.query('SELECT COUNT(*) FROM model_file').rows[0][0])\n"
    )
    result = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[:2] == ["[['FINISHED']]", "1"], result.stdout


def test_subclassed_models_record_whether_built_by_call_or_functionally(service):
    x, y = digits(32)

    class ByCall(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(8, activation="relu")
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    class Functionally(keras.Model):
        def __init__(self):
            inputs = keras.Input((64,))
            super().__init__(inputs, keras.layers.Dense(10, activation="softmax")(inputs))

    tags = []
    for model_class in (ByCall, Functionally, ByCall):  # ByCall again: still a subclassed model
        tag = unique_tag(model_class.__name__.lower())
        tags.append(tag)
        model = model_class()
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.provenance(dataflow_tag=tag)
        history = model.fit(x, y, epochs=2, verbose=0)
        rows = stored(service, f"SELECT loss FROM {tag}.otrainingmodel ORDER BY epoch")
        assert [row[0] for row in rows] == pytest.approx(history.history["loss"])
    assert keras.Model.__bases__[-1] is __import__("keras").Model  # keras_prov.Model itself unchanged


def test_execution_agents_name_the_user_machine_and_software(service):
    import getpass
    import json
    import socket

    import keras as plain_keras
    import tensorflow as tf

    x, y = digits(32)
    tag = unique_tag("agents")
    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    model.fit(x, y, epochs=1, initial_epoch=0, verbose=0)
    rows = stored(service, "SELECT a.kind, a.name, a.properties FROM agent a JOIN dataflow_execution e "
                           f"ON a.exec_id = e.id WHERE e.tag = '{model.get_exec_tag()}'")
    agents = {(kind, name): json.loads(properties) for kind, name, properties in rows}
    assert ("person", getpass.getuser()) in agents
    machine = agents[("machine", socket.gethostname())]
    assert machine["os"] and machine["cpu"] and machine["cpu_count"] == os.cpu_count() and machine["gpus"] == []
    assert agents[("software", "keras")]["version"] == plain_keras.__version__
    assert agents[("software", "tensorflow")]["version"] == tf.__version__
    assert agents[("software", "numpy")]["version"] == np.__version__
    assert agents[("software", "python")]["version"] == __import__("platform").python_version()


def test_initial_epoch_numbers_the_epochs_as_keras_prints_them(service):
    x, y = digits(32)
    tag = unique_tag("resume")
    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert stored(service, f"SELECT initial_epoch, epochs FROM {tag}.itrainingmodel") == [[2.0, 4.0]]
    assert stored(service, f"SELECT epoch FROM {tag}.otrainingmodel ORDER BY epoch") == [[3.0], [4.0]]


def test_model_upload_refuses_altered_bytes_and_paths_leaving_the_store(service):
    x, y = digits(32)
    tag = unique_tag("upload")
    model = tiny_model()
    model.provenance(dataflow_tag=tag, store_model=False)
    model.fit(x, y, epochs=1, verbose=0)
    assert keras.flush(30)
    params = {"dataflow": tag, "exec": model.get_exec_tag(), "task": "1", "format": "keras"}
    octets = {"Content-Type": "application/octet-stream"}
    altered = requests.post(f"{service.url}/api/v1/models", data=b"not the model", headers=octets,
                            params={**params, "file_name": "model.keras", "sha256": "0" * 64}, timeout=30)
    assert altered.status_code == 422 and "sha256" in altered.json()["detail"]
    escaping = requests.post(f"{service.url}/api/v1/models", data=b"x", headers=octets,
                             params={**params, "file_name": "../../model.keras"}, timeout=30)
    # Refused by the documented pattern of file_name (the OpenAPI document says which names are allowed).
    assert escaping.status_code == 422 and "file_name" in str(escaping.json()["detail"])
    unknown = requests.post(f"{service.url}/api/v1/models", data=b"x", headers=octets,
                            params={**params, "exec": "no-such-run", "file_name": "model.keras"}, timeout=30)
    assert unknown.status_code == 404
    assert stored(service, "SELECT COUNT(*) FROM model_file m JOIN dataflow_execution e ON m.exec_id = e.id "
                           f"WHERE e.tag = '{model.get_exec_tag()}'") == [[0]]
    folder = os.path.join(service.data_dir, "models", tag)
    leftovers = [name for _, _, names in os.walk(folder) for name in names]
    assert leftovers == []  # nothing half-written was kept

