"""A full disk is an answer, not a crash: the data directory on a small tmpfs, two real
dfa_lib_python clients filling it, then space freed (the tmpfs grown, as an operator would).

Mounting needs root (or CAP_SYS_ADMIN); where it is refused the tests skip and say so. CI runs
them as root.
"""
import errno
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
import requests

from dfanalyzer.disk_space import DiskSpace
from dfanalyzer.errors import DiskFull
from dfanalyzer.store.engine import EngineError
from service_process import ServiceProcess

MIN_FREE = "8MB"
ROWS_PER_CLIENT = 6000  # 2 x 12 MB of rows: more than the 20 MB disk can take
BLOB = 2000  # characters of text per row: 2 KB rows, as in the issue

CLIENT = textwrap.dedent("""
    import os, sys, time
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

    url, spool, tag, rows, blob, go_on = sys.argv[1:]
    rows, blob = int(rows), int(blob)
    client = dfa_lib_python.connect(url, spool_dir=spool, batch_size=200)
    df = Dataflow(tag)
    fill = Transformation("Fill")
    fill.add_set(Set("oFill", SetType.OUTPUT, [Attribute("n", AttributeType.NUMERIC),
                                               Attribute("blob", AttributeType.TEXT)]))
    df.add_transformation(fill)
    df.save()
    for first in range(0, rows, 10):  # a new task every 10 rows
        task = Task(first, tag, "Fill")
        task.add_dataset(DataSet("oFill", [Element([n, (str(n) + "x" * blob)[:blob]])
                                           for n in range(first, first + 10)]))
        task.end()
        time.sleep(0.002)
    print("first flush", dfa_lib_python.flush(timeout=5), flush=True)
    while not os.path.exists(go_on):
        time.sleep(0.2)
    print("final flush", dfa_lib_python.flush(timeout=240), client.status["rejected_messages"], flush=True)
""")


def _mount_tmpfs(directory, size):
    os.makedirs(directory, exist_ok=True)
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({run.stderr.strip() or run.returncode}); these tests "
                    "need root or CAP_SYS_ADMIN, which CI gives them")


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "20m")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def _free(directory):
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def _pid_record(data_dir):
    with open(os.path.join(data_dir, "dfanalyzer.pid")) as handle:
        return json.load(handle)


def test_a_full_disk_answers_507_keeps_reads_and_the_worker_and_loses_no_row(small_disk, tmp_path):
    data_dir = small_disk / "data"
    service = ServiceProcess(data_dir, extra_args=["--min-free", MIN_FREE]).start()
    go_on = tmp_path / "space-is-back"
    clients = [subprocess.Popen([sys.executable, "-c", CLIENT, service.url, str(tmp_path / f"spool-{name}"), name,
                                 str(ROWS_PER_CLIENT), str(BLOB), str(go_on)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name in ("fill_a", "fill_b")]
    try:
        worker = _pid_record(data_dir)["worker_pid"]
        deadline = time.monotonic() + 180
        while True:  # until the service refuses to write: an empty batch is refused before parsing
            answer = requests.post(service.url + "/api/v1/ingest", json={"messages": []}, timeout=30)
            if answer.status_code != 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert answer.status_code == 507, answer.text
        detail = answer.json()["detail"]
        assert str(data_dir) in detail and "free" in detail and "--min-free" in detail
        assert int(answer.headers["Retry-After"]) > 0
        assert _free(small_disk) > 1 << 20, "the service filled the disk to its end"
        # Reads go on, from the same worker, and the supervisor kept its record whole.
        health = requests.get(service.url + "/health", timeout=30)
        assert health.ok and health.json()["worker_restarts"] == 0
        stored_while_full = {tag: service.query(f"SELECT COUNT(*) FROM {tag}.ofill")[0][0] for tag in ("fill_a", "fill_b")}
        assert sum(stored_while_full.values()) < 2 * ROWS_PER_CLIENT
        record = _pid_record(data_dir)
        assert record["worker_pid"] == worker and record["restarts"] == 0
        pde = requests.post(service.url + "/pde/task/json", json={"id": "x", "dataflow": "fill_a", "transformation": "Fill"},
                            timeout=30)
        assert pde.status_code == 507, pde.text

        # An operator frees space: the clients' held rows arrive, each once, without a restart.
        subprocess.run(["mount", "-o", "remount,size=200m", str(small_disk)], check=True)
        go_on.touch()
        outputs = [client.communicate(timeout=300) for client in clients]
        for (out, err), client in zip(outputs, clients):
            assert client.returncode == 0, err
            assert "final flush True 0" in out, out + err  # everything stored, nothing set aside
        for tag in ("fill_a", "fill_b"):
            assert service.query(f"SELECT COUNT(*), COUNT(DISTINCT n), MIN(n), MAX(n), MIN(LENGTH(\"blob\")) "
                                 f"FROM {tag}.ofill") == [[ROWS_PER_CLIENT, ROWS_PER_CLIENT, 0, ROWS_PER_CLIENT - 1,
                                                          BLOB]]
            assert service.query("SELECT COUNT(*) FROM task t JOIN dataflow d ON t.df_id = d.id "
                                 f"WHERE d.tag = '{tag}'") == [[ROWS_PER_CLIENT // 10]]
        assert not list(tmp_path.glob("spool-*/rejected*.jsonl")) or all(
            p.stat().st_size == 0 for p in tmp_path.glob("spool-*/rejected*.jsonl"))
        record = _pid_record(data_dir)
        assert record["worker_pid"] == worker and record["restarts"] == 0
        assert not [name for name in os.listdir(data_dir) if name.endswith(".tmp")]
        assert "died" not in service.log()
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait()
        service.stop()


def test_the_pid_record_is_written_whole_or_not_at_all_on_a_full_disk(tmp_path):
    from dfanalyzer.supervisor import _write_pid_record, read_pid_record

    disk = tmp_path / "tiny"
    _mount_tmpfs(disk, "256k")
    try:
        pid_file = str(disk / "dfanalyzer.pid")
        assert _write_pid_record(pid_file, {"pid": os.getpid(), "port": 1, "restarts": 0})
        with open(disk / "ballast", "wb", buffering=0) as ballast:  # the disk, full to its last byte
            with pytest.raises(OSError):
                while True:
                    ballast.write(b"x" * 4096)
        assert not _write_pid_record(pid_file, {"pid": os.getpid(), "port": 1, "restarts": 1, "pad": "x" * 10000})
        assert read_pid_record(pid_file) == {"pid": os.getpid(), "port": 1, "restarts": 0}
        assert sorted(os.listdir(disk)) == ["ballast", "dfanalyzer.pid"]
        # The engine's own failures on such a disk are the disk's fault, whatever their words.
        for failure in (EngineError("Append failed"), EngineError("COMMIT: transaction is aborted because of "
                                                                  "concurrency conflicts")):
            full = DiskSpace(0, [str(disk)]).explains(failure)
            assert isinstance(full, DiskFull) and full.status_code == 507 and str(disk) in str(full)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_engine_failures_are_blamed_on_the_disk_only_when_it_is_nearly_full_or_says_so(tmp_path):
    roomy = DiskSpace(0, [str(tmp_path)])  # the test machine's disk, far from full
    assert roomy.explains(EngineError("Append failed")) is None
    assert isinstance(roomy.explains(OSError(errno.ENOSPC, "No space left on device")), DiskFull)
    assert isinstance(roomy.explains(EngineError("GDKextend: could not extend file: No space left on device")),
                      DiskFull)
