"""A training process killed with SIGKILL loses nothing: the next process replays its spool."""
import os
import shutil
import subprocess
import sys
import textwrap

TRAINING = textwrap.dedent("""
    import sys
    import dfa_lib_python
    from dfa_lib_python.dataflow import Dataflow
    from dfa_lib_python.task import Task
    from client_scripts import training_epoch

    import dfa_lib_python.spool
    dfa_lib_python.spool.SEGMENT_BYTES = 8192  # many spool files, so replay crosses them

    url, spool, flush_timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    # The sender waits long between batches, so what follows the flush is only in the spool
    # when the process is killed.
    dfa_lib_python.connect(url, spool_dir=spool, flush_interval=600, batch_size=100000)
    Dataflow("crash", hyperparameters=True).save()
    task = Task(1, "crash", "run-1", "TrainingModel")
    task.begin()
    for epoch in range(100):
        training_epoch(task, epoch)
    print("flushed", dfa_lib_python.flush(flush_timeout), flush=True)
    for epoch in range(100, 250):
        training_epoch(task, epoch)
        print("epoch", epoch, flush=True)
    sys.stdin.read()  # training goes on until killed
""")

REPLAY = textwrap.dedent("""
    import sys
    import dfa_lib_python
    client = dfa_lib_python.connect(sys.argv[1], spool_dir=sys.argv[2])
    print("replayed", client.flush(60), flush=True)
""")


def run_python(code, *args, **popen):
    env = dict(os.environ, PYTHONPATH=os.path.dirname(__file__))
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, text=True, **popen)


def epochs_stored(service):
    return service.query("SELECT epoch, COUNT(*) FROM crash.otrainingmodel GROUP BY epoch ORDER BY epoch")


def sessions(spool):
    return sorted(os.listdir(os.path.join(spool, "sessions")))


def test_training_process_killed_mid_stream_is_replayed_by_the_next_process(dfa_service, tmp_path):
    spool = str(tmp_path / "spool")
    training = run_python(TRAINING, dfa_service.url, spool, "60", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert training.stdout.readline().split() == ["flushed", "True"]
        last = None
        while last != "249":
            line = training.stdout.readline()
            assert line, "the training script ended early"
            last = line.split()[-1]
        training.kill()  # SIGKILL: no atexit flush, no cleanup
        training.wait()
    finally:
        if training.poll() is None:
            training.kill()
    stored_before = epochs_stored(dfa_service)
    assert stored_before == [[float(epoch), 1] for epoch in range(len(stored_before))]
    assert 100 <= len(stored_before) < 250  # the flushed part arrived; the rest only reached the spool
    [orphan] = sessions(spool)
    kept = shutil.copytree(os.path.join(spool, "sessions", orphan), tmp_path / "kept-copy")

    replay = run_python(REPLAY, dfa_service.url, spool, stdout=subprocess.PIPE)
    assert replay.communicate(timeout=120)[0].split() == ["replayed", "True"]
    assert epochs_stored(dfa_service) == [[float(epoch), 1] for epoch in range(250)]
    assert sessions(spool) == []  # replayed sessions are removed

    # A process killed after the service stored a batch but before the spool recorded the answer
    # sends it again: the message ids keep it from being stored twice.
    # (This time with the command that sends a spool by hand.)
    shutil.copytree(kept, os.path.join(spool, "sessions", orphan))
    status = subprocess.run([sys.executable, "-m", "dfa_lib_python", "status", "--spool-dir", spool],
                            capture_output=True, text=True, timeout=60)
    assert f"{orphan}" in status.stdout and f"for {dfa_service.url}" in status.stdout
    replay = subprocess.run([sys.executable, "-m", "dfa_lib_python", "flush", "--spool-dir", spool,
                             "--url", dfa_service.url], capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert "everything in the spool is stored" in replay.stdout
    assert sessions(spool) == []
    assert epochs_stored(dfa_service) == [[float(epoch), 1] for epoch in range(250)]
    assert dfa_service.query("SELECT identifier, status FROM task") == [["1", "RUNNING"]]


def test_a_spool_meant_for_another_service_is_left_alone(dfa_service, tmp_path):
    spool = str(tmp_path / "spool")
    writer = run_python(TRAINING, "http://127.0.0.1:9", spool, "0.5", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert writer.stdout.readline().split() == ["flushed", "False"]  # port 9: nobody listens
        writer.kill()
        writer.wait()
    finally:
        if writer.poll() is None:
            writer.kill()
    [orphan] = sessions(spool)
    replay = run_python(REPLAY, dfa_service.url, spool, stdout=subprocess.PIPE)
    assert replay.communicate(timeout=120)[0].split() == ["replayed", "True"]
    assert sessions(spool) == [orphan]
    assert dfa_service.query("SELECT COUNT(*) FROM dataflow") == [[0]]
