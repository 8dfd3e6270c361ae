"""Issue 20: steering a running training (API, CLI, run page) and runs whose process died (LOST).

One service (named token, read-only token, LOST after 20 s) and five real training processes
(tests/steering_trainer.py, each a fresh interpreter fitting a tiny model slowed to ~0.2 s per
epoch), all started at once so that their TensorFlow imports overlap.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from prov.model import ProvDocument
from service_process import ServiceProcess
from web_browser import WatchedPage, browser  # noqa: F401 - the module's Chromium

TOKEN = "alice:s3cret"
READ_TOKEN = "viewer-only"
LOST_AFTER = 20  # well above the hold (5 s) and write interval (3.3 s): a starved trainer still counts as alive
TESTS = os.path.dirname(os.path.abspath(__file__))
EPOCHS = 100_000  # more than any test lets run: each stops or kills its trainer
SECONDS_PER_EPOCH = 0.2
TRAINERS = {"api": "plain", "lost": "plain", "schedule": "schedule", "plateau": "plateau", "page": "plain"}
FULL = {"Authorization": f"Bearer {TOKEN}"}
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    service = ServiceProcess(tmp_path_factory.mktemp("steering") / "dfa-data", token=TOKEN,
                             extra_args=["--read-token", READ_TOKEN, "--lost-after", str(LOST_AFTER)]).start()
    yield service
    service.stop()


class Trainer:
    def __init__(self, service, name, variant, spool):
        self.execution = f"steer-{name}"
        environment = dict(os.environ, DFA_URL=service.url, DFA_TOKEN=TOKEN, DFA_SPOOL_DIR=str(spool),
                           TF_CPP_MIN_LOG_LEVEL="2")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(TESTS, "steering_trainer.py"), "steering", self.execution, str(EPOCHS),
             str(SECONDS_PER_EPOCH), variant], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)

    def result(self, timeout=300):
        """The trainer's JSON line once it has ended."""
        out, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, err[-3000:]
        return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trainers(service, tmp_path_factory):
    started = {name: Trainer(service, name, variant, tmp_path_factory.mktemp(f"spool-{name}"))
               for name, variant in TRAINERS.items()}
    yield started
    for trainer in started.values():
        if trainer.process.poll() is None:
            trainer.process.kill()
            trainer.process.wait(30)


def api(service, method, path, headers=FULL, **kwargs):
    return requests.request(method, service.url + path, headers=headers, timeout=60, **kwargs)


def steering_log(service, execution):
    answer = api(service, "GET", f"/api/v1/executions/{execution}/steering", params={"dataflow": "steering"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout} s: {what}")


def listening(service, trainer):
    return wait_for(lambda: api(service, "GET", f"/api/v1/executions/{trainer.execution}/steering").status_code == 200
                    and steering_log(service, trainer.execution)["listening"], 400,
                    f"{trainer.execution} listens for steering")


def steer(service, trainer, body, headers=FULL):
    return api(service, "POST", f"/api/v1/executions/{trainer.execution}/steering", headers=headers, json=body,
               params={"dataflow": "steering"})


def outcome(service, trainer, action_id):
    def done():
        found = [a for a in steering_log(service, trainer.execution)["actions"] if a["id"] == action_id]
        return found[0] if found and found[0]["state"] in ("applied", "refused") else None
    return wait_for(done, 120, f"the outcome of steering action {action_id}")


def query(service, sql):
    answer = api(service, "POST", "/api/v1/query", json={"sql": sql, "limit": 10000})
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


def cli(service, *arguments, url=None):
    environment = dict(os.environ, DFA_URL=url or service.url, DFA_TOKEN=TOKEN)
    return subprocess.run([sys.executable, "-m", "dfanalyzer", *arguments], env=environment, capture_output=True,
                          text=True, timeout=120)


def test_steered_from_the_api_the_rate_changes_the_run_stops_and_both_are_provenance(service, trainers):
    trainer = trainers["api"]
    listening(service, trainer)
    # the token names alice: the name the request gives does not count
    asked = steer(service, trainer, {"action": "set_learning_rate", "value": 0.0123, "note": "too slow",
                                     "actor": "mallory"})
    assert asked.status_code == 202, asked.text
    assert asked.json()["actor"] == "alice" and asked.json()["state"] == "requested"
    rate = outcome(service, trainer, asked.json()["id"])
    assert rate["state"] == "applied" and abs(rate["new_value"] - 0.0123) < 1e-6, rate
    # the CLI stops it, with a note, and waits for the process to say it did
    stopped = cli(service, "steer", trainer.execution, "stop", "--note", "it will not get better",
                  "--dataflow", "steering", "--wait", "120")
    assert stopped.returncode == 0, stopped.stderr
    assert "applied at epoch" in stopped.stdout, stopped.stdout
    result = trainer.result()
    assert result["epochs"] < EPOCHS
    assert abs(result["learning_rate"] - 0.0123) < 1e-6

    epoch = rate["applied_epoch"]
    rates = dict(query(service, f"SELECT epoch, learning_rate FROM steering.otrainingmodel s JOIN task t "
                                f"ON s.trainingmodel_task_id = t.id JOIN dataflow_execution e ON t.exec_id = e.id "
                                f"WHERE e.tag = '{trainer.execution}' AND epoch IN ({epoch - 1}, {epoch})"))
    assert abs(rates[epoch] - 0.0123) < 1e-6 and abs(rates[epoch - 1] - 0.05) < 1e-6, rates
    adaptations = query(service, "SELECT a.epoch, a.cause, a.new_learning_rate, t.output_msg FROM steering.oadaptation a "
                                 "JOIN task t ON a.adaptation_task_id = t.id JOIN dataflow_execution e ON t.exec_id = e.id "
                                 f"WHERE e.tag = '{trainer.execution}'")
    assert [row[:2] for row in adaptations] == [[epoch, "user"]], adaptations
    assert "alice" in adaptations[0][3] and "too slow" in adaptations[0][3]
    tasks = dict(query(service, "SELECT dt.tag, t.status FROM task t JOIN data_transformation dt ON t.dt_id = dt.id "
                                f"JOIN dataflow_execution e ON t.exec_id = e.id WHERE e.tag = '{trainer.execution}'"))
    assert tasks == {"trainingmodel": "STOPPED", "adaptation": "FINISHED", "testingmodel": "FINISHED"}, tasks
    assert query(service, "SELECT COUNT(*) FROM model_file m JOIN dataflow_execution e ON m.exec_id = e.id "
                          f"WHERE e.tag = '{trainer.execution}'")[0][0] >= 1
    log = steering_log(service, trainer.execution)
    assert log["status"] == "STOPPED" and not log["listening"]
    stop = log["actions"][-1]
    assert (stop["action"], stop["state"], stop["actor"], stop["note"]) == ("stop", "applied", "alice",
                                                                            "it will not get better")
    assert api(service, "GET", f"/api/v1/executions/{trainer.execution}").json()["status"] == "STOPPED"
    runs = cli(service, "runs", "--dataflow", "steering")
    assert any(trainer.execution in line and "STOPPED" in line for line in runs.stdout.splitlines()), runs.stdout

    refused = steer(service, trainer, {"action": "stop"})
    assert refused.status_code == 409 and "STOPPED" in refused.json()["detail"], refused.text

    document = api(service, "GET", f"/api/v1/executions/{trainer.execution}/prov",
                   params={"format": "json", "dataflow": "steering"})
    assert document.status_code == 200, document.text
    prov = ProvDocument.deserialize(content=document.text, format="json")
    provn = prov.get_provn()
    assert "kprov:SteeringAction" in provn and 'prov:label="set_learning_rate by alice"' in provn
    assert "wasAssociatedWith(kprov:steering/steering/steer-api/" in provn
    assert "agent(kprov:agent/steering/steer-api/person/alice" in provn
    informed = [line.strip() for line in provn.splitlines() if line.strip().startswith("wasInformedBy(")]
    assert any(line.startswith("wasInformedBy(kprov:task/steering/steer-api/adaptation/")
               and "kprov:steering/steering/steer-api/" in line for line in informed), informed
    assert any(line.startswith("wasInformedBy(kprov:task/steering/steer-api/trainingmodel/")
               and "kprov:steering/steering/steer-api/" in line for line in informed), informed


def test_a_killed_trainer_becomes_lost_and_comes_back_when_heard_again(service, trainers):
    trainer = trainers["lost"]
    listening(service, trainer)
    trainer.process.send_signal(signal.SIGKILL)
    trainer.process.wait(30)
    killed = time.monotonic()
    run = wait_for(lambda: (lambda r: r if r["status"] == "LOST" else None)(
        api(service, "GET", f"/api/v1/executions/{trainer.execution}").json()), 60, "the run shows LOST")
    print(f"LOST {time.monotonic() - killed:.1f} s after SIGKILL (threshold {LOST_AFTER} s)")
    assert run["last_heard"]
    runs = cli(service, "runs", "--dataflow", "steering")
    assert any(trainer.execution in line and "LOST (last heard" in line for line in runs.stdout.splitlines()), runs.stdout
    table = api(service, "GET", "/api/v1/runs/table", params={"dataflow": "steering", "limit": 100})
    assert table.status_code == 200, table.text
    assert {row["execution"]: row["status"] for row in table.json()["rows"]}[trainer.execution] == "LOST"
    provn = api(service, "GET", f"/api/v1/executions/{trainer.execution}/prov",
                params={"format": "provn", "dataflow": "steering"}).text
    assert 'kprov:status="LOST"' in provn and "kprov:lastHeard" in provn
    refused = steer(service, trainer, {"action": "stop"})
    assert refused.status_code == 409 and "LOST" in refused.json()["detail"], refused.text
    # the process was only cut off: it asks again, and the run is RUNNING again
    asked = api(service, "GET", f"/api/v1/executions/{trainer.execution}/steering/next",
                params={"dataflow": "steering"})
    assert asked.status_code == 200 and asked.json()["actions"] == []
    wait_for(lambda: api(service, "GET", f"/api/v1/executions/{trainer.execution}").json()["status"] == "RUNNING",
             30, "the run is RUNNING again")


def test_schedules_refuse_rates_and_plateau_reduces_from_the_rate_set(service, trainers):
    scheduled, plateau = trainers["schedule"], trainers["plateau"]
    listening(service, scheduled)
    refused = steer(service, scheduled, {"action": "set_learning_rate", "value": 0.01})
    assert refused.status_code == 409 and "ExponentialDecay" in refused.json()["detail"], refused.text
    assert steer(service, scheduled, {"action": "stop_now", "note": "schedule test done"}).status_code == 202
    listening(service, plateau)
    asked = steer(service, plateau, {"action": "set_learning_rate", "value": 0.02})
    assert asked.status_code == 202, asked.text
    applied = outcome(service, plateau, asked.json()["id"])
    wait_for(lambda: query(service, "SELECT COUNT(*) FROM steering.otrainingmodel s JOIN task t "
                                    "ON s.trainingmodel_task_id = t.id JOIN dataflow_execution e ON t.exec_id = e.id "
                                    f"WHERE e.tag = '{plateau.execution}' AND epoch = {applied['applied_epoch'] + 1}")
             [0][0], 120, "the epoch after the change is stored")
    assert steer(service, plateau, {"action": "stop"}).status_code == 202
    assert scheduled.result()["epochs"] < EPOCHS and plateau.result()["epochs"] < EPOCHS
    epoch = applied["applied_epoch"]
    rates = dict(query(service, "SELECT epoch, learning_rate FROM steering.otrainingmodel s JOIN task t "
                                "ON s.trainingmodel_task_id = t.id JOIN dataflow_execution e ON t.exec_id = e.id "
                                f"WHERE e.tag = '{plateau.execution}' AND epoch IN ({epoch}, {epoch + 1})"))
    # the set rate trains the next epoch; ReduceLROnPlateau then halves it, from the rate set
    assert abs(rates[epoch] - 0.02) < 1e-6 and abs(rates[epoch + 1] - 0.01) < 1e-6, rates
    causes = query(service, "SELECT a.epoch, a.cause FROM steering.oadaptation a JOIN task t "
                            "ON a.adaptation_task_id = t.id JOIN dataflow_execution e ON t.exec_id = e.id "
                            f"WHERE e.tag = '{plateau.execution}' AND a.epoch IN ({epoch}, {epoch + 1}) ORDER BY a.epoch")
    assert causes == [[epoch, "user"], [epoch + 1, "ReduceLROnPlateau"]], causes
    assert api(service, "GET", f"/api/v1/executions/{scheduled.execution}").json()["status"] == "STOPPED"


def test_tokens_guard_steering_and_the_read_token_only_reads(service, trainers):
    execution = trainers["api"].execution
    path = f"/api/v1/executions/{execution}/steering"
    assert api(service, "POST", path, headers={}, json={"action": "stop"}).status_code == 401
    assert api(service, "GET", path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert api(service, "GET", "/api/v1/executions", headers=READ).status_code == 200
    assert api(service, "GET", f"/runs/{execution}", headers=READ).status_code == 200
    assert api(service, "POST", "/api/v1/query", headers=READ, json={"sql": "SELECT 1"}).status_code == 200
    refused = api(service, "POST", path, headers=READ, json={"action": "stop"})
    assert refused.status_code == 403 and "--token" in refused.json()["detail"], refused.text
    assert api(service, "GET", f"{path}/next", headers=READ).status_code == 403
    assert api(service, "POST", "/pde/task/json", headers=READ, json={}).status_code == 403
    assert api(service, "GET", path, headers=READ).json()["can_steer"] is False
    assert api(service, "GET", path).json()["can_steer"] is True
    bad = api(service, "POST", path, json={"action": "set_learning_rate", "value": -1})
    assert bad.status_code == 422 and "positive" in bad.json()["detail"]
    unknown = api(service, "POST", path, json={"action": "pause"})
    assert unknown.status_code == 422 and "stop_now" in unknown.json()["detail"]
    embedded = cli(service, "steer", execution, "stop", url="embedded:/tmp/nowhere")
    assert embedded.returncode != 0 and "cannot be steered" in embedded.stderr, embedded.stderr


def test_the_run_page_steers_marks_the_chart_and_lists_the_log(service, trainers, browser):  # noqa: F811
    trainer = trainers["page"]
    listening(service, trainer)
    watched = WatchedPage(browser, service.url)
    page = watched.goto(f"/runs/{trainer.execution}?dataflow=steering&token={TOKEN}")
    page.wait_for_selector("#steering-controls:not([hidden])")
    page.fill("#steering-rate", "0.0077")
    page.fill("#steering-note", "from the browser")
    page.click("#steer-rate")
    page.wait_for_function("document.querySelector('#steering-log').textContent.includes('applied')", timeout=120_000)
    assert "from the browser" in page.inner_text("#steering-log")
    marks = page.wait_for_function("""() => {
        const chart = echarts.getInstanceByDom(document.querySelector('#charts .chart'));
        const data = chart && chart.getOption().series[0].markLine?.data || [];
        const found = data.filter(mark => String(mark.name || '').startsWith('steering-'));
        return found.length ? found.map(mark => mark.label.formatter) : null;
    }""", timeout=30_000).json_value()
    assert any("alice" in mark and "0.0077" in mark for mark in marks), marks
    watched.screenshot("run-steering.png")
    page.click("#steer-stop")
    page.wait_for_function("document.querySelector('#run-status').textContent === 'STOPPED'", timeout=180_000)
    assert page.is_hidden("#steering-controls")
    assert trainer.result()["epochs"] < EPOCHS
    assert watched.problems == []
    watched.close()
    # a viewer with the read-only token sees the log but no controls
    viewer = WatchedPage(browser, service.url)
    page = viewer.goto(f"/runs/{trainers['api'].execution}?dataflow=steering&token={READ_TOKEN}")
    page.wait_for_selector("#steering:not([hidden])")
    page.wait_for_function("document.querySelector('#steering-log').textContent.includes('alice')")
    assert page.is_hidden("#steering-controls")
    viewer.close()
