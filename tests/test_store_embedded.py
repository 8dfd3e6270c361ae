"""Embedded MonetDB store: every answer right, from any number of threads."""
import random
import threading
import time

import pytest

from dfanalyzer.errors import QueryCancelled, QueryRejected
from dfanalyzer.ingest import Ingestor
from dfanalyzer.store import heap_lock as heap_lock_module
from dfanalyzer.store import session as session_module
from dfanalyzer.store.embedded import EmbeddedStore


@pytest.fixture
def store(tmp_path):
    opened = EmbeddedStore(str(tmp_path / "monetdb"))
    with opened.write() as tx:
        tx.execute("CREATE TABLE t (k BIGINT, i BIGINT, v DOUBLE, s VARCHAR(40))")
    yield opened
    opened.close()


def test_a_limited_read_is_never_empty(store):
    # The reproduction: every 62nd call or so came back empty.
    with store.write() as tx:
        tx.execute("INSERT INTO t (k, i, v) VALUES (1, 1, 2.5)")
    answers = [store.read("SELECT v FROM t WHERE k = 1", limit=1)[1] for _ in range(500)]
    assert answers == [[(2.5,)]] * 500
    answers = [store.read("SELECT v FROM t WHERE k = ?", [1], limit=1, isolated=True)[1] for _ in range(200)]
    assert answers == [[(2.5,)]] * 200


def test_mixed_reads_and_writes_from_threads_all_match_the_truth(store, monkeypatch):
    """Each thread writes its own rows and reads them back in every way a caller can; any
    answer that differs from what the thread knows it wrote is recorded. Connections are
    replaced often meanwhile, as they are after thousands of statements in a long-running service."""
    monkeypatch.setattr(session_module, "RECYCLE_AFTER_STATEMENTS", 150)
    wrong, errors = [], []

    def worker(k):
        rng = random.Random(k)
        truth = {}
        try:
            for step in range(150):
                i, v, s = step, rng.choice([None, rng.random()]), rng.choice([None, f"text {k}-{step}"])
                with store.write() as tx:
                    if step % 2:
                        tx.append("sys", "t", {"k": [k], "i": [i], "v": [v], "s": [s]},
                                  {"k": "bigint", "i": "bigint", "v": "double", "s": "text"})
                    else:
                        tx.execute("INSERT INTO t (k, i, v, s) VALUES (?, ?, ?, ?)", [k, i, v, s])
                truth[i] = (v, s)
                checks = [
                    (store.read("SELECT v, s FROM t WHERE k = ? AND i = ?", [k, i], limit=1)[1], [(v, s)]),
                    (store.read("SELECT COUNT(*) FROM t WHERE k = ?", [k])[1], [(len(truth),)]),
                    (store.read("SELECT COUNT(*) FROM t WHERE k = ? AND v IS NULL", [k], isolated=True)[1],
                     [(sum(1 for value, _ in truth.values() if value is None),)]),
                    (store.read("SELECT i FROM t WHERE k = ? ORDER BY i", [k], limit=3)[1],
                     [(n,) for n in sorted(truth)[:3]]),
                ]
                wrong.extend((k, step, got, want) for got, want in checks if got != want)
        except Exception as error:  # a crash of any kind is a failure too
            errors.append(repr(error))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and wrong == []
    assert store.read("SELECT COUNT(*) FROM t")[1] == [(600,)]
    sessions = [store._writer, *store._service_readers.sessions, *store._query_readers.sessions]
    assert all(session.recycled for session in sessions)


def test_nulls_appended_to_an_added_column_are_found_by_is_null(store):
    with store.write() as tx:
        tx.execute("ALTER TABLE t ADD COLUMN later_id BIGINT")
        tx.append("sys", "t", {"k": [7], "i": [1], "v": [None], "s": ["x"], "later_id": [None]},
                  {"k": "bigint", "i": "bigint", "v": "double", "s": "text", "later_id": "bigint"})
    assert store.read("SELECT COUNT(*) FROM t WHERE later_id IS NULL AND v IS NULL")[1] == [(1,)]


def test_values_come_back_as_python_values(store):
    _, rows = store.read("SELECT 1.5, CAST(2.25 AS DECIMAL(10,2)), true, CAST(NULL AS BIGINT), 'é'")
    assert rows == [(1.5, 2.25, True, None, "é")]
    with pytest.raises(QueryRejected, match="HUGEINT"):
        store.read("SELECT SUM(x) FROM (VALUES (1), (2)) AS v(x)")


def test_a_store_reopens_with_its_data(tmp_path):
    first = EmbeddedStore(str(tmp_path / "db"))
    with first.write() as tx:
        tx.execute("CREATE TABLE kept (x BIGINT)")
        tx.execute("INSERT INTO kept VALUES (?)", [41])
    assert first.close() is True
    second = EmbeddedStore(str(tmp_path / "db"))
    assert second.read("SELECT x FROM kept")[1] == [(41,)]
    second.close()


CHAIN = {"tag": "chain3", "transformations": [
    {"tag": "load", "sets": [{"tag": "iload", "type": "INPUT", "attributes": [{"name": "path", "type": "TEXT"}]},
                             {"tag": "oload", "type": "OUTPUT", "attributes": [{"name": "n", "type": "NUMERIC"}]}]},
    {"tag": "train", "sets": [{"tag": "oload", "type": "INPUT", "dependency": "load", "attributes": []},
                              {"tag": "otrain", "type": "OUTPUT", "attributes": [{"name": "epoch", "type": "NUMERIC"}]}]},
    {"tag": "test", "sets": [{"tag": "otrain", "type": "INPUT", "dependency": "train", "attributes": []},
                             {"tag": "otest", "type": "OUTPUT", "attributes": [{"name": "acc", "type": "NUMERIC"}]}]}]}


def _task(task_id, transformation, status, sets=(), dependency=None):
    message = {"id": task_id, "dataflow": "chain3", "transformation": transformation, "status": status,
               "exec": "e", "sets": [{"tag": tag, "elements": elements} for tag, elements in sets]}
    if dependency:
        message["dependency"] = {"tags": [{"tag": dependency[0]}], "ids": [{"id": dependency[1]}]}
    return message


@pytest.mark.parametrize("train_declares_at", ["begin", "end"])
def test_every_consumer_column_is_filled_along_a_chain(tmp_path, train_declares_at):
    """load -> train -> test: train's column on the rows load produced, test's on train's."""
    store = EmbeddedStore(str(tmp_path / "db"))
    try:
        ingestor = Ingestor(store)
        ingestor.ingest_dataflow(CHAIN)
        ingestor.ingest_task(_task(1, "load", "RUNNING", [("iload", [["x.csv"]])]))
        ingestor.ingest_task(_task(1, "load", "FINISHED", [("iload", [["x.csv"]]), ("oload", [[100], [200]])]))
        ingestor.ingest_task(_task(1, "train", "RUNNING", dependency=("load", 1) if train_declares_at == "begin" else None))
        ingestor.ingest_task(_task(1, "train", "FINISHED", [("otrain", [[1], [2]])], dependency=("load", 1)))
        ingestor.ingest_task(_task(1, "test", "FINISHED", [("otest", [[0.9]])], dependency=("train", 1)))
        ids = dict(store.read("SELECT d.tag, t.id FROM task t JOIN data_transformation d ON t.dt_id = d.id")[1])
        assert store.read("SELECT load_task_id, train_task_id FROM chain3.oload ORDER BY id")[1] == [
            (ids["load"], ids["train"])] * 2
        assert store.read("SELECT train_task_id, test_task_id FROM chain3.otrain ORDER BY id")[1] == [
            (ids["train"], ids["test"])] * 2
    finally:
        store.close()


SLOW_QUERY = "SELECT " + " + ".join(  # many engine steps of a fraction of a second each
    f"(SELECT COUNT(*) FROM sys.columns a, sys.columns b, sys.schemas c "
    f"WHERE LENGTH(a.name || b.name || c.name || '{n}') > 10)" for n in range(60))


def test_a_write_does_not_wait_for_a_slow_user_query_which_stops_when_cancelled(tmp_path):
    store = EmbeddedStore(str(tmp_path / "monetdb"), query_timeout=600)
    try:
        with store.write() as tx:
            tx.execute("CREATE TABLE t (k BIGINT)")
        scope = store.user_query_scope()
        outcome = []

        def slow_query():
            try:
                with scope:
                    outcome.append(store.read(SLOW_QUERY, isolated=True))
            except QueryCancelled as error:
                outcome.append(error)

        query = threading.Thread(target=slow_query)
        query.start()
        while not store.longest_query_seconds():
            time.sleep(0.05)
        time.sleep(0.5)  # the query is inside the engine now
        for k in range(3):  # each write waits for the query only until it is preempted
            with store.write() as tx:
                tx.execute("INSERT INTO t (k) VALUES (?)", [k])
            assert query.is_alive(), "the write waited until the slow query ended"
        assert store.read("SELECT COUNT(*) FROM t")[1] == [(3,)]
        scope.cancel()
        query.join(60)
        assert not query.is_alive() and isinstance(outcome[0], QueryCancelled)
        assert store.read("SELECT 7", isolated=True)[1] == [(7,)]  # its reader serves the next query
    finally:
        store.close()


def test_a_preempted_query_runs_again_and_answers_right(tmp_path, monkeypatch):
    monkeypatch.setattr(heap_lock_module, "PREEMPT_AFTER_SECONDS", 0.01)
    store = EmbeddedStore(str(tmp_path / "monetdb"), query_timeout=600)
    try:
        with store.write() as tx:
            tx.execute("CREATE TABLE t (k BIGINT)")
        stop = threading.Event()

        def keep_writing():
            k = 0
            while not stop.is_set():
                with store.write() as tx:
                    tx.execute("INSERT INTO t (k) VALUES (?)", [k])
                k += 1

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            query = "SELECT COUNT(*) FROM sys.columns a, sys.columns b WHERE LENGTH(a.name || b.name) > 3"
            answers = {store.read(query, isolated=True)[1][0][0] for _ in range(5)}
        finally:
            stop.set()
            writer.join()
        assert answers == {store.read(query)[1][0][0]}
    finally:
        store.close()
