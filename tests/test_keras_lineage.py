"""What went into a run, recorded by a real script in a fresh interpreter: data digests (the same
arrays are one data entity, changed arrays another, a tf.data pipeline a partial identity), the
script, git and packages of a temporary repository with a dirty file, a fit from a stored model
linked to its source run, per-step rows every N steps and system samples; all read back through
SQL, the lineage API, the PROV export, and the run and compare pages in Chromium."""
import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest
import requests

from web_browser import WatchedPage, browser  # noqa: F401 (fixture)

SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np
    import requests
    import tensorflow as tf
    import keras_prov as keras

    tag, url = sys.argv[1], os.environ["DFA_URL"]
    rng = np.random.default_rng(0)
    x = rng.random((120, 8), dtype=np.float32)
    y = (x.sum(axis=1) > 4).astype("int64")
    np.save("x.npy", x)

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.35)

    def model():
        m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
        m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return m

    # DLProv's data steps, declared by the script in their own dataflow
    from dfa_lib_python.dataflow import Dataflow
    from dfa_lib_python.dataset import DataSet
    from dfa_lib_python.element import Element
    from dfa_lib_python.task import Task
    Dataflow(tag + "_dl", predefined=True).save()
    load = Task(1, tag + "_dl", "LoadData")
    load.add_dataset(DataSet("iInputDataset", [Element(["generated", "numpy"])]))
    load.begin()
    load.add_dataset(DataSet("oLoadData", [Element(["x.npy"])]))
    load.end()
    split = Task(2, tag + "_dl", "SplitData", dependency=load)
    split.add_dataset(DataSet("iSplitConfig", [Element([0.75, 0.25, 0.0])]))
    split.begin()
    split.add_dataset(DataSet("oTrainSet", [Element(["x.npy[:90]", "y[:90]"])]))
    split.add_dataset(DataSet("oValSet", [Element(["x.npy[90:]", "y[90:]"])]))
    split.end()

    first = model()
    first.provenance(dataflow_tag=tag, log_every_n_steps=2, system_metrics_every=0.2, data_steps=split)
    first.fit(x, y, epochs=2, batch_size=10, validation_split=0.25, verbose=0, callbacks=[Slow()])   # task 1
    first.fit(x, y, epochs=1, batch_size=10, verbose=0)                                              # task 2
    first.fit(x + 1, y, epochs=1, batch_size=10, verbose=0)                                          # task 3
    pipeline = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    first.fit(pipeline, epochs=1, verbose=0)                                                         # task 4
    first.evaluate(x, y, verbose=0)
    assert keras.flush(60)
    models = requests.get(url + "/api/v1/models", params={"exec": first.get_exec_tag()}, timeout=30).json()["models"]
    stored = [m for m in models if m["format"] == "keras"][0]     # newest first: task 4's model
    with open("stored.keras", "wb") as handle:
        handle.write(requests.get(url + stored["url"], timeout=30).content)
    second = keras.saving.load_model("stored.keras")
    second.provenance(dataflow_tag=tag, system_metrics_every=0)
    second.fit(x, y, epochs=1, batch_size=10, verbose=0)
    assert keras.flush(60)
    print(json.dumps({"first": first.get_exec_tag(), "second": second.get_exec_tag(), "stored_task": stored["task"],
                      "steps": split.exec_tag}))
""")


def git(directory, *arguments):
    return subprocess.run(["git", "-C", str(directory), *arguments], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def recorded(shared_dfa_service, tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    git(project, "init", "-q", "-b", "lineage-branch")
    git(project, "config", "user.email", "test@example.org")
    git(project, "config", "user.name", "test")
    (project / "train.py").write_text(SCRIPT)
    git(project, "add", "train.py")
    git(project, "commit", "-q", "-m", "the script")
    with open(project / "train.py", "a") as script:
        script.write("# a change not committed\n")
    tag = f"lineage_{os.getpid()}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KERAS_PROV", "DFA_"))}
    env.update(DFA_URL=shared_dfa_service.url, DFA_SPOOL_DIR=str(project / "spool"), TF_CPP_MIN_LOG_LEVEL="2")
    run = subprocess.run([sys.executable, "train.py", tag], cwd=project, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    executions = json.loads(run.stdout.strip().splitlines()[-1])
    return {"service": shared_dfa_service, "project": project, "tag": tag, **executions}


def query(service, sql):
    response = requests.post(service.url + "/api/v1/query", json={"sql": sql, "limit": 100000}, timeout=30)
    assert response.ok, response.text
    return response.json()["rows"]


def records(document, kind):
    """The records of one kind of a PROV-JSON document (a name used twice holds a list)."""
    for value in document.get(kind, {}).values():
        yield from value if isinstance(value, list) else [value]


def api(service, path):
    response = requests.get(service.url + path, timeout=30)
    assert response.ok, f"{path} -> {response.status_code} {response.text}"
    return response.json()


def test_same_arrays_are_one_data_entity_and_changed_arrays_another(recorded):
    import numpy as np

    service, tag = recorded["service"], recorded["tag"]
    rows = query(service, f"SELECT t.identifier, d.argument, d.digest_kind, d.sha256, d.shape, d.dtype, d.samples, "
                          f"d.validation_split FROM {tag}.idata d JOIN task t ON d.trainingmodel_task_id = t.id "
                          f"WHERE t.exec_id = (SELECT id FROM dataflow_execution WHERE tag = '{recorded['first']}') "
                          "ORDER BY t.id, d.id")
    by_task = {}
    for task, role, identity, digest, shape, dtype, samples, split in rows:
        by_task.setdefault(task, {})[role] = (identity, digest, shape, dtype, samples, split)
    x = np.load(recorded["project"] / "x.npy")
    expected = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
    assert by_task["1"]["x"] == ("content", expected, "(120, 8)", "float32", 120, 0.25)
    assert by_task["2"]["x"][1] == expected and by_task["2"]["y"][1] == by_task["1"]["y"][1]
    assert by_task["3"]["x"][1] not in (expected, None) and by_task["3"]["y"][1] == by_task["1"]["y"][1]
    # "every run trained on this data" is one request
    users = api(service, f"/api/v1/data/{expected}/runs")["runs"]
    assert {(run["task"], run["use"]) for run in users if run["execution"] == recorded["first"]} == {
        ("1", "training"), ("2", "training"), ("5", "evaluation")}


def test_dlprov_data_steps_link_to_the_data_entities(recorded):
    service, tag = recorded["service"], recorded["tag"]
    lineage = api(service, f"/api/v1/executions/{recorded['first']}/lineage")
    steps = [step for step in lineage["data_steps"] if step["use"] == "training"]
    assert {(s["step_dataflow"], s["step_transformation"], s["step_task"]) for s in steps} == {
        (f"{tag}_dl", "splitdata", "2")}
    outputs = {output["set"].lower(): output for output in steps[0]["outputs"]}
    assert set(outputs) == {"otrainset", "ovalset"} and outputs["otrainset"]["values"]["trainsetx"] == "x.npy[:90]"
    x = next(row for row in lineage["data"] if row["argument"] == "x" and row["digest_kind"] == "content")
    document = requests.get(service.url + f"/api/v1/executions/{recorded['first']}/prov?format=json", timeout=60).json()
    sources = {d["prov:usedEntity"] for d in records(document, "wasDerivedFrom")
               if d["prov:generatedEntity"] == f"kprov:data/sha256-{x['sha256']}"}
    train_set = [source for source in sources if "/oTrainSet/" in source or "/otrainset/" in source]
    assert len(train_set) == 1
    steps_document = requests.get(service.url + f"/api/v1/executions/{recorded['steps']}/prov?format=json",
                                  timeout=60).json()
    assert train_set[0] in steps_document["entity"]   # the same entity in the DLProv run's own document


def test_a_tf_data_pipeline_gets_a_partial_identity(recorded):
    service, tag = recorded["service"], recorded["tag"]
    rows = query(service, f"SELECT d.argument, d.kind, d.digest_kind, d.sha256, d.element_spec, d.cardinality, "
                          f"d.batches_hashed FROM {tag}.idata d JOIN task t ON d.trainingmodel_task_id = t.id "
                          f"WHERE t.identifier = '4' AND t.exec_id = (SELECT id FROM dataflow_execution "
                          f"WHERE tag = '{recorded['first']}')")
    assert len(rows) == 1
    role, kind, identity, digest, spec, cardinality, batches = rows[0]
    assert (role, identity, cardinality, batches) == ("x", "partial", 8, 2)   # 120 samples in batches of 16
    assert "Dataset" in kind and "TensorSpec(shape=(None, 8), dtype=tf.float32" in spec and len(digest) == 64


def test_script_digest_and_git_fields_match_the_repository(recorded):
    service, project = recorded["service"], recorded["project"]
    lineage = api(service, f"/api/v1/executions/{recorded['first']}/lineage")
    code = lineage["code"]
    content = (project / "train.py").read_bytes()
    assert code["script_path"] == "train.py"
    assert code["script_sha256"] == hashlib.sha256(content).hexdigest()
    assert code["git_commit"] == git(project, "rev-parse", "HEAD")
    assert code["git_branch"] == "lineage-branch" and code["git_dirty"] == "true"
    assert code["command_line"].endswith(f"train.py {recorded['tag']}")
    assert str(project) not in json.dumps(lineage)   # no machine path in the answer
    texts = {text["kind"]: text for text in lineage["texts"]}
    assert set(texts) == {"script", "git_diff", "packages"}
    script = requests.get(service.url + texts["script"]["url"], timeout=30)
    assert script.text.encode() == content
    diff = requests.get(service.url + texts["git_diff"]["url"], timeout=30).text
    assert "+# a change not committed" in diff and "x.npy" not in diff   # tracked changes only
    assert hashlib.sha256(diff.encode()).hexdigest() == code["git_diff_sha256"]
    packages = requests.get(service.url + texts["packages"]["url"], timeout=30).text
    assert "keras==" in packages and hashlib.sha256(packages.encode()).hexdigest() == code["packages_sha256"]
    # stored once per digest: five fits of one script, one script text
    assert query(service, f"SELECT COUNT(*) FROM {recorded['tag']}.isourcetext WHERE kind = 'script'") == [[1]]
    agents = api(service, f"/api/v1/executions/{recorded['first']}/summary")["agents"]
    assert str(project) not in json.dumps(agents) and os.path.dirname(sys.executable) not in json.dumps(agents)


def test_a_fit_from_a_stored_model_derives_from_its_source_run(recorded):
    service = recorded["service"]
    lineage = api(service, f"/api/v1/executions/{recorded['second']}/lineage")
    assert [(run["execution"], run["task"]) for run in lineage["derived_from"]] == [
        (recorded["first"], recorded["stored_task"])]
    source = api(service, f"/api/v1/executions/{recorded['first']}/lineage")
    assert recorded["second"] in [run["execution"] for run in source["derived_into"]]
    document = requests.get(service.url + f"/api/v1/executions/{recorded['second']}/prov?format=json",
                            timeout=60).json()
    origin = f"kprov:model-weights/sha256-{source['weights'][-1]['trained_weights_sha256']}"
    assert [d["prov:usedEntity"] for d in records(document, "wasDerivedFrom")
            if d["prov:usedEntity"].startswith("kprov:model-weights/")] == [origin]
    assert document["entity"][origin]["kprov:source_execution"] == recorded["first"]
    data = [name for name in document["entity"] if name.startswith("kprov:data/sha256-")]
    assert data and all(len(name) == len("kprov:data/sha256-") + 64 for name in data)   # the full hex digest


def test_step_rows_count_steps_over_n_per_epoch_and_system_rows_appear(recorded):
    service, tag = recorded["service"], recorded["tag"]
    rows = query(service, f"SELECT s.epoch, COUNT(*), MAX(s.step) FROM {tag}.ostepmetrics s JOIN task t "
                          "ON s.trainingmodel_task_id = t.id WHERE t.identifier = '1' AND t.exec_id = "
                          f"(SELECT id FROM dataflow_execution WHERE tag = '{recorded['first']}') "
                          "GROUP BY s.epoch ORDER BY s.epoch")
    assert rows == [[1, 4, 8], [2, 4, 8]]   # 90 training samples in batches of 10: 9 steps, one row every 2
    steps = api(service, f"/api/v1/executions/{recorded['first']}/steps?epoch=last")
    assert "loss" in steps["metrics"] and steps["series"]["loss"]
    samples = query(service, f"SELECT COUNT(*), MIN(s.process_rss_bytes) FROM {tag}.osystemmetrics s JOIN task t "
                             "ON s.trainingmodel_task_id = t.id WHERE t.identifier = '1' AND t.exec_id = "
                             f"(SELECT id FROM dataflow_execution WHERE tag = '{recorded['first']}')")
    count, rss = samples[0]
    assert count >= 2 and rss > 0   # a fit of over 0.7 s sampled every 0.2 s
    assert query(service, f"SELECT COUNT(*) FROM {tag}.osystemmetrics s JOIN task t ON s.trainingmodel_task_id "
                          f"= t.id WHERE t.exec_id = (SELECT id FROM dataflow_execution "
                          f"WHERE tag = '{recorded['second']}')") == [[0]]   # system_metrics_every=0: off


def test_run_page_shows_data_code_derivation_and_the_step_chart(recorded, browser):  # noqa: F811
    service = recorded["service"]
    page = WatchedPage(browser, service.url)
    try:
        p = page.goto(f"/runs/{recorded['second']}?dataflow={recorded['tag']}")
        p.wait_for_selector("#derived-from a")
        assert p.text_content("#derived-from a") == recorded["first"]
        assert "content" in p.text_content("#lineage-data-table")
        code = p.text_content("#lineage-code-table")
        assert "train.py" in code and "dirty" in code and "lineage-branch" in code
        p.locator("#run-lineage").scroll_into_view_if_needed()
        page.screenshot("run-lineage-derived.png")
        p = page.goto(f"/runs/{recorded['first']}?dataflow={recorded['tag']}&steps_epoch=1")
        p.wait_for_function("document.querySelectorAll('#steps-charts .chart').length > 0 && "
                            "document.querySelectorAll('#system-charts .chart').length > 0")
        points = p.evaluate("""() => [...document.querySelectorAll('#steps-charts .chart')].map(el =>
            echarts.getInstanceByDom(el).getOption().series.map(s => [s.name, s.data.length]))""")
        assert ["loss", 4] in [series for chart in points for series in chart]   # the latest fit (tf.data, 8 batches)
        assert "partial" in p.text_content("#lineage-data-table")
        p.locator("#run-steps").scroll_into_view_if_needed()
        page.screenshot("run-lineage-steps.png")
        p = page.goto(f"/compare?runs={recorded['first']},{recorded['second']}&dataflow={recorded['tag']}")
        p.wait_for_selector("#lineage-verdict [data-part=data]")
        assert "differ" in p.text_content("#lineage-verdict [data-part=data]")
        assert "same" in p.text_content("#lineage-verdict [data-part=environment]")
        page.screenshot("compare-lineage.png")
        assert page.problems == []
    finally:
        page.close()


def test_a_fit_in_a_notebook_records_its_cell(shared_dfa_service, tmp_path):
    from notebook_kernel import Kernel, install_kernel_spec, json_lines

    install_kernel_spec()
    cell = textwrap.dedent("""
        import json, numpy as np, keras_prov as keras
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        model.provenance(dataflow_tag="lineage_notebook", system_metrics_every=0)
        model.fit(np.ones((8, 4), "float32"), np.ones((8, 1), "float32"), epochs=1, verbose=0)
        assert keras.flush(60)
        print("@" + json.dumps(model.get_exec_tag()))
    """).strip()
    with Kernel(tmp_path, {"DFA_URL": shared_dfa_service.url, "DFA_SPOOL_DIR": str(tmp_path / "spool")}) as kernel:
        execution = json_lines(kernel.run(cell))[0]
    code = api(shared_dfa_service, f"/api/v1/executions/{execution}/lineage")["code"]
    assert code["cell_sha256"] == hashlib.sha256(cell.encode()).hexdigest()
    assert code["notebook"] and code.get("script_path") is None
