"""keras_prov records what Keras really did: each test trains a tiny model against the real
DfAnalyzer and compares the stored provenance with the values Keras reports."""
import math
import threading

import dfa_lib_python
import pytest
import requests

from keras_prov_helpers import close, digits, seeded, stored, tiny_model, training_status, unique_tag

import keras_prov as keras


@pytest.fixture(scope="module")
def service(shared_dfa_service, tmp_path_factory):
    """The module's DfAnalyzer, with this process's dfa_lib_python client sending to it."""
    dfa_lib_python.connect(shared_dfa_service.url, spool_dir=str(tmp_path_factory.mktemp("spool")))
    yield shared_dfa_service
    dfa_lib_python.close(timeout=10)


class RateLog(keras.callbacks.Callback):
    """The learning rate Keras trains each epoch with, as the user would observe it."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def test_hyperparameters_layers_and_extra_values_are_stored(service):
    seeded()
    x, y = digits()
    tag = unique_tag("hyps")
    model = tiny_model(learning_rate=0.05, momentum=0.9)
    model.provenance(dataflow_tag=tag, hyperparameters=True, extra={"random_seed": 1, "augment": "none", "dropout": 0.1})
    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)

    rows = stored(service, f"SELECT optimizer_name, learning_rate, momentum, nesterov, epochs, batch_size, "
                           f"validation_split, training_samples, num_layers, trainable_params, loss, metrics, "
                           f"backend, random_seed, augment, dropout FROM {tag}.itrainingmodel")
    assert rows == [["SGD", pytest.approx(0.05), pytest.approx(0.9), "false", 2.0, 16.0, 0.25, 72.0,
                     float(len(model.layers)), float(model.count_params()), "sparse_categorical_crossentropy",
                     "accuracy", keras.backend.backend(), 1.0, "none", 0.1]]
    layers = stored(service, f"SELECT name, class_name, parameters, units, dropout_rate FROM {tag}.ilayers "
                             "ORDER BY layer_index")
    assert layers == [[layer.name, type(layer).__name__, float(layer.count_params()),
                       None if not hasattr(layer, "units") else float(layer.units),
                       0.1 if type(layer).__name__ == "Dropout" else None] for layer in model.layers]


def test_hyps_pick_built_in_hyperparameters_as_keras_prov_did(service):
    x, y = digits(48)
    tag = unique_tag("picked")
    model = tiny_model()
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")  # provenance() after compile too
    model.provenance(dataflow_tag=tag, hyperparameters=False,
                     hyps={"OPTIMIZER_NAME": True, "LEARNING_RATE": True, "NUM_EPOCHS": True, "BATCH_SIZE": True})
    model.fit(x, y, epochs=1, batch_size=24, verbose=0)
    result = stored(service, f"SELECT * FROM {tag}.itrainingmodel")
    assert [row[2:] for row in result] == [["Adam", pytest.approx(0.01), 1.0, 24.0]]  # after id and task columns


def test_epoch_rows_equal_history_and_val_metrics_are_null_without_validation(service):
    seeded()
    x, y = digits()
    tag = unique_tag("epochs")
    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, validation_freq=2, verbose=0)

    rows = stored(service, f"SELECT epoch, loss, accuracy, val_loss, val_accuracy FROM {tag}.otrainingmodel "
                           "ORDER BY epoch")
    assert [row[0] for row in rows] == [1.0, 2.0, 3.0]
    for row, loss, accuracy in zip(rows, history.history["loss"], history.history["accuracy"]):
        assert close(row[1], loss) and close(row[2], accuracy)
    assert rows[0][3:] == [None, None] and rows[2][3:] == [None, None]
    assert close(rows[1][3], history.history["val_loss"][0]) and close(rows[1][4], history.history["val_accuracy"][0])


def test_scheduler_change_is_an_adaptation_with_the_rate_keras_used(service):
    x, y = digits(64)
    tag = unique_tag("scheduler")
    model = tiny_model(learning_rate=0.1)
    model.provenance(dataflow_tag=tag, adaptation=True)
    rates = RateLog()
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate * 0.5 if epoch == 1 else rate)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[scheduler, rates])

    epochs = stored(service, f"SELECT epoch, learning_rate FROM {tag}.otrainingmodel ORDER BY epoch")
    assert [row[1] for row in epochs] == pytest.approx(rates.rates)
    adaptations = stored(service, f"SELECT epoch, old_learning_rate, new_learning_rate, cause "
                                  f"FROM {tag}.oadaptation")
    assert adaptations == [[2.0, pytest.approx(rates.rates[0]), pytest.approx(rates.rates[1]), "LearningRateScheduler"]]
    assert rates.rates[1] == pytest.approx(0.05)


def test_reduce_on_plateau_and_manual_changes_are_adaptations(service):
    x, y = digits(64)
    tag = unique_tag("plateau")
    model = tiny_model(learning_rate=0.1)
    model.provenance(dataflow_tag=tag)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0, verbose=0)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[plateau])
    model.optimizer.learning_rate = 0.01  # by hand, between two fits
    model.fit(x, y, epochs=1, verbose=0)

    adaptations = stored(service, f"SELECT old_learning_rate, new_learning_rate, cause FROM {tag}.oadaptation "
                                  "ORDER BY id")
    # The plateau callback lowers the rate after epoch 2 (no improvement of 10 in the loss); the
    # second fit starts at the rate set by hand.
    assert adaptations == [[pytest.approx(0.1), pytest.approx(0.05), "ReduceLROnPlateau"],
                           [pytest.approx(0.05), pytest.approx(0.01), "manual"]]
    epochs = stored(service, f"SELECT epoch, learning_rate FROM {tag}.otrainingmodel ORDER BY id")
    assert [row[1] for row in epochs] == pytest.approx([0.1, 0.1, 0.01])


def test_learning_rate_schedule_changes_are_recorded_per_epoch(service):
    x, y = digits(64)
    tag = unique_tag("schedule")
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    model = tiny_model()
    model.compile(keras.optimizers.SGD(schedule), "sparse_categorical_crossentropy")
    model.provenance(dataflow_tag=tag)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0)  # 2 steps per epoch: the rate halves each epoch

    adaptations = stored(service, f"SELECT epoch, old_learning_rate, new_learning_rate, cause FROM {tag}.oadaptation "
                                  "ORDER BY epoch")
    assert adaptations == [[2.0, pytest.approx(0.1), pytest.approx(0.05), "ExponentialDecay"],
                           [3.0, pytest.approx(0.05), pytest.approx(0.025), "ExponentialDecay"]]


def test_early_stopping_outcome_is_stored_and_the_task_finishes(service):
    x, y = digits(64)
    tag = unique_tag("early")
    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=100.0, restore_best_weights=True)
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[stopper])

    assert len(history.history["loss"]) < 10
    row = stored(service, f"SELECT monitor, patience, stopped_epoch, best_epoch, restore_best_weights "
                          f"FROM {tag}.oearlystopping")
    assert row == [["loss", 1.0, float(stopper.stopped_epoch + 1), float(stopper.best_epoch + 1), "true"]]
    assert training_status(service, tag) == [["1", "FINISHED", None]]


class FailAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch, error):
        super().__init__()
        self.epoch, self.error = epoch, error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise self.error


def test_exception_in_fit_ends_the_task_failed_and_is_raised_again(service):
    x, y = digits(48)
    tag = unique_tag("failed")
    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    with pytest.raises(RuntimeError, match="disk full"):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[FailAtEpoch(1, RuntimeError("disk full"))])

    assert training_status(service, tag) == [["1", "FAILED", "RuntimeError: disk full"]]
    assert stored(service, f"SELECT epoch FROM {tag}.otrainingmodel") == [[1.0]]


def test_keyboard_interrupt_ends_the_task_aborted(service):
    x, y = digits(48)
    tag = unique_tag("aborted")
    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[FailAtEpoch(0, KeyboardInterrupt())])
    assert training_status(service, tag)[0][:2] == ["1", "ABORTED"]
    # The run too: its user ended it, it did not fail (grey in the pages, not red).
    runs = requests.get(service.url + "/api/v1/runs", params={"dataflow": tag}, timeout=30).json()
    assert [(run["execution"], run["status"]) for run in runs] == [(model.get_exec_tag(), "ABORTED")]


def test_evaluate_is_a_testing_task_depending_on_the_training_task(service):
    x, y = digits(64)
    tag = unique_tag("testing")
    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    model.fit(x, y, epochs=1, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)

    assert stored(service, f"SELECT loss, accuracy FROM {tag}.otestingmodel") == [[pytest.approx(loss),
                                                                                  pytest.approx(accuracy)]]
    links = stored(service, "SELECT tt.identifier, td.identifier FROM task_dependency d "
                            "JOIN task tt ON d.task_id = tt.id JOIN task td ON d.depends_on_task_id = td.id "
                            f"JOIN dataflow f ON tt.df_id = f.id WHERE f.tag = '{tag}'")
    assert model.get_training_task().id == "1"
    assert links == [["2", "1"]]  # task 2 (TestingModel) depends on task 1 (TrainingModel)


def test_nan_and_infinity_in_the_logs_are_kept(service):
    x, y = digits(48)
    tag = unique_tag("nonfinite")

    class Odd(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["odd_inf"] = math.inf
            logs["odd_nan"] = math.nan

    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[Odd()])

    rows = stored(service, f"SELECT epoch, odd_inf, odd_nan FROM {tag}.otrainingmodel ORDER BY epoch")
    assert rows == [[1.0, "Infinity", None], [2.0, "Infinity", None]]  # infinities come back as "Infinity" in JSON
    flags = stored(service, "SELECT column_name, value FROM non_finite_value "
                            f"WHERE table_schema = '{tag}' AND table_name = 'otrainingmodel'")
    assert flags == [["odd_nan", "NaN"], ["odd_nan", "NaN"]]


def test_datasets_generators_and_pydatasets_are_recorded(service):
    import tensorflow as tf

    x, y = digits(64)
    tag = unique_tag("inputs")

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return x[index * 32:(index + 1) * 32], y[index * 32:(index + 1) * 32]

    def generator():
        while True:
            yield x[:32], y[:32]

    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=1, verbose=0,
              validation_data=(x[:16], y[:16]))
    model.fit(generator(), steps_per_epoch=2, epochs=1, verbose=0)
    model.fit(Batches(), epochs=1, verbose=0, class_weight={i: 1.0 for i in range(10)})

    inputs = stored(service, f"SELECT steps_per_epoch, training_samples, class_weight FROM {tag}.itrainingmodel "
                             "ORDER BY id")
    assert inputs == [[4.0, None, "false"], [2.0, None, "false"], [2.0, None, "true"]]
    assert len(stored(service, f"SELECT epoch FROM {tag}.otrainingmodel")) == 3
    assert stored(service, f"SELECT val_loss IS NOT NULL FROM {tag}.otrainingmodel ORDER BY id")[0] == [True]


def test_recording_can_be_turned_off(service):
    x, y = digits(32)
    tag = unique_tag("off")
    model = tiny_model()
    model.provenance(dataflow_tag=tag)
    model.fit(x, y, epochs=1, verbose=0, provenance=False)
    model.provenance(False)
    model.fit(x, y, epochs=1, verbose=0)
    assert stored(service, f"SELECT COUNT(*) FROM dataflow WHERE tag = '{tag}'") == [[0]]


def test_threads_asking_for_a_models_run_at_once_get_one_execution():
    # A notebook reads model.provenance_run() while the model's fit starts in another thread:
    # both must name the execution the fit records (without care, each made its own recorder).
    for _ in range(10):
        model = tiny_model()
        model.provenance(dataflow_tag=unique_tag("threads"))
        start, tags = threading.Barrier(8), []

        def look():
            start.wait()
            tags.append(model.get_exec_tag())

        threads = [threading.Thread(target=look) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(tags)) == 1, tags


def test_bad_settings_say_what_to_fix():
    model = tiny_model()
    with pytest.raises(keras.ProvenanceConfigError, match="cannot name a dataflow"):
        model.provenance(dataflow_tag="my dataflow!")
    with pytest.raises(keras.ProvenanceConfigError, match="unknown hyperparameter 'LERNING_RATE'"):
        model.provenance(dataflow_tag="ok", hyps={"LERNING_RATE": True})
    with pytest.raises(keras.ProvenanceConfigError, match="name of a built-in"):
        model.provenance(dataflow_tag="ok", extra={"learning_rate": 3})


def test_runs_with_different_metrics_and_hyperparameters_share_one_dataflow_tag(service, tmp_path):
    import subprocess
    import sys

    x, y = digits(48)
    tag = unique_tag("shared")
    first = tiny_model()
    first.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    first.provenance(dataflow_tag=tag, extra={"trial": 1}, store_model=False)
    first.fit(x, y, epochs=1, verbose=0)
    assert keras.flush(30)

    # A later program records into the same dataflow with no metrics and other hyperparameters.
    later = (
        "import sys, json, numpy as np, dfa_lib_python, keras_prov as keras\n"
        "dfa_lib_python.connect(sys.argv[1], spool_dir=sys.argv[3])\n"
        "x = np.random.rand(48, 64).astype('float32'); y = np.random.randint(0, 10, 48)\n"
        "m = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation='softmax')])\n"
        "m.compile('sgd', 'sparse_categorical_crossentropy')\n"
        "m.provenance(dataflow_tag=sys.argv[2], extra={'note': 'no metrics'}, store_model=False)\n"
        "h = m.fit(x, y, epochs=2, verbose=0)\n"
        "assert keras.flush(30)\n"
        "print(json.dumps(h.history['loss']))\n"
    )
    result = subprocess.run([sys.executable, "-c", later, service.url, tag, str(tmp_path / "spool")],
                            capture_output=True, text=True, timeout=180,
                            env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    later_losses = __import__("json").loads(result.stdout.strip().splitlines()[-1])

    rows = stored(service, f"SELECT o.epoch, o.loss, o.accuracy, h.trial, h.note FROM {tag}.otrainingmodel o JOIN "
                           f"{tag}.itrainingmodel h ON h.trainingmodel_task_id = o.trainingmodel_task_id ORDER BY o.id")
    assert len(rows) == 3
    assert rows[0][2] is not None and rows[0][3:] == [1.0, None]
    assert [row[1] for row in rows[1:]] == pytest.approx(later_losses)
    assert [row[2:] for row in rows[1:]] == [[None, None, "no metrics"]] * 2
