"""keras_prov in a real Jupyter kernel (ipykernel via nbclient): DataFrames, inline runs and
graphs, the web app, training while reading, kernel restarts, two notebooks on one directory.

Each test drives one kernel cell by cell, as a user does; cells report values to the test as
`@` + JSON lines on stdout and show objects as the notebook would (rich outputs)."""
import os
import re
import textwrap

import nbformat
import pytest
import requests

from notebook_kernel import (Kernel, install_kernel_spec, json_lines, png_of_html, rich, text_of, well_formed_html,
                             well_formed_svg)
from processes import dfanalyzer
from service_process import ServiceProcess

TAG = "nbtest"
RESTART_TAG = "nbrestart"  # the runs of the kernel restarts and of the second notebook
EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "keras_prov_notebook.ipynb")


@pytest.fixture(scope="module", autouse=True)
def kernel_spec():
    return install_kernel_spec()


def setup_cell(url, spool_dir):
    """Imports, a tiny dataset, `tiny(learning_rate, tag)` making a recording model, `report(...)`."""
    return textwrap.dedent(f"""
        import json, os
        os.environ["DFA_URL"] = {url!r}
        os.environ["DFA_SPOOL_DIR"] = {str(spool_dir)!r}
        from sklearn.datasets import load_digits
        import keras_prov as keras

        digits = load_digits()
        x, y = (digits.data[:96] / 16.0).astype("float32"), digits.target[:96]

        def tiny(learning_rate, tag={TAG!r}):
            model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(12, activation="relu"),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile(keras.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
            model.provenance(dataflow_tag=tag)
            return model

        def report(**values):
            print("@" + json.dumps(values, default=str))

        import sys
        report(notebook_loaded="keras_prov.notebook" in sys.modules)  # import keras_prov loads none of it
    """)


TRAIN_TWO_RUNS = """
h1 = tiny(0.1).fit(x, y, epochs=2, validation_split=0.25, verbose=0)
h2 = tiny(0.05).fit(x, y, epochs=3, validation_split=0.25, verbose=0)
report(runs=[h1.provenance_run.execution, h2.provenance_run.execution], losses=[h1.history["loss"], h2.history["loss"]])
"""


def check_reading(kernel):
    """Two runs trained, then every reading function checked against what Keras reported."""
    outputs = kernel.run(TRAIN_TWO_RUNS)
    trained = json_lines(outputs)[0]
    assert rich(outputs, "text/html") == []  # no live chart unless asked for
    first, second = trained["runs"]

    outputs = kernel.run(f"table = keras.runs({TAG!r})\n"
                         "report(execution=list(table.execution), epochs=list(table.epochs), status=list(table.status),"
                         " columns=list(table.columns), loss=list(table['m:loss']))\n"
                         "table")
    table = json_lines(outputs)[0]
    assert table["execution"] == [second, first]  # newest first
    assert table["epochs"] == [3, 2] and table["status"] == ["FINISHED", "FINISHED"]
    assert {"start", "duration", "hp:learning_rate", "hp:batch_size", "m:loss", "m:val_loss", "m:val_accuracy"} \
        <= set(table["columns"])
    assert table["loss"] == pytest.approx([trained["losses"][1][-1], trained["losses"][0][-1]], rel=1e-6)
    assert "table" in well_formed_html(rich(outputs, "text/html")[0])

    best = json_lines(kernel.run(f"best = keras.runs({TAG!r}, mode='best')\n"
                                 "report(loss=list(best['m:loss']), lr=list(best['hp:learning_rate']))"))[0]
    assert best["loss"] == pytest.approx([min(trained["losses"][1]), min(trained["losses"][0])], rel=1e-6)
    assert best["lr"] == pytest.approx([0.05, 0.1])

    epochs = json_lines(kernel.run("frame = keras.epochs(h2)\n"
                                   "report(epoch=list(frame.epoch), loss=list(frame.loss), columns=list(frame.columns))"))[0]
    assert epochs["epoch"] == [1, 2, 3]
    assert epochs["loss"] == pytest.approx(trained["losses"][1], rel=1e-6)
    assert epochs["columns"][0] == "epoch" and "val_accuracy" in epochs["columns"]

    queried = json_lines(kernel.run(textwrap.dedent(f"""
        import warnings
        counted = keras.query('SELECT COUNT(*) AS n FROM {TAG}.otrainingmodel')
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cut = keras.query('SELECT epoch FROM {TAG}.otrainingmodel', limit=2)
        try:
            keras.query('DELETE FROM {TAG}.otrainingmodel')
            refused = None
        except keras.notebook.ReadError as error:
            refused = str(error)
        report(n=int(counted.n[0]), cut=len(cut), truncated=cut.attrs["truncated"],
               warned=[str(w.message) for w in caught], refused=refused)
    """)))[0]
    assert queried["n"] == 5 and queried["cut"] == 2 and queried["truncated"] is True
    assert "more than 2 rows" in queried["warned"][0]
    assert "SELECT" in queried["refused"]

    compared = json_lines(kernel.run(
        "side = keras.compare([h1, h2])\n"
        "report(columns=list(side.columns), lr=list(side.loc[('hyperparameter', 'learning_rate')])[:2],"
        " lr_differs=bool(side.loc[('hyperparameter', 'learning_rate'), 'differs']), epochs=list(side.loc[('run', 'epochs')])[:2])"))[0]
    assert compared["columns"] == [first, second, "differs"]
    assert compared["lr"] == pytest.approx([0.1, 0.05]) and compared["lr_differs"] is True
    assert compared["epochs"] == [2, 3]

    outputs = kernel.run("h2")  # what fit returned, as the last expression of a cell
    shown = rich(outputs, "text/html")[0]
    assert "img" in well_formed_html(shown)
    assert second in shown and "FINISHED" in shown and "learning_rate" in shown and "val_loss" in shown
    assert len(png_of_html(shown)) > 2000
    plain = rich(outputs, "text/plain")[0]
    assert plain.startswith(f"run {second} (dataflow {TAG}): FINISHED, 3 epochs")

    outputs = kernel.run("keras.run()")  # the newest run
    assert second in rich(outputs, "text/html")[0]

    outputs = kernel.run("keras.graph(h2)")
    svg = well_formed_svg(rich(outputs, "image/svg+xml")[0])
    assert second in "".join(svg.itertext())
    return first, second


def web_app_address(kernel):
    outputs = kernel.run("keras.show()")
    address = text_of(outputs).strip().split(": ", 1)[1]
    frame = rich(outputs, "text/html")[0]
    assert f'src="{address}"' in frame and "iframe" in well_formed_html(frame)
    return address


def run_example_notebook(kernel):
    """Runs examples/keras_prov_notebook.ipynb cell by cell and checks what each cell shows."""
    notebook = nbformat.read(EXAMPLE, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "commit the example without outputs"
    outputs = {cell.source.splitlines()[0]: kernel.run(cell.source)
               for cell in notebook.cells if cell.cell_type == "code"}
    print("example notebook: %.1f s in its cells" % sum(seconds for seconds, _ in kernel.seconds))
    for cell in ("def digits_model(learning_rate):", "slow = digits_model(0.005)"):  # provenance(..., live=True)
        drawn = rich(outputs[cell], "text/html")
        assert len(drawn) == 1, drawn  # one live chart per fit, redrawn in place
        png_of_html(drawn[0])
    shown = rich(outputs["history"], "text/html")[0]
    assert "digits_notebook" in shown and "FINISHED" in shown and "hidden_units" in shown
    png_of_html(shown)
    table = rich(outputs['keras.runs("digits_notebook", mode="best")'], "text/html")[0]
    well_formed_html(table)
    assert len(set(re.findall(r"digits_notebook-[0-9T]+-[0-9a-f]+", table))) == 2
    epochs = outputs["epochs = keras.epochs(history)"]
    assert rich(epochs, "image/png") and ">12.0<" in rich(epochs, "text/html")[0]  # the last of 12 epochs
    assert "val_accuracy" in rich(outputs["keras.query('SELECT epoch, val_accuracy FROM digits_notebook.otrainingmodel '"],
                                  "text/html")[0]
    compared = rich(outputs["side_by_side = keras.compare([history, history_slow])"], "text/html")[0]
    assert "learning_rate" in compared
    well_formed_svg(rich(outputs["keras.graph(history)"], "image/svg+xml")[0])
    address = text_of(outputs["keras.show()"]).strip().split(": ", 1)[1]
    page = requests.get(address, timeout=30)
    assert page.status_code == 200 and "Runs" in page.text


def test_notebooks_on_an_embedded_directory_through_kernel_restarts(tmp_path):
    """One kernel (restarted twice) and a second one beside it, on one embedded directory: the
    restart after a fit it never sent, the example notebook and the test notebook, then two
    notebooks at once and a restart in the middle of a fit. One story, so that the kernels (each
    importing TensorFlow) serve every check that needs no fresh one."""
    data_dir = tmp_path / "dfa-data"
    url = f"embedded:{data_dir}"
    with Kernel(tmp_path, {"DFA_URL": url, "DFA_SPOOL_DIR": str(tmp_path / "spool")}) as kernel:
        # The kernel dies before sending anything (a spooling client only): its records wait in the spool.
        # keras_prov's recording thread is kept busy for a second when fit ends (as when it opens the
        # store on a loaded machine): the cell still ends only once the fit's end is in the spool.
        kernel.run(setup_cell(url, tmp_path / "spool"))
        unsent = json_lines(kernel.run(textwrap.dedent(f"""
            import dfa_lib_python, time
            from keras_prov.recording_thread import recording
            dfa_lib_python.connect(os.environ['DFA_URL'], start_sender=False)
            busy = keras.callbacks.LambdaCallback(on_train_end=lambda logs: recording.submit(time.sleep, 1.0))
            history = tiny(0.1, {RESTART_TAG!r}).fit(x, y, epochs=3, verbose=0, callbacks=[busy])
            report(run=history.provenance_run.execution)
        """)))[0]["run"]
        kernel.restart()
        kernel.run(setup_cell(url, tmp_path / "spool"))
        replayed = json_lines(kernel.run(f"table = keras.runs({RESTART_TAG!r})\n"
                                         "report(runs=list(table.execution), epochs=list(table.epochs),"
                                         " status=list(table.status))"))[0]
        # The first read sent the killed kernel's spool, the end of its fit included.
        assert replayed == {"runs": [unsent], "epochs": [3], "status": ["FINISHED"]}

        run_example_notebook(kernel)
        first, second = check_reading(kernel)

        # Reading while a fit in another thread of the same kernel records into the same directory.
        watched = json_lines(kernel.run(textwrap.dedent(f"""
            import threading, time
            third = tiny(0.1)
            thread = threading.Thread(target=third.fit, args=(x, y), kwargs=dict(epochs=20, verbose=0))
            thread.start()
            seen = []
            while thread.is_alive():
                table = keras.runs({TAG!r})
                row = table[table.execution == third.get_exec_tag()]
                if len(row):
                    seen.append([row.status.iloc[0], int(row.epochs.iloc[0])])
                time.sleep(0.2)
            thread.join()
            report(seen=seen, epochs=len(keras.epochs(third)), status=keras.runs({TAG!r}).status.iloc[0])
        """)))[0]
        assert any(status == "RUNNING" and 0 < epochs < 20 for status, epochs in watched["seen"]), watched
        assert watched["epochs"] == 20 and watched["status"] == "FINISHED"

        # Live curves: redrawn in place while the fit runs, the last drawing with every epoch.
        outputs = kernel.run("live_model = tiny(0.1)\n"
                             "with keras.watch(live_model, interval=0.2) as live:\n"
                             "    live_model.fit(x, y, epochs=20, verbose=0)\n"
                             "report(updates=live.updates, epochs=live.epochs)")
        live = json_lines(outputs)[0]
        assert live["epochs"] == 20 and live["updates"] >= 2, live
        drawn = rich(outputs, "text/html")
        assert len(drawn) == 1  # one output, replaced in place
        png_of_html(drawn[0])

        # The web app, served by the kernel itself: the runs page and its data.
        address = web_app_address(kernel)
        page = requests.get(address, timeout=30)
        assert page.status_code == 200 and "Runs" in page.text
        runs = requests.get(address.rstrip("/") + "/api/v1/runs/table", params={"dataflow": TAG}, timeout=30).json()
        assert first in [row["execution"] for row in runs["rows"]]

        # The CLI finds the kernel serving the directory; `dfanalyzer start` on it says where it is served.
        listed = dfanalyzer("runs", "--url", url, "--dataflow", TAG)
        assert listed.returncode == 0 and first in listed.stdout, listed.stderr
        refused = dfanalyzer("start", "--data-dir", str(data_dir), "--port", "1")
        assert refused.returncode == 1 and address.rstrip("/") in refused.stderr, refused.stderr

        # After dfa_lib_python.close() the next fit records again, and the web app stays up.
        again = json_lines(kernel.run(textwrap.dedent(f"""
            import dfa_lib_python
            dfa_lib_python.close()
            fourth = tiny(0.1)
            fourth.fit(x, y, epochs=2, verbose=0)
            report(runs=len(keras.runs({TAG!r})), epochs=len(keras.epochs(fourth)))
        """)))[0]
        assert again == {"runs": 5, "epochs": 2}
        assert requests.get(address, timeout=30).status_code == 200

        # A second notebook on the same directory reads and records through the first kernel.
        with Kernel(tmp_path) as second_kernel:
            second_kernel.run(setup_cell(url, tmp_path / "spool-2"))
            shared = json_lines(second_kernel.run(textwrap.dedent(f"""
                seen = list(keras.runs({RESTART_TAG!r}).execution)
                mine = tiny(0.2, {RESTART_TAG!r}).fit(x, y, epochs=2, verbose=0)
                report(seen=seen, mine=mine.provenance_run.execution, epochs=len(keras.epochs(mine)))
            """)))[0]
            assert shared["seen"] == [unsent] and shared["epochs"] == 2
            both = json_lines(kernel.run(f"report(runs=sorted(keras.runs({RESTART_TAG!r}).execution))"))[0]["runs"]
            assert both == sorted([unsent, shared["mine"]])

            # The first kernel restarted in the middle of a fit: the second goes on, alone, with every row.
            running = json_lines(kernel.run(textwrap.dedent(f"""
                import threading, time
                long_run = tiny(0.1, {RESTART_TAG!r})
                threading.Thread(target=long_run.fit, args=(x, y), kwargs=dict(epochs=100000, verbose=0)).start()
                def stored_epochs(model):
                    try:
                        return len(keras.epochs(model))
                    except keras.notebook.ReadError:  # not stored yet
                        return 0
                deadline = time.monotonic() + 150
                while stored_epochs(long_run) < 2 and time.monotonic() < deadline:
                    time.sleep(0.5)
                report(stored=stored_epochs(long_run))
            """)))[0]
            assert running["stored"] >= 2  # read while the fit runs, under the execution it records
            kernel.restart()
            after = json_lines(second_kernel.run(textwrap.dedent(f"""
                again = tiny(0.3, {RESTART_TAG!r}).fit(x, y, epochs=2, verbose=0)
                table = keras.runs({RESTART_TAG!r})
                report(runs=dict(zip(table.execution, table.epochs.astype(int))), again=again.provenance_run.execution)
            """)))[0]
            assert len(after["runs"]) == 4
            assert after["runs"][unsent] == 3 and after["runs"][shared["mine"]] == 2 and after["runs"][after["again"]] == 2
            interrupted = [epochs for run, epochs in after["runs"].items()
                           if run not in (unsent, shared["mine"], after["again"])]
            assert 0 < interrupted[0] < 100000
    # The kernels are gone: the command opens the directory itself.
    listed = dfanalyzer("runs", "--url", url)
    assert listed.returncode == 0, listed.stderr
    assert unsent in listed.stdout and after["again"] in listed.stdout


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    service = ServiceProcess(tmp_path_factory.mktemp("notebook-service") / "data").start()
    yield service
    service.stop()


def test_notebook_against_a_service(tmp_path, service):
    with Kernel(tmp_path) as kernel:
        assert json_lines(kernel.run(setup_cell(service.url, tmp_path / "spool"))) == [{"notebook_loaded": False}]
        check_reading(kernel)
        assert web_app_address(kernel) == service.url + "/"
        # Fits without live=True (nor watch) started nothing that draws.
        assert json_lines(kernel.run("report(live='keras_prov.notebook.live_curves' in sys.modules)")) == [
            {"live": False}]

        # A KerasTuner search shows its trials table; its trials and the searches as DataFrames.
        outputs = kernel.run(textwrap.dedent(f"""
            import keras_tuner

            def build(hp):
                model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(hp.Int("units", 4, 12, step=4)),
                                          keras.layers.Dense(10, activation="softmax")])
                model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
                return model

            tuner = keras_tuner.RandomSearch(build, objective="val_accuracy", max_trials=2, seed=1,
                                             directory={str(tmp_path / "tuner")!r}, project_name="notebook")
            tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
            found = keras.search(tuner)
            trials = found.trials()
            report(search=found.search_id, trials=list(trials.trial_id), status=list(trials.status),
                   units=sorted(trials["hp:units"]), tuner=sorted(t.hyperparameters.values["units"]
                                                               for t in tuner.oracle.trials.values()),
                   searches=list(keras.searches().search_id))
            found
        """))
        searched = json_lines(outputs)[0]
        assert len(searched["trials"]) == 2 and searched["status"] == ["COMPLETED", "COMPLETED"], searched
        assert searched["units"] == searched["tuner"] and searched["searches"][0] == searched["search"]
        trials_table = rich(outputs, "text/html")[0]
        assert "table" in well_formed_html(trials_table)
        assert all(trial in trials_table for trial in searched["trials"])

        # Colab cannot run here: a google.colab module that records the call stands in for it, to
        # check that show() hands Colab's port proxy the service's port and the page.
        colab = tmp_path / "fake-colab" / "google" / "colab"
        colab.mkdir(parents=True)  # `google` stays a namespace package (TensorFlow's protobuf is in it too)
        (colab / "__init__.py").write_text("")
        (colab / "output.py").write_text("calls = []\n"
                                         "def serve_kernel_port_as_iframe(port, path='/', height=400):\n"
                                         "    calls.append([port, path, height])\n")
        proxied = json_lines(kernel.run(f"import sys; sys.path.insert(0, {str(colab.parent.parent)!r})\n"
                                        "from google.colab import output\n"
                                        "shown = keras.show(h2)\n"
                                        "report(calls=output.calls, returned=shown)"))[0]
        run_path = f"/runs/{proxied['calls'][0][1].split('/runs/')[1]}" if proxied["calls"] else None
        assert proxied["calls"] == [[service.port, run_path, 720]] and proxied["returned"] is None
        assert run_path.startswith("/runs/nbtest-") and run_path.endswith(f"?dataflow={TAG}")
    assert requests.get(service.url + "/", timeout=30).status_code == 200
