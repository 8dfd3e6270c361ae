"""Keras-Prov installed in place of keras: plain `import keras` scripts get provenance from the
startup hook (keras_prov_hook.pth), record only when asked, and `fit` takes the provenance flags."""
import json
import os
import subprocess
import sys
import textwrap
import warnings

import dfa_lib_python
import pytest

from keras_prov_helpers import digits, stored, unique_tag

import keras  # the plain Keras: the hook installed with this project has patched it
import keras_prov
from keras_prov.errors import ProvenanceConfigError


@pytest.fixture(scope="module")
def service(shared_dfa_service, tmp_path_factory):
    dfa_lib_python.connect(shared_dfa_service.url, spool_dir=str(tmp_path_factory.mktemp("spool")))
    yield shared_dfa_service
    dfa_lib_python.close(timeout=10)


def run_python(code, env=None, timeout=300):
    """Runs `code` in a new interpreter of this environment; returns the last line of its stdout as JSON."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    for name in ("KERAS_PROV_DISABLE", "KERAS_PROV_AUTOLOG"):
        if name not in (env or {}):
            environment.pop(name, None)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=timeout, env=environment, cwd="/")
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def plain_model(units=10):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(units, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_interpreter_start_runs_the_hook_without_importing_keras():
    report, _ = run_python("""
        import json, sys
        print(json.dumps({"finders": [type(f).__name__ for f in sys.meta_path],
                          "loaded": sorted(m for m in ("keras", "tensorflow", "dfa_lib_python", "keras_prov", "torch",
                                                       "jax", "numpy") if m in sys.modules)}))
    """)
    assert report["finders"][0] == "KerasImportWatcher"
    assert report["loaded"] == []


def test_plain_keras_script_behaves_as_stock_keras(tmp_path):
    spool = tmp_path / "spool"
    report, stderr = run_python("""
        import json, sys, threading, warnings
        warnings.simplefilter("error")  # any warning of ours would fail the script
        import numpy as np
        import keras
        x = np.random.rand(32, 8).astype("float32"); y = np.random.randint(0, 2, 32)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, verbose=0)
        model.evaluate(x, y, verbose=0)
        print(json.dumps({"patched": hasattr(keras.Model, "provenance"),
                          "threads": sorted(t.name for t in threading.enumerate() if t.name.startswith("keras_prov")
                                            or t.name.startswith("dfa")),
                          "loaded": sorted(m for m in sys.modules if m.startswith("dfa_lib_python")
                                           or m == "keras_prov.provenance_mixin")}))
    """, env={"DFA_SPOOL_DIR": str(spool), "DFA_URL": "http://127.0.0.1:9"})
    assert report == {"patched": True, "threads": [], "loaded": []}
    assert not spool.exists()
    assert "keras_prov" not in stderr


def test_fit_hyperparameters_true_records_a_plain_keras_model(service):
    x, y = digits(48)
    model = plain_model()
    tag = unique_tag("flag")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25, hyperparameters=True,
              provenance=tag)
    model.evaluate(x, y, verbose=0)  # joins the execution the flag started
    assert stored(service, f"SELECT optimizer_name, batch_size, epochs FROM {tag}.itrainingmodel") == [["SGD", 16.0, 2.0]]
    assert [row[0] for row in stored(service, f"SELECT epoch FROM {tag}.otrainingmodel ORDER BY epoch")] == [1.0, 2.0]
    assert len(stored(service, f"SELECT loss FROM {tag}.otestingmodel")) == 1
    assert model.get_exec_tag().startswith(tag)


def test_fit_hyperparameters_true_alone_uses_the_default_dataflow(service):
    x, y = digits(32)
    model = plain_model(units=11)  # a layer size no other test uses, to find this run
    model.fit(x, y, epochs=1, verbose=0, hyperparameters=True)
    rows = stored(service, "SELECT l.units FROM keras_prov.ilayers l JOIN task t ON l.trainingmodel_task_id = t.id "
                           "JOIN dataflow_execution e ON t.exec_id = e.id "
                           f"WHERE e.tag = '{model.get_exec_tag()}'")
    assert rows == [[11.0]]


def test_fit_provenance_and_hyps_options(service):
    x, y = digits(32)
    tag = unique_tag("hyps")
    model = plain_model()
    model.fit(x, y, epochs=1, verbose=0, provenance=keras_prov.Provenance(tag, hyperparameters=False),
              hyps={"LEARNING_RATE": True, "NUM_EPOCHS": True})
    columns = [row[0] for row in stored(service, "SELECT a.column_name FROM attribute a JOIN data_set s "
                                                 "ON a.ds_id = s.id JOIN dataflow d ON s.df_id = d.id "
                                                 f"WHERE d.tag = '{tag}' AND s.tag = 'itrainingmodel'")]
    assert columns == ["learning_rate", "epochs"]
    assert stored(service, f"SELECT learning_rate, epochs FROM {tag}.itrainingmodel") == [[pytest.approx(0.1), 1.0]]

    switched_on = plain_model()
    switched_on.fit(x, y, epochs=1, verbose=0, provenance=True)
    assert switched_on.get_exec_tag().startswith("keras_prov-")
    switched_on.fit(x, y, epochs=1, verbose=0, provenance=False)  # this call only is not recorded
    exec_tag = switched_on.get_exec_tag()
    assert stored(service, "SELECT COUNT(*) FROM task t JOIN dataflow_execution e ON t.exec_id = e.id "
                           f"WHERE e.tag = '{exec_tag}'") == [[1]]


@pytest.mark.parametrize("options, accepted", [
    ({"provenance": 3}, "provenance= takes True, False, a dataflow tag"),
    ({"hyperparameters": "yes"}, "hyperparameters= takes True or False"),
    ({"hyps": ["LEARNING_RATE"]}, "hyps= takes a dict"),
    ({"provenance": "not a tag!"}, "cannot name a dataflow"),
    ({"hyps": {"NO_SUCH": True}}, "unknown hyperparameter"),
])
def test_wrong_fit_options_say_what_is_accepted(options, accepted):
    x, y = digits(16)
    with pytest.raises(ProvenanceConfigError, match=accepted):
        plain_model().fit(x, y, epochs=1, verbose=0, **options)


def test_every_kind_of_keras_model_gains_the_provenance_methods():
    import tensorflow as tf

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    for model in (keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), functional, Subclassed(),
                  keras.models.Sequential(), tf.keras.Sequential(), tf.keras.models.Model(inputs, inputs)):
        for method in ("provenance", "get_dataflow", "get_exec_tag", "get_training_task"):
            assert callable(getattr(model, method)), (type(model), method)
        assert model.get_exec_tag() is None  # nothing asked, nothing recorded


def test_keras2_learning_rate_names_map_onto_learning_rate():
    optimizer = keras.optimizers.SGD(0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert float(keras.backend.get_value(optimizer.lr)) == pytest.approx(0.1)
        keras.backend.set_value(optimizer.lr, 0.05)
        assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.05)
        optimizer.lr = 0.02
        with_lr = keras.optimizers.Adam(lr=0.003)
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.02)
    assert float(keras.ops.convert_to_numpy(with_lr.learning_rate)) == pytest.approx(0.003)


def test_keras2_lr_warning_is_shown_once_in_a_fresh_process():
    _, stderr = run_python("""
        import json, warnings
        warnings.simplefilter("default")
        import keras
        optimizer = keras.optimizers.SGD(0.1)
        for _ in range(3):
            optimizer.lr = optimizer.lr * 0.5
        print(json.dumps(float(keras.ops.convert_to_numpy(optimizer.learning_rate))))
    """)
    assert stderr.count("optimizer.lr is a Keras 2 name; Keras 3 spells it optimizer.learning_rate") == 1


def test_disable_variable_leaves_keras_untouched():
    report, _ = run_python("""
        import json, keras
        print(json.dumps({"provenance": hasattr(keras.Model, "provenance"),
                          "lr": hasattr(keras.optimizers.SGD(0.1), "lr")}))
    """, env={"KERAS_PROV_DISABLE": "1"})
    assert report == {"provenance": False, "lr": False}


def test_autolog_variable_records_an_unchanged_script(shared_dfa_service, tmp_path):
    tag = unique_tag("envlog")
    report, _ = run_python("""
        import json
        import numpy as np
        import keras
        x = np.random.rand(32, 8).astype("float32"); y = np.random.randint(0, 2, 32)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, verbose=0)
        print(json.dumps(model.get_exec_tag()))
    """, env={"KERAS_PROV_AUTOLOG": tag, "DFA_URL": shared_dfa_service.url, "DFA_SPOOL_DIR": str(tmp_path / "s")})
    assert report.startswith(tag)
    assert shared_dfa_service.query(f"SELECT COUNT(*) FROM {tag}.otrainingmodel") == [[2]]


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_hook_patches_keras_on_other_backends(shared_dfa_service, tmp_path, backend):
    tag = unique_tag(f"hook_{backend}")
    report, _ = run_python(f"""
        import json, sys
        import numpy as np
        import keras
        assert keras.backend.backend() == "{backend}"
        x = np.random.rand(32, 8).astype("float32"); y = np.random.randint(0, 2, 32)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=1, verbose=0)
        plain = "dfa_lib_python" not in sys.modules
        model.fit(x, y, epochs=2, verbose=0, hyperparameters=True, provenance="{tag}")
        import keras_prov
        print(json.dumps({{"plain_fit_loaded_nothing": plain, "flushed": keras_prov.flush(60)}}))
    """, env={"KERAS_BACKEND": backend, "DFA_URL": shared_dfa_service.url, "DFA_SPOOL_DIR": str(tmp_path / "s")})
    assert report == {"plain_fit_loaded_nothing": True, "flushed": True}
    assert shared_dfa_service.query(f"SELECT backend FROM {tag}.itrainingmodel") == [[backend]]
    assert shared_dfa_service.query(f"SELECT COUNT(*) FROM {tag}.otrainingmodel") == [[2]]


def test_tasks_of_a_transformation_added_to_get_dataflow_run_before_fit_without_save(service):
    from dfa_lib_python.attribute import Attribute
    from dfa_lib_python.attribute_type import AttributeType
    from dfa_lib_python.dataset import DataSet
    from dfa_lib_python.element import Element
    from dfa_lib_python.set import Set
    from dfa_lib_python.set_type import SetType
    from dfa_lib_python.task import Task
    from dfa_lib_python.transformation import Transformation

    x, y = digits(32)
    tag = unique_tag("before_fit")  # a dataflow DfAnalyzer has never seen
    model = plain_model()
    model.provenance(dataflow_tag=tag, adaptation=False)
    block = Transformation("DenseBlock")
    block.set_sets([Set("iDenseBlock", SetType.INPUT, [Attribute("k", AttributeType.NUMERIC),
                                                       Attribute("l", AttributeType.NUMERIC)])])
    model.get_dataflow().add_transformation(block)  # the original README's pattern, no df.save()
    task = Task(100, tag, model.get_exec_tag(), "DenseBlock")
    task.add_dataset(DataSet("iDenseBlock", [Element([24, 4])]))
    task.begin()
    task.end()
    model.fit(x, y, epochs=1, verbose=0)
    assert stored(service, f"SELECT k, l FROM {tag}.idenseblock") == [[24.0, 4.0]]
    assert len(stored(service, f"SELECT epoch FROM {tag}.otrainingmodel")) == 1
    assert dfa_lib_python.get_client().status["rejected_messages"] == 0
