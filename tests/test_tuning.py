"""Tuner searches recorded as searches: real KerasTuner and Optuna scripts, unchanged but for what
turns recording on (KERAS_PROV_AUTOLOG, or provenance= passed through the tuner to fit), each in a
fresh interpreter, all started at once against one service."""
import itertools
import json
import os

import pytest
import requests

import tuning_scripts
from web_browser import WatchedPage, browser  # noqa: F401 (fixture)


_tags = itertools.count(1)


def unique_tag(prefix):
    """A dataflow tag of its own (this module imports no Keras: the scripts run in fresh interpreters)."""
    return f"{prefix}_{os.getpid()}_{next(_tags)}"


@pytest.fixture(scope="module")
def runs(shared_dfa_service, tmp_path_factory):
    """Every script of this module, started together; {name: (dataflow tag, RunningScript)}."""
    scripts = {"kt_hook": tuning_scripts.KERAS_TUNER_HOOK, "flags": tuning_scripts.TUNERS_FLAGS,
               "optuna_hook": tuning_scripts.OPTUNA_HOOK}
    started = {}
    for name, script in scripts.items():
        tag = unique_tag(name)
        workdir = tmp_path_factory.mktemp(name)
        env = {"DFA_URL": shared_dfa_service.url, "DFA_SPOOL_DIR": str(workdir / "spool"), "TAG": tag}
        if name.endswith("_hook"):
            env["KERAS_PROV_AUTOLOG"] = tag
        started[name] = (tag, tuning_scripts.start(script, workdir, env))
    yield started
    for _, script in started.values():
        if script.process.poll() is None:
            script.process.kill()


def report(runs, name):
    tag, script = runs[name]
    result, _ = script.finish()
    assert result["flushed"] is True
    return tag, result


def rows(service, sql):
    found = []
    response = requests.post(service.url + "/api/v1/query", json={"sql": sql, "limit": 100000}, timeout=30)
    assert response.ok, response.text
    body = response.json()
    columns = body["columns"]
    for row in body["rows"]:
        found.append(dict(zip(columns, row)))
    return found


def latest(service, tag, set_name, key):
    """The last row of each `key` in a set written again on each change (oSearch, oTrial)."""
    return {row[key]: row for row in rows(service, f"SELECT * FROM {tag}.{set_name} ORDER BY id")}


def trial_runs(service, tag):
    """{exec tag: iTrainingModel row joined to its execution}, and the epochs of each run."""
    hyperparameters = rows(service, f"SELECT e.tag AS run, h.* FROM {tag}.itrainingmodel h "
                                    "JOIN task t ON h.trainingmodel_task_id = t.id "
                                    "JOIN dataflow_execution e ON t.exec_id = e.id")
    epochs = rows(service, f"SELECT e.tag AS run, o.epoch FROM {tag}.otrainingmodel o "
                           "JOIN task t ON o.trainingmodel_task_id = t.id "
                           "JOIN dataflow_execution e ON t.exec_id = e.id ORDER BY o.id")
    by_run = {row["run"]: row for row in hyperparameters}
    for row in epochs:
        by_run[row["run"]].setdefault("epoch_numbers", []).append(int(row["epoch"]))
    return by_run


def test_keras_tuner_random_search_through_the_hook(shared_dfa_service, runs):
    tag, result = report(runs, "kt_hook")
    searches = latest(shared_dfa_service, tag, "osearch", "search_id")
    random = next(s for s in searches.values() if s["tuner"] == "RandomSearch")
    assert random["library"] == "keras_tuner" and random["library_version"] == "1.4.8"
    assert (random["objective"], random["direction"], random["max_trials"]) == ("val_accuracy", "max", 3)
    assert random["status"] == "FINISHED" and random["ended"] and random["trials"] == 3
    space = {entry["name"]: entry for entry in json.loads(random["search_space"])}
    assert space["units"]["type"] == "Int" and (space["units"]["min_value"], space["units"]["max_value"],
                                                space["units"]["step"]) == (4, 16, 4)
    assert space["learning_rate"]["sampling"] == "log"

    trials = {t["tuner_trial_id"]: t for t in latest(shared_dfa_service, tag, "otrial", "trial_id").values()
              if t["search_id"] == random["search_id"]}
    assert set(trials) == set(result["random"])
    best_score = max(t["score"] for t in result["random"].values())
    assert random["best_trial"] == f"{random['search_id']}-t{result['best_trial']}"
    assert abs(random["best_score"] - best_score) < 1e-9
    runs_by_tag = trial_runs(shared_dfa_service, tag)
    for trial_id, tuned in result["random"].items():
        trial = trials[trial_id]
        assert trial["trial_id"] == f"{random['search_id']}-t{trial_id}"
        assert trial["status"] == tuned["status"] == "COMPLETED"
        assert abs(trial["score"] - tuned["score"]) < 1e-9
        assert json.loads(trial["hyperparameters"]) == tuned["values"]
        (run,) = trial["runs"].split(",")
        assert run == f"{trial['trial_id']}-e1"
        # The tuned values are hyperparameter columns of the trial's run.
        hyperparameters = runs_by_tag[run]
        assert hyperparameters["units"] == tuned["values"]["units"]
        assert abs(hyperparameters["tuned_learning_rate"] - tuned["values"]["learning_rate"]) < 1e-12
        assert abs(hyperparameters["learning_rate"] - tuned["values"]["learning_rate"]) < 1e-6
        assert (hyperparameters["search_id"], hyperparameters["trial_id"], hyperparameters["trial_execution"]) == (
            random["search_id"], trial["trial_id"], 1)
        assert hyperparameters["epoch_numbers"] == [1, 2]

    # get_best_models(1)[0].evaluate(...) is a test of the best trial's run, not a run of its own.
    tests = rows(shared_dfa_service, f"SELECT e.tag AS run FROM {tag}.otestingmodel s JOIN task t "
                                     "ON s.testingmodel_task_id = t.id JOIN dataflow_execution e ON t.exec_id = e.id")
    assert [test["run"] for test in tests] == [f"{random['best_trial']}-e1"]
    executions = [row["tag"] for row in rows(shared_dfa_service, "SELECT e.tag FROM dataflow_execution e JOIN dataflow d "
                                                                 f"ON e.df_id = d.id WHERE d.tag = '{tag}'")]
    assert sorted(executions) == sorted(list(searches) + list(runs_by_tag))


def test_keras_tuner_hyperband_executions_and_continuations(shared_dfa_service, runs):
    tag, result = report(runs, "kt_hook")
    searches = latest(shared_dfa_service, tag, "osearch", "search_id")
    band = next(s for s in searches.values() if s["tuner"] == "Hyperband")
    assert band["oracle"].startswith("HyperbandOracle(max_epochs=4, factor=4")
    assert band["executions_per_trial"] == 2 and band["status"] == "FINISHED"
    trials = {t["tuner_trial_id"]: t for t in latest(shared_dfa_service, tag, "otrial", "trial_id").values()
              if t["search_id"] == band["search_id"]}
    assert set(trials) == set(result["band"]) and len(trials) >= 4
    runs_by_tag = trial_runs(shared_dfa_service, tag)
    continued = 0
    for trial_id, tuned in result["band"].items():
        trial, values = trials[trial_id], tuned["values"]
        assert trial["status"] == tuned["status"]
        assert (trial["epochs"], trial["initial_epoch"], trial["bracket"], trial["round"]) == (
            values["tuner/epochs"], values["tuner/initial_epoch"], values["tuner/bracket"], values["tuner/round"])
        if "tuner/trial_id" in values:
            continued += 1
            assert trial["continues_trial"] == f"{band['search_id']}-t{values['tuner/trial_id']}"
            assert trial["continues_trial"] in {t["trial_id"] for t in trials.values()}
        else:
            assert trial["continues_trial"] is None
        # Each execution is a run of its own with all its epochs, numbered as Keras counts them.
        executions = trial["runs"].split(",")
        assert executions == [f"{trial['trial_id']}-e1", f"{trial['trial_id']}-e2"]
        for number, run in enumerate(executions, 1):
            assert runs_by_tag[run]["trial_execution"] == number
            assert runs_by_tag[run]["tuner_epochs"] == values["tuner/epochs"]
            assert runs_by_tag[run]["epoch_numbers"] == list(range(values["tuner/initial_epoch"] + 1,
                                                                   values["tuner/epochs"] + 1))
    assert continued >= 1

    # The search's JSON endpoint and its PROV document: continuations are derivations of models.
    detail = requests.get(f"{shared_dfa_service.url}/api/v1/searches/{band['search_id']}", timeout=30).json()
    assert [t["trial_id"] for t in detail["trials"]] == sorted(t["trial_id"] for t in trials.values())
    assert all(len(t["runs"]) == 2 and all(r["status"] == "FINISHED" for r in t["runs"]) for t in detail["trials"])
    assert detail["tuned_columns"] == ["hp:units", "hp:tuned_learning_rate"]
    assert {run["execution"] for run in detail["runs"]} == {r for t in trials.values() for r in t["runs"].split(",")}
    assert detail["best_so_far"][-1]["best"] == max(t["score"] for t in trials.values())
    provn = requests.get(f"{shared_dfa_service.url}/api/v1/searches/{band['search_id']}/prov", timeout=30).text
    assert f"activity(kprov:search/{band['search_id']}" in provn and "prov:SoftwareAgent" in provn
    for trial in trials.values():
        assert f"wasInformedBy(kprov:trial/{trial['trial_id']}, kprov:search/{band['search_id']})" in provn
        if trial["continues_trial"]:
            assert (f"wasDerivedFrom(kprov:trial_model/{trial['trial_id']}, "
                    f"kprov:trial_model/{trial['continues_trial']}") in provn
    assert requests.get(f"{shared_dfa_service.url}/api/v1/searches/nope", timeout=30).status_code == 404
    paths = requests.get(f"{shared_dfa_service.url}/openapi.json", timeout=30).json()["paths"]
    assert {"/api/v1/searches", "/api/v1/searches/{search_id}", "/api/v1/searches/{search_id}/prov"} <= set(paths)
    # Trial ids are unique across the two searches of this dataflow.
    all_trials = rows(shared_dfa_service, f"SELECT DISTINCT trial_id, search_id FROM {tag}.otrial")
    assert len({row["trial_id"] for row in all_trials}) == len(all_trials) >= len(trials) + 3


def test_keras_tuner_grid_search_and_bayesian_optimization_through_flags_on_search(shared_dfa_service, runs):
    tag, result = report(runs, "flags")
    assert result["nothing_loaded_before_search"] is True
    searches = latest(shared_dfa_service, tag, "osearch", "search_id").values()
    search = next(s for s in searches if s["tuner"] == "GridSearch")
    assert (search["tuner"], search["objective"], search["direction"], search["status"]) == (
        "GridSearch", "val_loss", "min", "FINISHED")
    trials = {t["tuner_trial_id"]: t for t in latest(shared_dfa_service, tag, "otrial", "trial_id").values()
              if t["search_id"] == search["search_id"]}
    assert set(trials) == set(result["trials"]) and len(trials) == 2
    runs_by_tag = trial_runs(shared_dfa_service, tag)
    for trial_id, tuned in result["trials"].items():
        run = runs_by_tag[trials[trial_id]["runs"]]
        assert (run["dropout"], run["optimizer"]) == (tuned["values"]["dropout"], tuned["values"]["optimizer"])
        assert run["optimizer_name"].lower() == tuned["values"]["optimizer"]
    # BayesianOptimization, through the same flag.
    bayes = next(s for s in searches if s["tuner"] == "BayesianOptimization")
    assert bayes["oracle"].startswith("BayesianOptimizationOracle(") and bayes["status"] == "FINISHED"
    trials = {t["tuner_trial_id"]: t for t in latest(shared_dfa_service, tag, "otrial", "trial_id").values()
              if t["search_id"] == bayes["search_id"]}
    assert set(trials) == set(result["bayes"]) and len(trials) == 2
    for trial_id, tuned in result["bayes"].items():
        assert json.loads(trials[trial_id]["hyperparameters"]) == tuned["values"]
        assert trials[trial_id]["status"] == tuned["status"]
        run = runs_by_tag[trials[trial_id]["runs"]]
        assert (run["dropout"], run["optimizer"]) == (tuned["values"]["dropout"], tuned["values"]["optimizer"])


def test_optuna_study_with_pruning_through_the_hook(shared_dfa_service, runs):
    tag, result = report(runs, "optuna_hook")
    (search,) = latest(shared_dfa_service, tag, "osearch", "search_id").values()
    assert (search["library"], search["tuner"], search["oracle"], search["pruner"], search["project"]) == (
        "optuna", "optuna.Study", "GridSampler", "StillRatePruner", "pruned")
    assert (search["direction"], search["max_trials"], search["status"], search["trials"]) == ("min", 6, "FINISHED", 6)
    assert search["best_trial"] == f"{search['search_id']}-t{result['best']}"
    space = {entry["name"]: entry for entry in json.loads(search["search_space"])}
    assert space["units"]["type"] == "Int" and space["learning_rate"]["choices"] == [0.0, 0.3]

    trials = {int(t["tuner_trial_id"]): t for t in latest(shared_dfa_service, tag, "otrial", "trial_id").values()}
    assert set(trials) == {int(number) for number in result["trials"]} == set(range(6))
    runs_by_tag = trial_runs(shared_dfa_service, tag)
    statuses = rows(shared_dfa_service, "SELECT e.tag AS run, t.status, t.error_msg, e.status AS run_status FROM task t "
                                        "JOIN dataflow_execution e ON t.exec_id = e.id JOIN data_transformation dt "
                                        f"ON t.dt_id = dt.id JOIN dataflow d ON t.df_id = d.id WHERE d.tag = '{tag}' "
                                        "AND LOWER(dt.tag) = 'trainingmodel'")
    statuses = {row["run"]: row for row in statuses}
    pruned = 0
    for number, optuna_trial in result["trials"].items():
        trial = trials[int(number)]
        assert trial["status"] == optuna_trial["state"]
        assert json.loads(trial["hyperparameters"]) == optuna_trial["params"]
        assert json.loads(trial["intermediate_values"]) == {str(k): v for k, v in optuna_trial["intermediate"].items()}
        run = runs_by_tag[trial["runs"]]
        assert (run["units"], run["tuned_learning_rate"]) == (optuna_trial["params"]["units"],
                                                             optuna_trial["params"]["learning_rate"])
        if optuna_trial["state"] == "PRUNED":
            pruned += 1
            # The epoch whose end raised TrialPruned is stored; the run is PRUNED at it, not FAILED.
            assert run["epoch_numbers"] == [1, 2]
            assert trial["pruned_epoch"] == 2 and trial["score"] is None
            assert statuses[trial["runs"]]["status"] == statuses[trial["runs"]]["run_status"] == "PRUNED"
            assert statuses[trial["runs"]]["error_msg"].startswith("pruned at epoch 2: TrialPruned")
        else:
            assert optuna_trial["state"] == "COMPLETE"
            assert abs(trial["score"] - optuna_trial["value"]) < 1e-9
            assert run["epoch_numbers"] == [1, 2, 3]
            assert statuses[trial["runs"]]["status"] == "FINISHED"
    assert pruned == 3


def test_optuna_study_through_the_fit_flag(shared_dfa_service, runs):
    tag, result = report(runs, "flags")
    search = next(s for s in latest(shared_dfa_service, tag, "osearch", "search_id").values()
                  if s["tuner"] == "optuna.Study")
    assert (search["project"], search["oracle"], search["direction"], search["status"]) == (
        "flags", "RandomSampler", "min", "FINISHED")
    trials = {t["tuner_trial_id"]: t for t in latest(shared_dfa_service, tag, "otrial", "trial_id").values()
              if t["search_id"] == search["search_id"]}
    assert set(trials) == set(result["optuna"])
    runs_by_tag = trial_runs(shared_dfa_service, tag)
    for number, optuna_trial in result["optuna"].items():
        assert trials[number]["status"] == "COMPLETE"
        run = runs_by_tag[trials[number]["runs"]]
        assert run["tuned_learning_rate"] == optuna_trial["params"]["learning_rate"]
        assert run["epoch_numbers"] == [1]


BEST_SO_FAR_POINTS = """() => { const chart = echarts.getInstanceByDom(document.getElementById('best-chart'));
  return chart ? chart.getOption().series.find(s => s.name === 'best so far').data.length : 0; }"""


LONE_LOSS_POINT = """() => { const el = document.querySelector('#charts .chart'); const chart = el && echarts.getInstanceByDom(el);
  const loss = chart && chart.getOption().series.find(s => s.name === 'loss');
  return Boolean(loss) && loss.data.length === 1 && loss.showSymbol === true; }"""


def test_search_pages_list_the_trials_draw_the_best_so_far_and_open_a_trials_run(
        browser, shared_dfa_service, runs):  # noqa: F811
    tag, result = report(runs, "optuna_hook")
    (search,) = latest(shared_dfa_service, tag, "osearch", "search_id").values()
    completed = sum(trial["state"] == "COMPLETE" for trial in result["trials"].values())
    page = WatchedPage(browser, shared_dfa_service.url)
    try:
        p = page.goto("/searches")
        p.wait_for_selector(f"#searches tr[data-search='{search['search_id']}']")
        listed = p.text_content(f"#searches tr[data-search='{search['search_id']}']")
        assert "3 COMPLETE" in listed and "3 PRUNED" in listed
        page.screenshot("searches.png")
        p.click(f"#searches tr[data-search='{search['search_id']}'] a")
        p.wait_for_selector("#trials tbody tr")
        assert p.locator("#trials tbody tr").count() == 6
        assert p.locator("#trials tbody .status-PRUNED").count() == 3
        headers = p.locator("#trials thead th").all_text_contents()
        assert any(h.endswith("units") for h in headers) and any(h.endswith("learning_rate") for h in headers)
        assert "pruned at epoch" in headers
        p.wait_for_function(f"({BEST_SO_FAR_POINTS})() === {completed}")
        page.screenshot("search.png")
        # Sorting by score is in the URL; clicking a trial opens its run.
        p.click("#trials thead th[data-key='score']")
        assert "sort=score" in p.url
        first = p.locator("#trials tbody tr").first
        trial_id = first.get_attribute("data-trial")
        first.locator("td").nth(2).click()
        p.wait_for_url("**/runs/**")
        assert f"/runs/{trial_id}-e1" in p.url
        p.wait_for_selector("#run-status")
        p.wait_for_function("document.querySelector('#run-status').textContent === 'FINISHED'")
        # A run of one epoch draws its point (a line of one point draws nothing).
        flags_tag, _ = report(runs, "flags")
        one_epoch = next(run for run, row in trial_runs(shared_dfa_service, flags_tag).items()
                         if row["epoch_numbers"] == [1])
        p = page.goto(f"/runs/{one_epoch}?dataflow={flags_tag}")
        p.wait_for_function(f"({LONE_LOSS_POINT})() === true")
        pruned = next(t for t in latest(shared_dfa_service, tag, "otrial", "trial_id").values() if t["status"] == "PRUNED")
        p = page.goto(f"/runs/{pruned['runs']}?dataflow={tag}")
        p.wait_for_function("document.querySelector('#run-status').textContent === 'PRUNED'")
        assert "pruned at epoch 2" in p.text_content("#run-pruned") and p.locator("#run-errors .error").count() == 0
        page.screenshot("pruned_run.png")
        assert page.problems == []
    finally:
        page.close()
