"""dfa_lib_python keeps every record when the service is down, killed or refuses one."""
import logging
import os
import subprocess
import sys
import time

import pytest

import dfa_lib_python
from client_scripts import expected_ratio_rows, original_script, training_epoch
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.task import Task
from dfa_lib_python.transformation import Transformation
from service_process import ServiceProcess


@pytest.fixture
def spool_dir(tmp_path):
    yield str(tmp_path / "spool")
    dfa_lib_python.close(timeout=30)


def outage_warnings(caplog):
    return [r for r in caplog.records if r.name == "dfa_lib_python" and "not reachable" in r.getMessage()]


def test_records_given_while_the_service_is_down_arrive_exactly_once_when_it_starts(tmp_path, spool_dir, caplog,
                                                                                    monkeypatch):
    caplog.set_level(logging.INFO, logger="dfa_lib_python")
    monkeypatch.setattr("dfa_lib_python.spool.SEGMENT_BYTES", 4096)  # the spool spans many files
    service = ServiceProcess(tmp_path / "dfa-data")  # not started yet
    try:
        # Small batches: the dependent task and the rows it depends on travel in different batches.
        dfa_lib_python.connect(service.url, spool_dir=spool_dir, batch_size=3, flush_interval=0.01)
        files = tuple(f"f{index}" for index in range(10))
        df = original_script("late", files)
        training = Dataflow("late_training", hyperparameters=True)
        training.save()
        task = Task(1, "late_training", "TrainingModel")
        task.begin()
        for epoch in range(50):
            training_epoch(task, epoch)
        task.end()

        assert dfa_lib_python.flush(timeout=2) is False  # nobody to send to; the script went on
        session = dfa_lib_python.get_client().session.directory
        assert len([name for name in os.listdir(session) if name.endswith(".jsonl")]) > 3
        assert len(outage_warnings(caplog)) == 1
        assert "late" not in str(dfa_lib_python.get_client().rejected.read())

        service.start()
        assert dfa_lib_python.flush(timeout=90)
        assert len(outage_warnings(caplog)) == 1
        rows = service.query("SELECT name, ratio, extractratio_task_id, computeratio_task_id "
                             "FROM late.oextractratio ORDER BY name")
        assert [row[:2] for row in rows] == sorted(expected_ratio_rows(files))
        [[t1_id]] = service.query("SELECT t.id FROM task t JOIN data_transformation d ON t.dt_id = d.id "
                                  f"WHERE d.tag = 'extractratio' AND t.exec_id = (SELECT id FROM dataflow_execution "
                                  f"WHERE tag = '{df.exec_tag}')")
        [[t2_id]] = service.query("SELECT t.id FROM task t JOIN data_transformation d ON t.dt_id = d.id "
                                  "WHERE d.tag = 'computeratio'")
        # The dependent task's input landed on the rows task 1 produced, replayed batch after batch.
        assert {(row[2], row[3]) for row in rows} == {(t1_id, t2_id)}
        assert service.query("SELECT COUNT(*) FROM late.ocomputeratio") == [[len(files)]]
        assert service.query("SELECT epoch, COUNT(*) FROM late_training.otrainingmodel GROUP BY epoch "
                             "ORDER BY epoch") == [[float(epoch), 1] for epoch in range(50)]
        # Sent spool files are deleted; only the one being written stays.
        assert len([name for name in os.listdir(session) if name.endswith(".jsonl")]) == 1
        assert service.query("SELECT status FROM task WHERE exec_id = (SELECT id FROM dataflow_execution "
                             f"WHERE tag = '{training.exec_tag}')") == [["FINISHED"]]
    finally:
        dfa_lib_python.close(timeout=5)
        service.stop()


def test_service_killed_and_restarted_mid_stream_loses_and_doubles_nothing(dfa_service, spool_dir, caplog):
    dfa_lib_python.connect(dfa_service.url, spool_dir=spool_dir, batch_size=20, flush_interval=0.01)
    Dataflow("stream", hyperparameters=True).save()
    task = Task(1, "stream", "run-1", "TrainingModel")
    task.begin()
    for epoch in range(600):
        training_epoch(task, epoch)
        if epoch == 200:
            dfa_service.kill()  # SIGKILL while batches are being sent
        if epoch == 400:
            dfa_service.start()
        time.sleep(0.001)
    task.end()

    assert dfa_lib_python.flush(timeout=90)
    assert len(outage_warnings(caplog)) >= 1
    assert dfa_service.query("SELECT epoch, COUNT(*) FROM stream.otrainingmodel GROUP BY epoch ORDER BY epoch") == [
        [float(epoch), 1] for epoch in range(600)]
    assert dfa_service.query("SELECT identifier, status FROM task") == [["1", "FINISHED"]]


def test_a_record_the_service_refuses_goes_to_the_rejected_file_and_the_rest_arrives(dfa_service, spool_dir, caplog):
    client = dfa_lib_python.connect(dfa_service.url, spool_dir=spool_dir)
    df = Dataflow("refusals")
    step = Transformation("Step")
    step.add_set(Set("oStep", SetType.OUTPUT, [Attribute("n", AttributeType.NUMERIC)]))
    df.add_transformation(step)
    df.save()
    for task_id, value in ((1, 1), (2, "not a number"), (3, 3)):
        task = Task(task_id, "refusals", "Step")
        task.add_dataset(DataSet("oStep", [Element([value])]))
        task.end()

    assert dfa_lib_python.flush(timeout=60)
    assert dfa_service.query("SELECT n FROM refusals.ostep ORDER BY n") == [[1.0], [3.0]]
    assert [row[0] for row in dfa_service.query("SELECT identifier FROM task ORDER BY identifier")] == ["1", "3"]
    [rejected] = client.rejected.read()
    assert rejected["message"]["kind"] == "task" and rejected["message"]["body"]["id"] == "2"
    assert "'not a number' is not a number" in rejected["reason"]
    refusals = [r for r in caplog.records if "refused a record" in r.getMessage()]
    assert len(refusals) == 1 and "not a number" in refusals[0].getMessage()
    assert client.status["rejected_messages"] == 1


def test_a_script_that_ends_while_the_service_is_down_leaves_its_records_for_the_next_run(tmp_path):
    service = ServiceProcess(tmp_path / "dfa-data")  # not started
    env = dict(os.environ, DFA_URL=service.url, DFA_SPOOL_DIR=str(tmp_path / "spool"),
               PYTHONPATH=os.path.dirname(__file__))
    script = "from client_scripts import original_script\noriginal_script('after_exit')\n"
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("is not reachable") == 1
    assert run.stderr.count("could not be sent") == 1 and "sent by the next program" in run.stderr
    try:
        service.start()
        flush = subprocess.run([sys.executable, "-m", "dfa_lib_python", "flush"], env=env, capture_output=True,
                               text=True, timeout=120)
        assert flush.returncode == 0, flush.stderr
        assert service.query("SELECT name, ratio FROM after_exit.oextractratio ORDER BY name") == expected_ratio_rows()
        assert service.query("SELECT COUNT(*) FROM task") == [[2]]
    finally:
        service.stop()


def test_records_wait_in_memory_while_the_spool_cannot_be_written(dfa_service, spool_dir, caplog, monkeypatch):
    client = dfa_lib_python.connect(dfa_service.url, spool_dir=spool_dir)
    Dataflow("diskfull", hyperparameters=True).save()
    task = Task(1, "diskfull", "run-1", "TrainingModel")
    task.begin()
    write_to_disk = client.session.append

    def disk_full(line):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(client.session, "append", disk_full)
    for epoch in range(20):
        training_epoch(task, epoch)  # never raises
    assert [r.getMessage() for r in caplog.records if "cannot write to the spool" in r.getMessage()] != []
    monkeypatch.setattr(client.session, "append", write_to_disk)  # space is back
    for epoch in range(20, 30):
        training_epoch(task, epoch)
    task.end()
    assert dfa_lib_python.flush(timeout=60)
    assert dfa_service.query("SELECT epoch FROM diskfull.otrainingmodel ORDER BY id") == [
        [float(epoch)] for epoch in range(30)]


def test_the_client_waits_as_long_as_a_503_retry_after_asks_before_sending_again(tmp_path, spool_dir):
    """A service that cannot store now says for how long (Retry-After); the client waits that long
    (at most its longest backoff) instead of its own shorter backoff, then delivers."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    posts = []

    class Busy(BaseHTTPRequestHandler):  # 503 Retry-After: 2 once, then acknowledges what it got
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            posts.append(time.monotonic())
            if len(posts) == 1:
                answer, status, headers = {"detail": "store busy"}, 503, {"Retry-After": "2"}
            else:
                answer, status, headers = {"acknowledged": [m["id"] for m in body["messages"]], "duplicates": []}, 200, {}
            data = json.dumps(answer).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dfa_lib_python.connect(f"http://127.0.0.1:{server.server_port}", spool_dir=spool_dir, flush_interval=0.01)
        dataflow = Dataflow("busy_service")
        step = Transformation("Step")
        step.add_set(Set("oStep", SetType.OUTPUT, [Attribute("n", AttributeType.NUMERIC)]))
        dataflow.add_transformation(step)
        dataflow.save()
        deadline = time.monotonic() + 60
        while len(posts) < 2 and time.monotonic() < deadline:  # no flush(): it would cut the wait short
            time.sleep(0.05)
        assert len(posts) == 2, posts
        assert posts[1] - posts[0] >= 2.0, f"sent again after {posts[1] - posts[0]:.2f} s, not the 2 s asked"
        assert dfa_lib_python.flush(timeout=10)
    finally:
        server.shutdown()
