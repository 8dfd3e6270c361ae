"""Training on several devices and processes is one run, recorded once, by the chief, with its
strategy, replicas, workers and global batch size: tf.distribute.MirroredStrategy on two logical
CPUs, Keras's DataParallel on two JAX host devices, and MultiWorkerMirroredStrategy with two
worker processes on localhost (one of which then dies), and a PyTorch DistributedDataParallel loop
on two processes recorded with start_run. Everything runs in fresh interpreters,
all at once, against one service."""
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from service_process import free_port

MIRRORED = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras_prov as keras

    keras.utils.set_random_seed(1)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.rand(64, 4).astype("float32"); y = np.random.randint(0, 3, 64)
    model.provenance(sys.argv[2])
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    test_loss, _ = model.evaluate(x, y, verbose=0)
    assert keras.flush(60)
    print(json.dumps({"exec": model.get_exec_tag(), "loss": history.history["loss"], "test_loss": test_loss}))
""")

DATA_PARALLEL = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras_prov as keras

    devices = keras.distribution.list_devices("cpu")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.random.rand(64, 4).astype("float32"); y = np.random.rand(64, 2).astype("float32")
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, provenance=sys.argv[2])
    assert keras.flush(60)
    print(json.dumps({"exec": model.get_exec_tag(), "loss": history.history["loss"], "devices": devices}))
""")

# A custom loop: Keras 3's fit does not run under MultiWorkerMirroredStrategy (see docs/keras_prov.md).
MULTI_WORKER = textwrap.dedent("""
    import json, os, sys
    index, ports, url, tag = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3], sys.argv[4]
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"localhost:{port}" for port in ports]},
                                          "task": {"type": "worker", "index": index}})
    import numpy as np, tensorflow as tf
    import keras_prov as keras

    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=60))
    GLOBAL_BATCH = 16
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        optimizer = keras.optimizers.SGD(0.1)
    rng = np.random.default_rng(0)
    x = rng.random((64, 4)).astype("float32"); y = rng.random((64, 2)).astype("float32")
    data = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH))

    @tf.function
    def train_step(batch):
        def replica_step(xb, yb):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.reduce_mean((model(xb) - yb) ** 2, axis=1)) / GLOBAL_BATCH
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            return loss
        return strategy.reduce("SUM", strategy.run(replica_step, args=batch), axis=None)

    def train(tag, epochs, worker_dies_at=None):
        with keras.start_run(tag, hyperparameters={"learning_rate": 0.1, "epochs": epochs, "batch_size": GLOBAL_BATCH},
                             model=model, url=url) as run:
            for epoch in range(1, epochs + 1):
                if epoch == worker_dies_at and index == 1:
                    os._exit(3)                              # worker 1 crashes
                losses = [float(train_step(batch)) for batch in data]
                run.log_epoch(epoch, loss=sum(losses) / len(losses))
        return run, losses

    run, losses = train(tag, 2)
    report = {"recording": run.recording, "exec": run.exec_tag, "loss": losses}
    try:
        train(tag + "_dies", 3, worker_dies_at=2)
    except Exception as error:                             # the chief sees its peer gone
        report["error"] = f"{type(error).__name__}: {error}"
    assert keras.flush(60)
    print(json.dumps(report))
""")

TORCH_DDP = textwrap.dedent("""
    import json, sys
    import torch, torch.distributed as dist
    import keras_prov

    rank, port, url, tag = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    torch.manual_seed(rank)
    x, y = torch.rand(32, 4), torch.rand(32, 1)
    net = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    losses = []
    with keras_prov.start_run(tag, hyperparameters={"learning_rate": 0.1, "batch_size": 8}, model=net, url=url) as run:
        for epoch in (1, 2):
            for start in range(0, 32, 8):
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(net(x[start:start + 8]), y[start:start + 8])
                loss.backward()
                optimizer.step()
            losses.append(loss.item())
            run.log_epoch(epoch, loss=loss)
    assert keras_prov.flush(60)
    dist.destroy_process_group()
    print(json.dumps({"recording": run.recording, "loss": losses}))
""")


def _start(script, arguments, env, folder):
    return subprocess.Popen([sys.executable, "-c", script, *arguments], cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(processes, timeout):
    """{name: (returncode, stdout, stderr)}; a process still running at the deadline is killed
    (its returncode is then None), so that a hung worker fails the test instead of hanging it.
    The deadline is generous: on a 2-core machine at load 60 the six processes needed over 400 s."""
    deadline = time.monotonic() + timeout
    finished = {}
    for name, process in processes.items():
        try:
            out, err = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            finished[name] = (process.returncode, out, err)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            finished[name] = (None, out, err + f"\n[killed: still running after {timeout} s]")
    return finished


@pytest.fixture(scope="module")
def trainings(shared_dfa_service, tmp_path_factory):
    url, pid = shared_dfa_service.url, os.getpid()
    base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_PROV_AUTOLOG": "", "DFA_URL": url}
    tags = {"mirrored": f"mirrored_{pid}", "data_parallel": f"data_parallel_{pid}", "multi_worker": f"workers_{pid}"}
    processes = {
        "mirrored": _start(MIRRORED, [url, tags["mirrored"]], {**base, "KERAS_BACKEND": "tensorflow"},
                           tmp_path_factory.mktemp("mirrored")),
        "data_parallel": _start(DATA_PARALLEL, [url, tags["data_parallel"]],
                                {**base, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
                                tmp_path_factory.mktemp("data_parallel")),
    }
    ports = {free_port()}
    while len(ports) < 2:
        ports.add(free_port())
    ports = ",".join(map(str, sorted(ports)))
    for index in (0, 1):
        folder = tmp_path_factory.mktemp(f"worker{index}")
        processes[f"worker{index}"] = _start(MULTI_WORKER, [str(index), ports, url, tags["multi_worker"]],
                                             {**base, "KERAS_BACKEND": "tensorflow",
                                              "DFA_SPOOL_DIR": str(folder / "spool")}, folder)
    torch_port = str(free_port())
    tags["torch"] = f"torch_ddp_{pid}"
    for rank in (0, 1):
        processes[f"rank{rank}"] = _start(TORCH_DDP, [str(rank), torch_port, url, tags["torch"]],
                                          {**base, "KERAS_BACKEND": "torch"}, tmp_path_factory.mktemp(f"rank{rank}"))
    return shared_dfa_service, tags, _finish(processes, timeout=900)


def result(trainings, name):
    _, _, finished = trainings
    returncode, out, err = finished[name]
    assert returncode == 0, f"{name} exited with {returncode}:\n{err[-4000:]}"
    return json.loads(out.strip().splitlines()[-1])


def distribution_columns(service, tag):
    return service.query(f"SELECT distribution_strategy, num_replicas, num_workers, global_batch_size, devices, "
                         f"batch_size FROM {tag}.itrainingmodel")


def runs_of(service, tag):
    return service.query("SELECT e.tag, t.status, t.error_msg FROM task t JOIN dataflow_execution e ON t.exec_id = e.id "
                         "JOIN dataflow d ON t.df_id = d.id JOIN data_transformation dt ON t.dt_id = dt.id "
                         f"WHERE d.tag = '{tag}' AND dt.tag = 'trainingmodel' ORDER BY t.id")


def test_mirrored_strategy_on_two_devices_is_one_run_with_its_replicas(trainings):
    service, tags, _ = trainings
    run, tag = result(trainings, "mirrored"), tags["mirrored"]
    assert distribution_columns(service, tag) == [
        ["MirroredStrategy", 2, 1, 16, "/job:localhost/replica:0/task:0/device:CPU:0, "
                                       "/job:localhost/replica:0/task:0/device:CPU:1", 16]]
    epochs = service.query(f"SELECT epoch, loss, val_loss FROM {tag}.otrainingmodel ORDER BY epoch")
    assert [row[0] for row in epochs] == [1, 2] and all(row[2] is not None for row in epochs)
    assert [row[1] for row in epochs] == pytest.approx(run["loss"])
    assert service.query(f"SELECT loss FROM {tag}.otestingmodel") == [[pytest.approx(run["test_loss"])]]
    assert service.query(f"SELECT format FROM {tag}.otrainedmodel") == [["keras"]]
    assert runs_of(service, tag) == [[run["exec"], "FINISHED", None]]


def test_keras_data_parallel_on_two_jax_devices_is_one_run_with_its_replicas(trainings):
    service, tags, _ = trainings
    run, tag = result(trainings, "data_parallel"), tags["data_parallel"]
    assert len(run["devices"]) == 2
    assert distribution_columns(service, tag) == [["DataParallel", 2, 1, 16, "cpu:0, cpu:1", 16]]
    epochs = service.query(f"SELECT epoch, loss FROM {tag}.otrainingmodel ORDER BY epoch")
    assert [row[0] for row in epochs] == [1, 2] and [row[1] for row in epochs] == pytest.approx(run["loss"])
    assert runs_of(service, tag) == [[run["exec"], "FINISHED", None]]


def test_two_workers_are_one_run_recorded_by_the_chief_alone(trainings):
    service, tags, finished = trainings
    chief, tag = result(trainings, "worker0"), tags["multi_worker"]
    other = finished["worker1"]
    assert other[0] == 3, f"worker 1 should have crashed on purpose (exit 3), got {other[0]}:\n{other[2][-3000:]}"
    assert chief["recording"] is True
    # One execution, its epochs once, although both workers ran the same loop.
    assert service.query(f"SELECT COUNT(*) FROM dataflow_execution e JOIN dataflow d ON e.df_id = d.id "
                         f"WHERE d.tag = '{tag}'") == [[1]]
    epochs = service.query(f"SELECT epoch, loss FROM {tag}.otrainingmodel ORDER BY epoch")
    assert [row[0] for row in epochs] == [1, 2] and [row[1] for row in epochs][-1] == pytest.approx(
        sum(chief["loss"]) / len(chief["loss"]))
    (strategy, replicas, workers, global_batch, devices, batch_size), = distribution_columns(service, tag)
    assert (strategy, replicas, workers, global_batch, batch_size) == ("MultiWorkerMirroredStrategy", 2, 2, 16, 16)
    assert devices.count("/job:worker/task:") == 2 and "/job:worker/task:1 (localhost:" in devices
    assert runs_of(service, tag) == [[chief["exec"], "FINISHED", None]]


def test_a_worker_that_dies_fails_the_run_and_the_chief_finishes(trainings):
    service, tags, _ = trainings
    chief, tag = result(trainings, "worker0"), tags["multi_worker"] + "_dies"
    assert "error" in chief, "the chief's training went on although worker 1 died"
    (exec_tag, status, error), = runs_of(service, tag)
    assert status == "FAILED" and error == chief["error"]
    assert "task:1" in error, error  # the run says which worker was lost
    assert [row[0] for row in service.query(f"SELECT epoch FROM {tag}.otrainingmodel")] == [1]
    assert service.query(f"SELECT status FROM dataflow_execution WHERE tag = '{exec_tag}'") == [["FAILED"]]


def test_a_torch_distributed_loop_is_recorded_by_rank_0_alone(trainings):
    service, tags, _ = trainings
    chief, other, tag = result(trainings, "rank0"), result(trainings, "rank1"), tags["torch"]
    assert (chief["recording"], other["recording"]) == (True, False)
    assert service.query(f"SELECT COUNT(*) FROM dataflow_execution e JOIN dataflow d ON e.df_id = d.id "
                         f"WHERE d.tag = '{tag}'") == [[1]]
    epochs = service.query(f"SELECT epoch, loss FROM {tag}.otrainingmodel ORDER BY epoch")
    assert [row[0] for row in epochs] == [1, 2] and [row[1] for row in epochs] == pytest.approx(chief["loss"])
    assert service.query(f"SELECT distribution_strategy, num_replicas, num_workers, global_batch_size, batch_size, "
                         f"trainable_params FROM {tag}.itrainingmodel") == [
        ["torch.distributed (gloo)", 2, 2, 16, 8, 5]]
