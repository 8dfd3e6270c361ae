"""The embedded store survives being started again and again with ingestion in between: every
acknowledged row is there after each start (see dfanalyzer.store.stale_backups for the engine's
stale backups that made the third start fail, "GDKinit() failed", after a string column outgrew its
width)."""
import threading
import uuid

import requests

from service_process import ServiceProcess

SPEC = {"tag": "lives", "transformations": [{"tag": "Step", "sets": [
    {"tag": "oStep", "type": "OUTPUT", "attributes": [{"name": "n", "type": "NUMERIC"},
                                                      {"name": "note", "type": "TEXT"}]}]}]}
MESSAGES_PER_BATCH = 5


def _ingest(service, first, batches):
    """Sends `batches` batches of task messages, with ids as dfa_lib_python makes them (a random
    prefix and a counter), numbered from `first`; returns the numbers acknowledged."""
    session, prefix, acknowledged = requests.Session(), uuid.uuid4().hex, []
    for batch in range(batches):
        numbers = range(first + batch * MESSAGES_PER_BATCH, first + (batch + 1) * MESSAGES_PER_BATCH)
        messages = [{"id": f"{prefix}-{n}", "kind": "task", "body": {
            "id": str(n), "dataflow": "lives", "exec": "lives-1", "transformation": "Step", "status": "FINISHED",
            "sets": [{"tag": "oStep", "elements": [[n, f"row {n} of a run"]]}]}} for n in numbers]
        answer = session.post(service.url + "/api/v1/ingest", json={"messages": messages}, timeout=60)
        assert answer.status_code == 200, answer.text
        acknowledged.extend(numbers)
    return acknowledged


def _ingest_from_two_clients(service, first, batches):
    """Two clients at once; a batch either of them had refused fails the test, as in one client."""
    acknowledged, failures = [], []

    def client(start):
        try:
            acknowledged.extend(_ingest(service, start, batches))
        except Exception as error:  # noqa: BLE001 - reported by the test's thread below
            failures.append(repr(error))

    starts = (first, first + batches * MESSAGES_PER_BATCH)
    clients = [threading.Thread(target=client, args=(start,)) for start in starts]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    assert failures == []
    return sorted(acknowledged)


def _stored(service):
    return [int(row[0]) for row in service.query("SELECT n FROM lives.ostep ORDER BY n", limit=1_000_000)]


def test_lives_with_ingestion_between_them_keep_every_row(tmp_path):
    service = ServiceProcess(tmp_path / "data", extra_args=["--max-requests", "0"]).start()
    try:
        requests.post(service.url + "/pde/dataflow/json", json=SPEC, timeout=60).raise_for_status()
        service.stop()
        # Enough message ids that their column outgrows 1-byte offsets in this life.
        service.start()
        acknowledged = _ingest(service, 0, 250)
        service.stop()
        # This life replays the previous one's log as it starts, then two clients send more.
        for life in range(3):
            service.start()
            assert _stored(service) == acknowledged, f"life {life}"
            acknowledged += _ingest_from_two_clients(service, len(acknowledged), 30)
            service.stop()  # the next start failed ("GDKinit() failed", the ids column's file gone)
        service.start()
        assert _stored(service) == acknowledged
        answer = requests.post(service.url + "/api/v1/query", json={"sql": "SELECT COUNT(*) FROM ingested_message"},
                               timeout=60)
        assert answer.json()["rows"][0][0] == len(acknowledged)
    finally:
        service.stop()


WIDTH_TWO = "352 32 tmp_540 05/540 2 1290 1290 0 str 2 1 0 0 0 0 0 9223372036854775808 2580 2580 0 1083 290 0"
WIDTH_ONE = "352 32 tmp_540 05/540 2 6 256 0 str 1 1 0 0 0 0 0 9223372036854775808 6 256 0 8202 8202 0"


def _database(tmp_path, committed_line, backups, committed_in="BACKUP"):
    """A database directory as the engine leaves it: its committed BBP.dir, and `backups` in bat/BACKUP."""
    bat = tmp_path / "bat"
    (bat / "BACKUP").mkdir(parents=True)
    header = "BBP.dir, GDKversion 25124\n8 8 16\nBBPsize=400\nBBPinfo=1 10\n"
    (bat / committed_in / "BBP.dir").write_text(header + committed_line + "\n")
    for name in backups:
        (bat / "BACKUP" / name).write_bytes(b"x")
    return bat / "BACKUP"


def test_only_a_string_backup_of_another_width_than_the_committed_one_is_removed(tmp_path):
    from dfanalyzer.store.stale_backups import remove_stale_backups

    backup = _database(tmp_path / "stale", WIDTH_TWO, ["540.tail1", "540.theap", "541.tail"])
    assert remove_stale_backups(str(tmp_path / "stale")) == ["540.tail1"]
    assert sorted(path.name for path in backup.iterdir()) == ["540.theap", "541.tail", "BBP.dir"]

    # The pre-image of the committed state is what the engine restores: kept.
    backup = _database(tmp_path / "pre-image", WIDTH_ONE, ["540.tail1"])
    assert remove_stale_backups(str(tmp_path / "pre-image")) == []
    assert (backup / "540.tail1").exists()

    # A running engine's bat/BBP.dir may be half written by a commit: not judged by it.
    backup = _database(tmp_path / "committing", WIDTH_TWO, ["540.tail1"], committed_in=".")
    assert remove_stale_backups(str(tmp_path / "committing"), engine_open=True) == []
    assert remove_stale_backups(str(tmp_path / "committing")) == ["540.tail1"]
