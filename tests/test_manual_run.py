"""`keras_prov.start_run`: training loops that do not call `fit` (GradientTape, PyTorch, JAX) record
the same sets as a fit. Each loop runs as a user runs it, in a fresh interpreter; the three run at
once against one service."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import requests

TAPE = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    import keras_prov as keras

    tag = sys.argv[2]
    class Net(keras.Model):                      # subclassed: built by its first batch
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(8, activation="relu")
            self.out = keras.layers.Dense(3)
        def call(self, x):
            return self.out(self.hidden(x))

    keras.utils.set_random_seed(1)
    x = np.random.rand(64, 5).astype("float32"); y = np.random.randint(0, 3, 64)
    model, optimizer = Net(), keras.optimizers.SGD(0.1)
    loss_function = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    with keras.start_run(tag, hyperparameters={"learning_rate": 0.1, "epochs": 2, "batch_size": 32,
                                               "augment": "none", "dropout": 0}, model=model, url=sys.argv[1]) as run:
        for epoch in (1, 2):
            if epoch == 2:
                optimizer.learning_rate.assign(0.01)
                run.log_learning_rate(0.01, cause="step decay")
            for start in (0, 32):
                with tf.GradientTape() as tape:
                    loss = loss_function(y[start:start + 32], model(x[start:start + 32]))
                optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                              model.trainable_variables))
            losses.append(float(loss))
            run.log_epoch(epoch, loss=loss, val_loss=np.float32(loss) * 2)   # a tensor and a NumPy scalar
        run.log_test(loss=0.5, accuracy=tf.constant(0.75), elapsed_time=0.25)
    try:
        with keras.start_run(tag + "_failed", hyperparameters={"learning_rate": 0.1}) as failed:
            failed.log_epoch(1, loss=float("nan"))
            raise ValueError("the loss diverged")
    except ValueError:
        pass
    assert keras.flush(60)
    print(json.dumps({"exec": run.exec_tag, "failed": failed.exec_tag, "losses": losses,
                      "params": model.count_params(), "layers": len(model.layers)}))
""")

TORCH = textwrap.dedent("""
    import hashlib, json, os, sys
    import torch
    import keras_prov

    tag = sys.argv[2]
    torch.manual_seed(0)
    x, y = torch.rand(48, 6), torch.randint(0, 2, (48,))
    net = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    losses = []
    with keras_prov.start_run(tag, hyperparameters={"optimizer": "SGD", "lr": 0.05, "epochs": 2, "hidden": 4},
                              model=net, url=sys.argv[1]) as run:
        for epoch in (1, 2):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            run.log_epoch(epoch, loss=loss, accuracy=(net(x).argmax(1) == y).float().mean())
        run.log_model(net)
        os.makedirs("expected")
        torch.save(net.state_dict(), "expected/model.pt")     # the same bytes as the stored file
    with open("expected/model.pt", "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    try:
        with keras_prov.start_run(tag + "_aborted") as aborted:
            aborted.log_epoch(1, loss=1.0)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert keras_prov.flush(60)
    print(json.dumps({"exec": run.exec_tag, "aborted": aborted.exec_tag, "losses": losses,
                      "params": sum(p.numel() for p in net.parameters()), "sha256": digest}))
""")

JAX = textwrap.dedent("""
    import hashlib, json, sys
    import jax, jax.numpy as jnp, numpy as np
    import keras_prov

    tag = sys.argv[2]
    x = jnp.asarray(np.random.default_rng(0).random((32, 3)), dtype=jnp.float32); y = x @ jnp.array([1.0, -2.0, 0.5])
    params = {"w": jnp.zeros(3), "b": jnp.zeros(())}
    loss_of = lambda p: jnp.mean((x @ p["w"] + p["b"] - y) ** 2)
    grad = jax.jit(jax.value_and_grad(loss_of))
    losses = []
    with keras_prov.start_run(tag, hyperparameters={"learning_rate": 0.1, "epochs": 2, "framework": "jax"},
                              url=sys.argv[1]) as run:
        for epoch in (1, 2):
            loss, grads = grad(params)
            params = jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)
            losses.append(float(loss))
            run.log_epoch(epoch, loss=loss)                              # a JAX array
        np.savez("params.npz", **{name: np.asarray(value) for name, value in params.items()})
        run.log_model(path="params.npz")
    assert keras_prov.flush(60)
    with open("params.npz", "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    print(json.dumps({"exec": run.exec_tag, "losses": losses, "sha256": digest}))
""")

LOOPS = {"tape": (TAPE, "tensorflow"), "torch": (TORCH, "torch"), "jax": (JAX, "jax")}


@pytest.fixture(scope="module")
def loops(shared_dfa_service, tmp_path_factory):
    """The three loops, started together; {name: (service, tag, result of the script)}."""
    started = {}
    for name, (script, backend) in LOOPS.items():
        folder = tmp_path_factory.mktemp(name)
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
               "DFA_SPOOL_DIR": str(folder / "spool"), "KERAS_PROV_AUTOLOG": ""}
        tag = f"manual_{name}_{os.getpid()}"
        started[name] = (tag, subprocess.Popen([sys.executable, "-c", script, shared_dfa_service.url, tag], cwd=folder,
                                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    finished = {}
    for name, (tag, process) in started.items():
        try:
            out, err = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"the {name} loop did not finish within 300 s:\n{err[-3000:]}")
        finished[name] = (tag, process.returncode, out, err)
    return shared_dfa_service, finished


def result_of(loops, name):
    service, finished = loops
    tag, returncode, out, err = finished[name]
    assert returncode == 0, f"the {name} loop failed:\n{err[-4000:]}"
    return service, tag, json.loads(out.strip().splitlines()[-1])


def statuses(service, tag):
    return service.query("SELECT dt.tag, t.status, t.error_msg, e.status FROM task t JOIN data_transformation dt "
                         "ON t.dt_id = dt.id JOIN dataflow d ON t.df_id = d.id JOIN dataflow_execution e "
                         f"ON t.exec_id = e.id WHERE d.tag = '{tag}' ORDER BY t.id")


def test_a_gradient_tape_loop_records_what_a_fit_records(loops):
    service, tag, run = result_of(loops, "tape")
    hyperparameters = service.query(f"SELECT learning_rate, epochs, batch_size, augment, dropout, trainable_params, "
                                    f"num_layers, backend FROM {tag}.itrainingmodel")
    assert hyperparameters == [[0.1, 2, 32, "none", 0, run["params"], run["layers"], "tensorflow"]]
    assert len(service.query(f"SELECT name FROM {tag}.ilayers")) == run["layers"]  # read once the loop built it
    epochs = service.query(f"SELECT epoch, learning_rate, loss, val_loss, elapsed_time FROM {tag}.otrainingmodel "
                           "ORDER BY epoch")
    assert [row[:2] for row in epochs] == [[1, 0.1], [2, 0.01]]
    assert [row[2] for row in epochs] == pytest.approx(run["losses"])
    assert [row[3] for row in epochs] == pytest.approx([2 * loss for loss in run["losses"]])
    assert all(row[4] >= 0 for row in epochs)
    assert service.query(f"SELECT epoch, old_learning_rate, new_learning_rate, cause FROM {tag}.oadaptation") == [
        [2, 0.1, 0.01, "step decay"]]
    assert service.query(f"SELECT loss, accuracy, elapsed_time FROM {tag}.otestingmodel") == [[0.5, 0.75, 0.25]]
    assert service.query(f"SELECT format, file_name FROM {tag}.otrainedmodel") == [["keras", "model.keras"]]
    assert statuses(service, tag) == [["trainingmodel", "FINISHED", None, "FINISHED"],
                                      ["adaptation", "FINISHED", None, "FINISHED"],
                                      ["testingmodel", "FINISHED", None, "FINISHED"]]

    # The web app and the PROV export see it as any run.
    summary = requests.get(f"{service.url}/api/v1/executions/{run['exec']}/summary", timeout=30).json()
    assert summary["status"] == "FINISHED" and summary["hyperparameters"]["augment"] == "none"
    assert len(summary["models"]) == 1 and len(summary["adaptations"]) == 1
    runs = {row["execution"]: row for row in requests.get(f"{service.url}/api/v1/runs", timeout=30).json()}
    assert runs[run["exec"]]["metrics"]["epoch"] == 2 and runs[run["exec"]]["metrics"]["test_accuracy"] == 0.75
    page = requests.get(f"{service.url}/runs/{run['exec']}", timeout=30)
    assert page.status_code == 200 and run["exec"] in page.text
    document = requests.get(f"{service.url}/api/v1/executions/{run['exec']}/prov", params={"format": "provn"},
                            timeout=60)
    assert document.status_code == 200 and "step decay" in document.text and "model.keras" in document.text


def test_an_exception_in_the_block_ends_the_run_failed(loops):
    service, tag, run = result_of(loops, "tape")
    assert statuses(service, tag + "_failed") == [
        ["trainingmodel", "FAILED", "ValueError: the loss diverged", "FAILED"]]
    # The epoch logged before the exception is kept (its NaN loss reads back as null in JSON).
    assert service.query(f"SELECT epoch, loss FROM {tag}_failed.otrainingmodel") == [[1, None]]


def test_a_pytorch_loop_records_its_module_and_state_dict(loops):
    service, tag, run = result_of(loops, "torch")
    assert service.query(f"SELECT optimizer_name, learning_rate, epochs, hidden, trainable_params, "
                         f"non_trainable_params, num_layers FROM {tag}.itrainingmodel") == [
        ["SGD", 0.05, 2, 4, run["params"], 0, 3]]
    epochs = service.query(f"SELECT epoch, learning_rate, loss, accuracy FROM {tag}.otrainingmodel ORDER BY epoch")
    assert [row[:2] for row in epochs] == [[1, 0.05], [2, 0.05]]
    assert [row[2] for row in epochs] == pytest.approx(run["losses"])
    assert all(0 <= row[3] <= 1 for row in epochs)
    assert service.query(f"SELECT file_name, format FROM {tag}.otrainedmodel") == [["model.pt", "pt"]]
    assert service.query(f"SELECT m.format, m.sha256 FROM model_file m JOIN dataflow_execution e "
                         f"ON m.exec_id = e.id WHERE e.tag = '{run['exec']}'") == [["pt", run["sha256"]]]
    assert statuses(service, tag) == [["trainingmodel", "FINISHED", None, "FINISHED"]]
    assert statuses(service, tag + "_aborted") == [["trainingmodel", "ABORTED", "KeyboardInterrupt", "ABORTED"]]


def test_a_jax_loop_without_a_model_stores_the_file_it_saved(loops):
    service, tag, run = result_of(loops, "jax")
    assert service.query(f"SELECT learning_rate, epochs, framework FROM {tag}.itrainingmodel") == [[0.1, 2, "jax"]]
    assert service.query(f"SELECT epoch, loss FROM {tag}.otrainingmodel ORDER BY epoch") == [
        [1, pytest.approx(run["losses"][0])], [2, pytest.approx(run["losses"][1])]]
    assert service.query(f"SELECT file_name, format, sha256 FROM {tag}.otrainedmodel") == [
        ["params.npz", "npz", run["sha256"]]]
    assert service.query(f"SELECT COUNT(*) FROM {tag}.ilayers") == [[0]]
    assert statuses(service, tag) == [["trainingmodel", "FINISHED", None, "FINISHED"]]
