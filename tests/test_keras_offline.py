"""keras_prov when DfAnalyzer is not there: training goes on, nothing is lost."""
import dfa_lib_python
import pytest

from keras_prov_helpers import digits, stored, tiny_model


def test_training_goes_on_while_dfanalyzer_is_down_and_everything_arrives_when_it_starts(tmp_path):
    from service_process import ServiceProcess, free_port

    port = free_port()
    dfa_lib_python.connect(f"http://127.0.0.1:{port}", spool_dir=str(tmp_path / "spool"))
    x, y = digits(32)
    model = tiny_model()
    model.provenance(dataflow_tag="late_service")
    history = model.fit(x, y, epochs=2, verbose=0)  # nothing listens on the port yet
    model.evaluate(x, y, verbose=0)
    assert len(history.history["loss"]) == 2

    service = ServiceProcess(tmp_path / "dfa-data", port=port).start()
    try:
        rows = stored(service, "SELECT epoch, loss FROM late_service.otrainingmodel ORDER BY epoch")
        assert [row[1] for row in rows] == pytest.approx(history.history["loss"])
        assert stored(service, "SELECT format FROM model_file ORDER BY format") == [["keras"]]
        assert len(stored(service, "SELECT loss FROM late_service.otestingmodel")) == 1
    finally:
        dfa_lib_python.close(timeout=5)
        service.stop()


def test_a_model_saved_while_dfanalyzer_was_down_is_uploaded_by_the_next_program(tmp_path):
    import os
    import subprocess
    import sys

    from service_process import ServiceProcess, free_port

    port = free_port()
    spool = str(tmp_path / "spool")
    program = (
        "import sys, numpy as np, dfa_lib_python, keras_prov as keras\n"
        "dfa_lib_python.connect(sys.argv[1], spool_dir=sys.argv[2])\n"
        "x = np.random.rand(32, 4).astype('float32'); y = np.random.rand(32, 1).astype('float32')\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        "m.compile('sgd', 'mse'); m.provenance(dataflow_tag=sys.argv[3])\n"
        "m.fit(x, y, epochs=1, verbose=0)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    url = f"http://127.0.0.1:{port}"
    first = subprocess.run([sys.executable, "-c", program, url, spool, "offline_first"], capture_output=True,
                           text=True, timeout=180, env=env)  # nothing listens on the port
    assert first.returncode == 0, first.stderr[-3000:]
    # The model waits in the spool, described for the upload, whichever exit message won the race.
    waiting = os.listdir(os.path.join(spool, "keras_prov-models"))
    assert len(waiting) == 1
    assert os.path.isfile(os.path.join(spool, "keras_prov-models", waiting[0], "upload.json"))

    service = ServiceProcess(tmp_path / "dfa-data", port=port).start()
    try:
        second = subprocess.run([sys.executable, "-c", program + "assert keras.flush(60)\n", url, spool,
                                 "offline_second"], capture_output=True, text=True, timeout=180, env=env)
        assert second.returncode == 0, second.stderr[-3000:]
        models = service.query("SELECT d.tag, m.format, m.sha256 FROM model_file m JOIN dataflow_execution e "
                               "ON m.exec_id = e.id JOIN dataflow d ON e.df_id = d.id ORDER BY d.tag, m.format")
        recorded = service.query("SELECT format, sha256 FROM offline_first.otrainedmodel ORDER BY format")
        assert [row[0] for row in models] == ["offline_first", "offline_second"]
        assert [row[1:] for row in models[:1]] == recorded  # the file the first program described
        assert not os.listdir(os.path.join(spool, "keras_prov-models"))  # nothing left waiting
    finally:
        service.stop()
