"""However a script brings Keras in, the startup hook patches it before any model exists: each
import style runs unchanged in a fresh interpreter and records through all four ways of asking
(KERAS_PROV_AUTOLOG, model.provenance(...), the fit flags) with Keras 2's `optimizer.lr` at work.

What is checked is what the service stored, never the test process's own Keras (this module does
not import it). The scripts run at once, a few at a time (fresh_interpreter.ScriptBatch).
"""
import itertools
import os
import textwrap

import pytest

from fresh_interpreter import ScriptBatch

# How each style binds the names the common body uses; each is the first Keras line of a script.
STYLES = {
    "import_keras": """
        import keras
        Sequential, Input, Dense = keras.Sequential, keras.Input, keras.layers.Dense
        SGD, Callback = keras.optimizers.SGD, keras.callbacks.Callback
    """,
    "from_tensorflow_import_keras": """
        from tensorflow import keras
        Sequential, Input, Dense = keras.Sequential, keras.Input, keras.layers.Dense
        SGD, Callback = keras.optimizers.SGD, keras.callbacks.Callback
    """,
    "tf_dot_keras": """
        import tensorflow as tf
        Sequential, Input, Dense = tf.keras.Sequential, tf.keras.Input, tf.keras.layers.Dense
        SGD, Callback = tf.keras.optimizers.SGD, tf.keras.callbacks.Callback
    """,
    "from_tensorflow_keras_layers": """
        from tensorflow.keras.layers import Dense, Input
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.optimizers import SGD
        from tensorflow.keras.callbacks import Callback
    """,
    "keras_src": """
        from keras.src.models import Sequential
        from keras.src.layers import Dense, Input
        from keras.src.optimizers import SGD
        from keras.src.callbacks import Callback
    """,
    "find_spec_probe_first": """
        import importlib.util
        assert importlib.util.find_spec("keras") is not None  # as TensorFlow probes before importing it
        assert importlib.util.find_spec("keras") is not None
        import keras
        Sequential, Input, Dense = keras.Sequential, keras.Input, keras.layers.Dense
        SGD, Callback = keras.optimizers.SGD, keras.callbacks.Callback
    """,
    "keras_tuner_first": """
        import sys
        import keras_tuner
        assert "keras" in sys.modules  # keras_tuner brought Keras in
        from keras import Sequential, Input
        from keras.layers import Dense
        from keras.optimizers import SGD
        from keras.callbacks import Callback
    """,
}
# Plain-Keras styles (no TensorFlow in the script) also run on the other backends; `import keras`
# alone is test_keras_in_place's test_the_hook_patches_keras_on_other_backends.
OTHER_BACKEND_STYLES = ("keras_src", "find_spec_probe_first")

BODY = """
    import json
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((64, 8), dtype="float32")
    y = rng.integers(0, 2, 64)


    def build():
        model = Sequential([Input((8,)), Dense(4, activation="relu"), Dense(2, activation="softmax")])
        model.compile(SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


    class HalveRate(Callback):
        # Keras 2's way to change the rate from a callback
        def on_epoch_end(self, epoch, logs=None):
            if not hasattr(self.model.optimizer, "lr"):
                raise ValueError('Optimizer must have a "lr" attribute.')
            self.model.optimizer.lr = float(self.model.optimizer.lr) * 0.5


    asked = build()
    asked.provenance(dataflow_tag="{asked}")
    history = asked.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[HalveRate()])
    test = asked.evaluate(x, y, verbose=0, return_dict=True)
    flagged = build()
    flagged.fit(x, y, epochs=2, batch_size=32, verbose=0, hyperparameters=True, provenance="{flagged}")
    autologged = build()
    autolog_history = autologged.fit(x, y, epochs=2, verbose=0)
    print(json.dumps({{"history": history.history, "test": test, "autolog": autolog_history.history["loss"],
                      "backend": asked.optimizer.learning_rate.__class__.__module__.split(".")[0]}}))
"""

_numbers = itertools.count(1)


def tags_for(style, backend):
    number = next(_numbers)
    return {name: f"{name}_{style}_{backend}_{os.getpid()}_{number}" for name in ("asked", "flagged", "autolog")}


CASES = [(style, "tensorflow") for style in STYLES] + [
    (style, backend) for backend in ("jax", "torch") for style in OTHER_BACKEND_STYLES]


@pytest.fixture(scope="module")
def runs(shared_dfa_service, tmp_path_factory):
    """Every case's script, started at once; {case: (tags, batch name)}."""
    batch = ScriptBatch(workers=4)
    cases = {}
    for style, backend in CASES:
        tags = tags_for(style, backend)
        code = textwrap.dedent(STYLES[style]) + textwrap.dedent(BODY.format(asked=tags["asked"], flagged=tags["flagged"]))
        spool = tmp_path_factory.mktemp(f"spool-{style}-{backend}")
        batch.start((style, backend), code, env={
            "KERAS_BACKEND": backend, "KERAS_PROV_AUTOLOG": tags["autolog"], "DFA_URL": shared_dfa_service.url,
            "DFA_SPOOL_DIR": str(spool)})
        cases[(style, backend)] = tags
    yield cases, batch
    batch.close()


def values(service, sql):
    return [row[0] if len(row) == 1 else row for row in service.query(sql)]


@pytest.mark.parametrize("style, backend", CASES, ids=[f"{style}-{backend}" for style, backend in CASES])
def test_every_way_of_asking_records_whatever_the_import_style(runs, shared_dfa_service, style, backend):
    cases, batch = runs
    tags = cases[(style, backend)]
    report, stderr = batch.result((style, backend))
    service = shared_dfa_service
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "keras_prov could not" not in stderr

    # model.provenance(...): hyperparameters, one row per epoch with Keras's own values, the rate
    # Keras 2's optimizer.lr halved (the epoch's rate and an Adaptation), the test row, the model.
    asked = tags["asked"]
    assert values(service, f"SELECT optimizer_name, batch_size, epochs, backend FROM {asked}.itrainingmodel") == [
        ["SGD", 16.0, 2.0, backend]]
    epochs = service.query(f"SELECT epoch, loss, val_loss, accuracy, learning_rate FROM {asked}.otrainingmodel "
                           "ORDER BY epoch")
    history = report["history"]
    assert [row[0] for row in epochs] == [1.0, 2.0]
    assert [row[1] for row in epochs] == pytest.approx(history["loss"], rel=1e-6)
    assert [row[2] for row in epochs] == pytest.approx(history["val_loss"], rel=1e-6)
    assert [row[3] for row in epochs] == pytest.approx(history["accuracy"], rel=1e-6)
    assert [row[4] for row in epochs] == pytest.approx([0.1, 0.05])
    assert values(service, f"SELECT epoch, old_learning_rate, new_learning_rate FROM {asked}.oadaptation "
                           "ORDER BY epoch")[0] == pytest.approx([2.0, 0.1, 0.05])
    assert values(service, f"SELECT loss FROM {asked}.otestingmodel") == pytest.approx([report["test"]["loss"]])
    assert values(service, f"SELECT format FROM {asked}.otrainedmodel") == ["keras"]

    # fit(hyperparameters=True, provenance="tag")
    flagged = tags["flagged"]
    assert values(service, f"SELECT batch_size, epochs FROM {flagged}.itrainingmodel") == [[32.0, 2.0]]
    assert values(service, f"SELECT epoch FROM {flagged}.otrainingmodel ORDER BY epoch") == [1.0, 2.0]

    # KERAS_PROV_AUTOLOG=tag: the model that asked for nothing
    assert values(service, f"SELECT loss FROM {tags['autolog']}.otrainingmodel ORDER BY epoch") == pytest.approx(
        report["autolog"], rel=1e-6)
