"""runs/status.py: the one place that says what state a run is in."""
import datetime

from dfanalyzer.runs import status


def test_a_run_ends_as_its_tasks_say_and_a_silent_listener_makes_it_lost(monkeypatch):
    now = datetime.datetime(2026, 1, 1, 12, 0, 0)
    assert status.from_task_statuses(["FINISHED", "FINISHED"]) == "FINISHED"
    assert status.from_task_statuses(["STOPPED", "FINISHED"]) == "STOPPED"  # stopped fit, then evaluate
    assert status.from_task_statuses(["STOPPED", "FAILED"]) == "FAILED"
    assert status.from_task_statuses(["FINISHED", "ABORTED"]) == "ABORTED"  # Ctrl-C: its user ended it
    assert status.from_task_statuses(["ABORTED", "FAILED"]) == "FAILED"
    assert status.from_task_statuses(["STOPPED", "ABORTED"]) == "ABORTED"
    assert status.from_task_statuses(["RUNNING", "FINISHED"]) == "RUNNING"  # never listened: nothing to judge by
    monkeypatch.setenv("DFA_LOST_AFTER", "30")
    heard = now - datetime.timedelta(seconds=29)
    assert status.from_task_statuses(["RUNNING"], heard, now) == "RUNNING"
    assert status.from_task_statuses(["RUNNING"], now - datetime.timedelta(seconds=31), now) == "LOST"
    assert status.from_task_statuses(["FINISHED"], now - datetime.timedelta(days=1), now) == "FINISHED"
    assert status.from_counts([None, None, None]) == "FINISHED"
    monkeypatch.setenv("DFA_LOST_AFTER", "soon")
    assert status.lost_after() == status.DEFAULT_LOST_AFTER == 60
    assert set(status.RUN_STATUSES) >= {"RUNNING", "LOST", "FINISHED", "FAILED", "STOPPED"}
