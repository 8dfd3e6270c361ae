"""The MonetDB server's own disk fills: whatever mserver5 does (11.45 exits when its write-ahead
log finds no space; it answers `Append failed` and stays up when a column's heap cannot grow), the
service answers writes 503/507 with Retry-After, never a rejection, so a real dfa_lib_python
client keeps its records; once the operator frees space and mserver5 is running again, every row
arrives exactly once.

Either the database's write-ahead log or its column files lie on a small tmpfs, so that each
test meets one of mserver5's two ways deterministically (with the whole database on one small disk,
whichever of the two finds it full first decides). Mounting needs root (CI runs as root); elsewhere
the tests skip saying so, as on a machine without mserver5.
"""
import os
import shutil
import subprocess
import sys
import time

import pytest
import requests

from monetdb_server import HOW_TO_RUN, MonetDBServer, find_mserver5, runnable_mserver5
from service_process import ServiceProcess
from test_service_disk_full import BLOB, CLIENT, _mount_tmpfs

ROWS = 12000  # 24 MB of 2 KB rows: more than the 20 MB disk can take


def _mserver5(tmp_path):
    binary = find_mserver5()
    if binary is None:
        if os.environ.get("CI"):  # CI has ../shared's mserver5: missing there is a failure, as in conftest
            pytest.fail(HOW_TO_RUN)
        pytest.skip(HOW_TO_RUN)
    return runnable_mserver5(binary, str(tmp_path))


def _server_with_a_part_on_a_small_disk(tmp_path, part, size):
    """mserver5 serving a database whose folder `part` lies on a tmpfs of `size`, the rest (and
    mserver5's log) on the ordinary disk; yields (server, the small disk), then unmounts it."""
    binary = _mserver5(tmp_path)
    farm = tmp_path / "farm"
    server = MonetDBServer(binary, farm).start()  # creates the database, then `part` moves to the small disk
    server.stop()
    folder = farm / MonetDBServer.DATABASE / part
    created = shutil.move(folder, tmp_path / f"{part}-as-created")
    _mount_tmpfs(folder, size)
    shutil.copytree(created, folder, dirs_exist_ok=True)
    server.start()
    yield server, folder
    server.stop()
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def server_with_log_on_small_disk(tmp_path):
    """The database's write-ahead log (`sql_logs/`) on an 8 MB tmpfs: the log finds the disk full."""
    yield from _server_with_a_part_on_a_small_disk(tmp_path, "sql_logs", "8m")


@pytest.fixture
def server_with_columns_on_small_disk(tmp_path):
    """The database's column files (`bat/`) on an 8 MB tmpfs, its write-ahead log on the ordinary
    disk: a column's heap finds the disk full."""
    yield from _server_with_a_part_on_a_small_disk(tmp_path, "bat", "8m")


def _refused_then_stored_once(server, disk, tmp_path, answer_expected):
    """A real dfa_lib_python client sends ROWS rows while probes like its batches fill `disk` until
    the service refuses one, which must be `answer_expected(answer)`; then the disk grows (and
    mserver5 starts again if it ended, as monetdbd would): the client stores every row once."""
    service = ServiceProcess(tmp_path / "data", monetdb_url=server.url).start(timeout=120)
    go_on = tmp_path / "space-is-back"
    client = subprocess.Popen([sys.executable, "-c", CLIENT, service.url, str(tmp_path / "spool"), "fill_server",
                               str(ROWS), str(BLOB), str(go_on)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, sent = time.monotonic() + 180, 0
        while True:  # a batch of rows like the client's, until the server cannot store one
            sent += 1
            batch = {"messages": [{"id": f"probe-{sent}", "kind": "task", "body": {
                "id": f"probe-{sent}", "dataflow": "fill_server", "transformation": "Fill", "status": "FINISHED",
                # Texts that differ: MonetDB stores a text equal to a recent one once, so equal texts would grow
                # its write-ahead log but not the column's heap.
                "sets": [{"tag": "oFill", "elements": [[-n, f"{sent}-{n}".ljust(BLOB, "x")] for n in range(1, 201)]}]}}]}
            try:
                answer = requests.post(service.url + "/api/v1/ingest", json=batch, timeout=60)
            except requests.RequestException:
                answer = None
            # Until the client has sent its dataflow, the probe's dataflow is unknown (422).
            not_yet = answer is not None and answer.status_code == 422 and "is unknown" in answer.text
            if (answer is not None and answer.status_code != 200 and not not_yet) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert answer is not None, "the service did not answer"
        answer_expected(answer)
        assert int(answer.headers["Retry-After"]) > 0
        assert "No space left" in server.log(), server.log()

        # The operator frees space and (as monetdbd would) starts mserver5 again if it ended.
        subprocess.run(["mount", "-o", "remount,size=200m", str(disk)], check=True)
        if server.process.poll() is not None:
            server.start()
        go_on.touch()
        out, err = client.communicate(timeout=300)
        assert client.returncode == 0, err
        assert "first flush False" in out, out + err  # rows were held while the server could not store
        assert "final flush True 0" in out, out + err  # then every one was stored, none set aside
        assert service.query('SELECT COUNT(*), COUNT(DISTINCT n), MIN(n), MAX(n), MIN(LENGTH("blob")) '
                             "FROM fill_server.ofill WHERE n >= 0") == [[ROWS, ROWS, 0, ROWS - 1, BLOB]]
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        service.stop()


def test_a_full_log_on_the_monetdb_server_is_a_503_until_it_runs_again(server_with_log_on_small_disk, tmp_path):
    server, disk = server_with_log_on_small_disk

    def unavailable(answer):
        # mserver5 11.45 exits when its log cannot grow ("COMMIT: transaction commit failed; exiting"):
        # the server cannot be reached, a 503 with Retry-After, never a 4xx or a 500 that would make
        # clients look for a bad record to set aside.
        assert answer.status_code == 503, (answer.status_code, answer.text)
        assert server.process.wait(30) is not None, server.log()

    _refused_then_stored_once(server, disk, tmp_path, unavailable)


def test_a_column_that_cannot_grow_on_the_server_is_a_507_and_the_server_stays_up(server_with_columns_on_small_disk,
                                                                                  tmp_path):
    server, disk = server_with_columns_on_small_disk

    def insufficient_storage(answer):
        # mserver5 answered `42000!Append failed` and stayed up: 507 naming the server, not a 500.
        assert answer.status_code == 507, (answer.status_code, answer.text)
        assert f"127.0.0.1:{server.port}" in answer.json()["detail"], answer.text
        assert server.process.poll() is None, server.log()
        assert "could not extend file" in server.log(), server.log()

    _refused_then_stored_once(server, disk, tmp_path, insufficient_storage)
    assert server.process.poll() is None, "mserver5 was started again: the column test did not test a server that stays up"


def test_an_insert_the_server_cannot_store_for_want_of_space_is_a_507_and_a_bad_query_stays_a_400():
    """How an answer is taken, without a server: `42000!Append failed` (what the column test above
    gets from a real mserver5) to a write is a 507; the same words to a read, and a value the
    statement got wrong, stay the statement's."""
    import pymonetdb

    from dfanalyzer.errors import DiskFull
    from dfanalyzer.store.server import ServerStore

    class Refusing:
        def __init__(self, answer):
            self.answer = answer

        def execute(self, sql, params=None):
            raise pymonetdb.OperationalError(self.answer)

    store = ServerStore.__new__(ServerStore)  # no server needed: only how an answer is taken
    store.url = "monetdb://monetdb@db.example:50000/dfa"
    with pytest.raises(DiskFull) as full:
        store._run(Refusing("42000!Append failed\n"), "INSERT INTO t VALUES (?)", [1], writing=True)
    assert full.value.status_code == 507 and full.value.retry_after > 0 and "db.example" in str(full.value)
    with pytest.raises(pymonetdb.OperationalError):  # the same words for a read are the query's (400)
        store._run(Refusing("42000!Append failed\n"), "SELECT 1", writing=False)
    with pytest.raises(pymonetdb.OperationalError):  # a value the statement got wrong is not the disk's
        store._run(Refusing("22018!conversion of string 'abc' to type int failed.\n"), "INSERT", writing=True)
