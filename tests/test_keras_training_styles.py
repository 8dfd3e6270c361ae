"""Every way Keras trains records what Keras logged, no more, no less: functional and subclassed
models, custom train_step/test_step with their own metric names, fit(x) without targets,
tf.data / generators / PyDataset, several outputs, the fine-tuning recipe (one run, one stage per
fit), evaluate and predict on their own, and fit called from inside a callback. A model Keras
cannot save whole is stored as its weights and summary, with one warning line.

Each script is a user's program, run unchanged in a fresh interpreter (all of them at once); the
test compares what Keras returned to the script (History, evaluate) with what the service stored.
"""
import itertools
import os
import textwrap

import pytest
import requests

from fresh_interpreter import ScriptBatch

PREAMBLE = """
    import json
    import numpy as np
    import tensorflow as tf
    import keras
    from keras import layers, ops

    rng = np.random.default_rng(0)
    x = rng.random((64, 8), dtype="float32")
    y = rng.integers(0, 3, 64)
    score = rng.random((64, 1), dtype="float32")
"""

SCRIPTS = {
    "model_kinds": """
        inputs = keras.Input((8,))
        hidden = layers.Dense(6, activation="relu")(inputs)
        functional = keras.Model(inputs, layers.Dense(3, activation="softmax")(hidden))
        functional.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        functional.provenance("{functional}")
        functional_history = functional.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)


        class Classifier(keras.Model):
            def __init__(self, units=6, **kwargs):
                super().__init__(**kwargs)
                self.hidden = layers.Dense(units, activation="relu")
                self.classes = layers.Dense(3, activation="softmax")

            def call(self, inputs):
                return self.classes(self.hidden(inputs))


        subclassed = Classifier()
        subclassed.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
        subclassed.provenance("{subclassed}")
        subclassed_history = subclassed.fit(x, y, epochs=2, batch_size=16, verbose=0)

        inputs = keras.Input((8,))
        hidden = layers.Dense(6, activation="relu")(inputs)
        multi = keras.Model(inputs, {{"label": layers.Dense(3, activation="softmax", name="label")(hidden),
                                      "score": layers.Dense(1, name="score")(hidden)}})
        multi.compile("adam", loss={{"label": "sparse_categorical_crossentropy", "score": "mse"}},
                      loss_weights={{"label": 1.0, "score": 0.5}},
                      metrics={{"label": ["accuracy"], "score": ["mae"]}})
        multi.provenance("{multi}")
        targets = {{"label": y, "score": score}}
        multi_history = multi.fit(x, targets, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
        multi_test = multi.evaluate(x, targets, verbose=0, return_dict=True)
        print(json.dumps({{"functional": functional_history.history, "subclassed": subclassed_history.history,
                          "multi": multi_history.history, "multi_test": multi_test}}))
    """,
    "custom_steps": """
        class Scorer(keras.Model):
            # train_step and test_step of its own, logging metric names of its own
            def __init__(self):
                super().__init__()
                self.dense = layers.Dense(1)
                self.fit_error = keras.metrics.Mean(name="fit_error")
                self.check_error = keras.metrics.Mean(name="check_error")

            def call(self, inputs):
                return self.dense(inputs)

            @property
            def metrics(self):
                return [self.fit_error, self.check_error]

            def train_step(self, data):
                inputs, targets = data
                with tf.GradientTape() as tape:
                    error = ops.mean(ops.square(self(inputs, training=True) - targets))
                gradients = tape.gradient(error, self.trainable_weights)
                self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
                self.fit_error.update_state(error)
                return {{"fit_error": self.fit_error.result()}}

            def test_step(self, data):
                inputs, targets = data
                self.check_error.update_state(ops.mean(ops.square(self(inputs) - targets)))
                return {{"check_error": self.check_error.result()}}


        scorer = Scorer()
        scorer.compile(optimizer=keras.optimizers.SGD(0.05))
        scorer.provenance("{scorer}")
        scorer_history = scorer.fit(x, score, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
        scorer_test = scorer.evaluate(x, score, verbose=0, return_dict=True)


        class VAE(keras.Model):
            # the keras.io way: encoder and decoder passed in, no get_config, fit(x) without targets
            def __init__(self, encoder, decoder, **kwargs):
                super().__init__(**kwargs)
                self.encoder, self.decoder = encoder, decoder
                self.total = keras.metrics.Mean(name="total_loss")
                self.kl = keras.metrics.Mean(name="kl_loss")

            @property
            def metrics(self):
                return [self.total, self.kl]

            def train_step(self, data):
                with tf.GradientTape() as tape:
                    mean, log_var = ops.split(self.encoder(data), 2, axis=-1)
                    z = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean))
                    reconstruction = ops.mean(ops.square(data - self.decoder(z)))
                    kl = -0.5 * ops.mean(1 + log_var - ops.square(mean) - ops.exp(log_var))
                    total = reconstruction + kl
                gradients = tape.gradient(total, self.trainable_weights)
                self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
                self.total.update_state(total)
                self.kl.update_state(kl)
                return {{"total_loss": self.total.result(), "kl_loss": self.kl.result()}}


        encoder = keras.Sequential([keras.Input((8,)), layers.Dense(6, activation="relu"), layers.Dense(4)])
        decoder = keras.Sequential([keras.Input((2,)), layers.Dense(6, activation="relu"), layers.Dense(8)])
        vae = VAE(encoder, decoder)
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        vae.provenance("{vae}")
        vae_history = vae.fit(x, epochs=2, batch_size=16, verbose=0)
        print(json.dumps({{"scorer": scorer_history.history, "scorer_test": scorer_test,
                          "vae": vae_history.history}}))
    """,
    "data_sources": """
        def classifier(tag):
            model = keras.Sequential([keras.Input((8,)), layers.Dense(6, activation="relu"),
                                      layers.Dense(3, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            model.provenance(tag)
            return model


        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
        from_dataset = classifier("{dataset}").fit(dataset, validation_data=dataset.take(1), epochs=2, verbose=0)


        def batches():
            while True:
                for start in range(0, 64, 16):
                    yield x[start:start + 16], y[start:start + 16]


        from_generator = classifier("{generator}").fit(batches(), steps_per_epoch=4, epochs=2, verbose=0)


        class Batches(keras.utils.PyDataset):
            def __len__(self):
                return 4

            def __getitem__(self, index):
                return x[index * 16:(index + 1) * 16], y[index * 16:(index + 1) * 16]


        from_pydataset = classifier("{pydataset}").fit(Batches(), epochs=2, verbose=0)
        print(json.dumps({{"dataset": from_dataset.history, "generator": from_generator.history,
                          "pydataset": from_pydataset.history}}))
    """,
    # KERAS_PROV_AUTOLOG records the unchanged recipe: train the head, unfreeze, fit again.
    "fine_tuning": """
        base = keras.Sequential([keras.Input((8,)), layers.Dense(6, activation="relu", name="base")])
        base.trainable = False
        model = keras.Sequential([base, layers.Dense(3, activation="softmax", name="head")])
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
        head = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        base.trainable = True
        model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
        tuned = model.fit(x, y, epochs=2, initial_epoch=1, batch_size=16, verbose=0)
        test = model.evaluate(x, y, verbose=0, return_dict=True)
        print(json.dumps({{"exec": model.get_exec_tag(), "head": head.history, "tuned": tuned.history,
                          "test": test}}))
    """,
    "alone_and_nested": """
        def classifier():
            model = keras.Sequential([keras.Input((8,)), layers.Dense(3, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            return model


        untrained = classifier()
        untrained.provenance("{alone}")
        alone_test = untrained.evaluate(x, y, verbose=0, return_dict=True)
        predicted = untrained.predict(x, verbose=0)

        probe = classifier()
        probe.provenance("{probe}")
        probe_losses = []


        class FitsAProbe(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                probe_losses.append(probe.fit(x, y, epochs=1, batch_size=32, verbose=0).history["loss"][0])


        outer = classifier()
        outer.provenance("{outer}")
        outer_history = outer.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[FitsAProbe()])
        print(json.dumps({{"alone_test": alone_test, "predicted": list(predicted.shape),
                          "outer": outer_history.history, "probe": probe_losses}}))
    """,
}

TAGS = {"model_kinds": ("functional", "subclassed", "multi"), "custom_steps": ("scorer", "vae"),
        "data_sources": ("dataset", "generator", "pydataset"), "fine_tuning": ("autolog",),
        "alone_and_nested": ("alone", "probe", "outer")}
EPOCH_BOOKKEEPING = {"epoch", "timestamp", "elapsed_time", "learning_rate", "non_finite_value"}
TEST_BOOKKEEPING = {"timestamp", "elapsed_time", "non_finite_value"}

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def runs(shared_dfa_service, tmp_path_factory):
    """Every script started at once; yields ({script: {name: dataflow tag}}, batch)."""
    batch = ScriptBatch(workers=5)
    tags = {}
    for script, names in TAGS.items():
        number = next(_numbers)
        tags[script] = {name: f"{name}_{os.getpid()}_{number}" for name in names}
        code = textwrap.dedent(PREAMBLE) + textwrap.dedent(SCRIPTS[script].format(**tags[script]))
        batch.start(script, code, env={
            "KERAS_PROV_AUTOLOG": tags[script].get("autolog", ""), "DFA_URL": shared_dfa_service.url,
            "DFA_SPOOL_DIR": str(tmp_path_factory.mktemp(f"spool-{script}")),
            # five scripts at once on a loaded machine: at exit, wait for the model upload as long as it takes
            "KERAS_PROV_EXIT_TIMEOUT": "300"})
    yield tags, batch
    batch.close()


def result(runs, script):
    tags, batch = runs
    report, stderr = batch.result(script)
    assert "Traceback" not in stderr, stderr[-4000:]
    return tags[script], report, stderr


def columns(service, tag, set_tag):
    return {row[0] for row in service.query(
        "SELECT a.column_name FROM attribute a JOIN data_set s ON a.ds_id = s.id JOIN dataflow d ON s.df_id = d.id "
        f"WHERE d.tag = '{tag}' AND s.tag = '{set_tag}'")}


def assert_epochs_are_the_history(service, tag, history, first_epoch=1):
    """oTrainingModel holds one row per epoch with exactly the metrics Keras logged, same values."""
    names = sorted(history)
    assert columns(service, tag, "otrainingmodel") - EPOCH_BOOKKEEPING == set(names)
    rows = service.query(f"SELECT epoch, {', '.join(names)} FROM {tag}.otrainingmodel ORDER BY epoch")
    epochs = len(history[names[0]])
    assert [row[0] for row in rows] == [float(epoch) for epoch in range(first_epoch, first_epoch + epochs)]
    for index, name in enumerate(names, start=1):
        assert [row[index] for row in rows] == pytest.approx(history[name], rel=1e-5), name


def assert_test_is(service, tag, metrics):
    assert columns(service, tag, "otestingmodel") - TEST_BOOKKEEPING == set(metrics)
    names = sorted(metrics)
    rows = service.query(f"SELECT {', '.join(names)} FROM {tag}.otestingmodel")
    assert rows == [pytest.approx([metrics[name] for name in names], rel=1e-5)]


def test_functional_subclassed_and_multi_output_models(runs, shared_dfa_service):
    tags, report, _ = result(runs, "model_kinds")
    service = shared_dfa_service
    for name in ("functional", "subclassed", "multi"):
        assert_epochs_are_the_history(service, tags[name], report[name])
        assert [row[0] for row in service.query(f"SELECT format FROM {tags[name]}.otrainedmodel")] == ["keras"]
    # per-output losses and metrics, as Keras names them
    assert {"label_loss", "score_loss", "label_accuracy", "score_mae", "val_score_mae"} <= set(report["multi"])
    assert_test_is(service, tags["multi"], report["multi_test"])
    # the subclassed model was built by its first batch: its layers and parameters are there
    assert service.query(f"SELECT trainable_params FROM {tags['subclassed']}.itrainingmodel") == [[6 * 8 + 6 + 7 * 3]]
    assert len(service.query(f"SELECT name FROM {tags['subclassed']}.ilayers")) == 2


def test_custom_steps_and_fit_without_targets(runs, shared_dfa_service):
    tags, report, stderr = result(runs, "custom_steps")
    service = shared_dfa_service
    assert {"fit_error", "val_check_error"} <= set(report["scorer"])  # its own names, whatever else Keras adds
    assert_epochs_are_the_history(service, tags["scorer"], report["scorer"])
    assert_test_is(service, tags["scorer"], report["scorer_test"])
    assert_epochs_are_the_history(service, tags["vae"], report["vae"])

    # The VAE has no get_config: its weights and summary are stored, said in one line and recorded.
    stored = service.query(f"SELECT file_name, format, note FROM {tags['vae']}.otrainedmodel ORDER BY file_name")
    assert [row[:2] for row in stored] == [["model.summary.txt", "summary.txt"], ["model.weights.h5", "weights.h5"]]
    assert all("NotImplementedError" in row[2] and "get_config" in row[2] for row in stored)
    warnings = [line for line in stderr.splitlines() if "keras_prov" in line]
    assert len(warnings) == 1 and "model.weights.h5 and model.summary.txt" in warnings[0], stderr[-3000:]
    files = service.query("SELECT m.format, m.size_bytes FROM model_file m JOIN dataflow_execution e "
                          f"ON m.exec_id = e.id JOIN dataflow d ON e.df_id = d.id WHERE d.tag = '{tags['vae']}' "
                          "ORDER BY m.format")
    assert [row[0] for row in files] == ["summary.txt", "weights.h5"] and all(row[1] > 0 for row in files)
    # the scorer's own model (get_config derived from its arguments) is stored whole
    assert service.query(f"SELECT format, note FROM {tags['scorer']}.otrainedmodel") == [["keras", None]]


def test_datasets_generators_and_pydatasets(runs, shared_dfa_service):
    tags, report, _ = result(runs, "data_sources")
    service = shared_dfa_service
    for name in ("dataset", "generator", "pydataset"):
        assert_epochs_are_the_history(service, tags[name], report[name])
    assert set(report["dataset"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    # no batch size is invented for data that comes in batches; the steps given are recorded
    for name in ("dataset", "generator", "pydataset"):
        assert service.query(f"SELECT batch_size FROM {tags[name]}.itrainingmodel") == [[None]], name
    assert service.query(f"SELECT steps_per_epoch FROM {tags['generator']}.itrainingmodel") == [[4.0]]


def test_fine_tuning_is_one_run_with_a_stage_per_fit(runs, shared_dfa_service):
    tags, report, _ = result(runs, "fine_tuning")
    service = shared_dfa_service
    tag, execution = tags["autolog"], report["exec"]
    assert execution.startswith(tag)
    # one execution, two TrainingModel tasks (the stages), epochs numbered as Keras numbers them
    stages = service.query(
        f"SELECT h.learning_rate, h.initial_epoch, h.epochs, h.trainable_params FROM {tag}.itrainingmodel h "
        "ORDER BY h.trainingmodel_task_id")
    assert stages == [[pytest.approx(0.1), 0.0, 1.0, 21.0], [pytest.approx(0.01), 1.0, 2.0, 75.0]]
    epochs = service.query(f"SELECT o.epoch, o.loss, o.learning_rate, o.trainingmodel_task_id FROM {tag}.otrainingmodel o "
                           "ORDER BY o.epoch")
    assert [row[:3] for row in epochs] == [[1.0, pytest.approx(report["head"]["loss"][0], rel=1e-5), pytest.approx(0.1)],
                                           [2.0, pytest.approx(report["tuned"]["loss"][0], rel=1e-5), pytest.approx(0.01)]]
    assert epochs[0][3] != epochs[1][3]
    assert service.query(f"SELECT COUNT(*) FROM dataflow_execution e JOIN dataflow d ON e.df_id = d.id "
                         f"WHERE d.tag = '{tag}'") == [[1]]
    assert_test_is(service, tag, report["test"])
    assert len(service.query(f"SELECT format FROM {tag}.otrainedmodel")) == 2  # the model after each stage
    # what the run page and the runs table show of the stages
    summary = requests.get(f"{service.url}/api/v1/executions/{execution}/summary", params={"dataflow": tag},
                           timeout=30).json()
    assert [{key: stage[key] for key in ("stage", "first_epoch", "last_epoch", "initial_epoch", "trainable_params",
                                          "status")} for stage in summary["stages"]] == [
        {"stage": 1, "first_epoch": 1.0, "last_epoch": 1.0, "initial_epoch": 0.0, "trainable_params": 21.0,
         "status": "FINISHED"},
        {"stage": 2, "first_epoch": 2.0, "last_epoch": 2.0, "initial_epoch": 1.0, "trainable_params": 75.0,
         "status": "FINISHED"}]
    assert [stage["learning_rate"] for stage in summary["stages"]] == [pytest.approx(0.1), pytest.approx(0.01)]
    table = requests.get(f"{service.url}/api/v1/runs/table", params={"dataflow": tag}, timeout=30).json()
    assert [(row["execution"], row["stages"], row["epochs"]) for row in table["rows"]] == [(execution, 2, 2)]
    assert "stages" in [column["key"] for column in table["columns"]]


def test_evaluate_and_predict_alone_and_fit_inside_a_callback(runs, shared_dfa_service):
    tags, report, _ = result(runs, "alone_and_nested")
    service = shared_dfa_service
    # evaluate alone: one TestingModel task that depends on no training; predict records nothing
    assert report["predicted"] == [64, 3]
    assert_test_is(service, tags["alone"], report["alone_test"])
    transformations = service.query(
        "SELECT dt.tag, COUNT(*) FROM task t JOIN data_transformation dt ON t.dt_id = dt.id JOIN dataflow d "
        f"ON t.df_id = d.id WHERE d.tag = '{tags['alone']}' GROUP BY dt.tag")
    assert transformations == [["testingmodel", 1]]
    # a fit inside another fit's callback: each recorded in its own run, nothing mixed
    assert_epochs_are_the_history(service, tags["outer"], report["outer"])
    probe = service.query(f"SELECT epoch, loss FROM {tags['probe']}.otrainingmodel ORDER BY trainingmodel_task_id")
    assert [row[0] for row in probe] == [1.0, 1.0]
    assert [row[1] for row in probe] == pytest.approx(report["probe"], rel=1e-5)
