"""Issue 9, item 2: a record the service fails on (5xx) while it is healthy does not jam the spool,
neither for the process that wrote it nor for a later process on the same spool."""
import os
import subprocess
import sys

import pytest

import dfa_lib_python
from failing_proxy import FailingProxy
from service_process import free_port

SCRIPT = """
import dfa_lib_python
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.task import Task
from dfa_lib_python.transformation import Transformation

df = Dataflow("{tag}")
step = Transformation("Step")
step.add_set(Set("oStep", SetType.OUTPUT, [Attribute("n", AttributeType.NUMERIC), Attribute("note", AttributeType.TEXT)]))
df.add_transformation(step)
df.save()
for number in range(1, 21):
    task = Task(number, "{tag}", "Step")
    task.add_dataset(DataSet("oStep", [Element([number, "POISON" if number == 7 else "fine"])]))
    task.end()
"""


def stored_numbers(service, tag):
    return [row[0] for row in service.query(f"SELECT n FROM {tag}.ostep ORDER BY n")]


def assert_cleared(service, client, tag):
    assert stored_numbers(service, tag) == [float(n) for n in range(1, 21) if n != 7]
    [rejected] = client.rejected.read()
    assert rejected["message"]["body"]["id"] == "7" and "HTTP 500" in rejected["reason"]


@pytest.fixture
def spool_dir(tmp_path):
    yield str(tmp_path / "spool")
    dfa_lib_python.close(timeout=30)


def test_one_process_sets_the_failing_record_aside_and_delivers_the_rest(dfa_service, spool_dir):
    proxy = FailingProxy(dfa_service.url, b"POISON").start()
    try:
        client = dfa_lib_python.connect(proxy.url, spool_dir=spool_dir, batch_size=500, flush_interval=0.5)
        exec(SCRIPT.format(tag="jam_one"), {})
        assert dfa_lib_python.flush(timeout=120)
        assert_cleared(dfa_service, client, "jam_one")
        assert proxy.failed_batches >= 3  # the same batch failed several times before it was bisected
    finally:
        proxy.stop()


def test_a_later_process_on_the_same_spool_clears_the_jam(dfa_service, tmp_path, spool_dir):
    port = free_port()
    env = dict(os.environ, DFA_URL=f"http://127.0.0.1:{port}", DFA_SPOOL_DIR=spool_dir, DFA_EXIT_TIMEOUT="1")
    # The first process writes everything while nothing answers at that address, and ends.
    first = subprocess.run([sys.executable, "-c", SCRIPT.format(tag="jam_later")], env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    proxy = FailingProxy(dfa_service.url, b"POISON", port=port).start()
    try:
        client = dfa_lib_python.connect(env["DFA_URL"], spool_dir=spool_dir, flush_interval=0.5)
        assert dfa_lib_python.flush(timeout=120)
        assert_cleared(dfa_service, client, "jam_later")
    finally:
        proxy.stop()
