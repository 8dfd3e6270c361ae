"""The MonetDB server's own disk fills: whatever mserver5 does (11.45 exits when its write-ahead
log finds no space), the service answers writes 503/507 with Retry-After, never a rejection, so
a real dfa_lib_python client keeps its records; once the operator frees space and mserver5 is
running again, every row arrives exactly once.

mserver5's database lies on a small tmpfs: mounting needs root (CI runs as root); elsewhere the
test skips saying so, as does a machine without mserver5.
"""
import os
import subprocess
import sys
import time

import pytest
import requests

from monetdb_server import HOW_TO_RUN, MonetDBServer, find_mserver5, runnable_mserver5
from service_process import ServiceProcess
from test_service_disk_full import BLOB, CLIENT, _free, _mount_tmpfs

ROWS = 12000  # 24 MB of 2 KB rows: more than the 20 MB disk can take


@pytest.fixture
def server_on_small_disk(tmp_path):
    binary = find_mserver5()
    if binary is None:
        if os.environ.get("CI"):  # CI has ../shared's mserver5: missing there is a failure, as in conftest
            pytest.fail(HOW_TO_RUN)
        pytest.skip(HOW_TO_RUN)
    binary = runnable_mserver5(binary, str(tmp_path))
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "20m")
    server = MonetDBServer(binary, disk).start()
    yield server, disk
    server.stop()
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_on_the_monetdb_server_keeps_the_clients_rows_until_they_are_stored_once(server_on_small_disk,
                                                                                              tmp_path):
    server, disk = server_on_small_disk
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
                "sets": [{"tag": "oFill", "elements": [[-n, "x" * BLOB] for n in range(1, 201)]}]}}]}
            try:
                answer = requests.post(service.url + "/api/v1/ingest", json=batch, timeout=60)
            except requests.RequestException:
                answer = None
            # Until the client has sent its dataflow, the probe's dataflow is unknown (422).
            not_yet = answer is not None and answer.status_code == 422 and "is unknown" in answer.text
            if (answer is not None and answer.status_code != 200 and not not_yet) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        # mserver5 answered "Append failed" (a column could not grow) or exited (its log could not): a
        # write is "not now" (503/507 with Retry-After), never a 4xx or a 500 that would make clients
        # look for a bad record to set aside.
        assert answer is not None, "the service did not answer"
        assert answer.status_code in (503, 507), (answer.status_code, answer.text)
        assert int(answer.headers["Retry-After"]) > 0
        assert "No space left" in server.log(), server.log()

        # The operator frees space and (as monetdbd would) starts mserver5 again.
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


def test_an_insert_the_server_cannot_store_for_want_of_space_is_a_507_and_a_bad_query_stays_a_400():
    """mserver5 answers `42000!Append failed` when a column cannot grow on its full disk (seen in
    the test above when the column, not the write-ahead log, is the first to find no space): that
    is the server's state, a 507, not a 500 that makes clients hunt for a bad record."""
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
