"""keras_prov on Keras's PyTorch and JAX backends: the same capture, in a process started with
KERAS_BACKEND=torch or jax (a backend is chosen once per process). torch and jax are in
requirements.txt."""
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import dfa_lib_python
    import keras_prov as keras
    dfa_lib_python.connect(sys.argv[1], spool_dir=sys.argv[2])
    keras.utils.set_random_seed(1)
    x = np.random.rand(64, 8).astype("float32"); y = np.random.randint(0, 3, 64)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.provenance(dataflow_tag=sys.argv[3] + "_backend")
    halve = keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate * 0.5 if epoch == 1 else rate)
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25, validation_freq=2, callbacks=[halve])
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert keras.flush(60)
    print(json.dumps({"backend": keras.backend.backend(), "loss": history.history["loss"], "test_loss": loss}))
""")


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_other_backends_record_the_same_provenance(dfa_service, tmp_path, backend):
    import json

    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", SCRIPT, dfa_service.url, str(tmp_path / "spool"), backend],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads(result.stdout.strip().splitlines()[-1])
    assert run["backend"] == backend

    epochs = dfa_service.query(f"SELECT epoch, learning_rate, loss, val_loss FROM {backend}_backend.otrainingmodel "
                               "ORDER BY epoch")
    assert [row[2] for row in epochs] == pytest.approx(run["loss"])
    assert [row[1] for row in epochs] == pytest.approx([0.1, 0.05, 0.05])
    assert epochs[0][3] is None and epochs[1][3] is not None and epochs[2][3] is None
    assert dfa_service.query(f"SELECT cause FROM {backend}_backend.oadaptation") == [["LearningRateScheduler"]]
    assert dfa_service.query(f"SELECT backend FROM {backend}_backend.itrainingmodel") == [[backend]]
    assert dfa_service.query(f"SELECT loss FROM {backend}_backend.otestingmodel") == [[pytest.approx(run["test_loss"])]]
    assert sorted(row[0] for row in dfa_service.query("SELECT format FROM model_file")) == ["keras"]
