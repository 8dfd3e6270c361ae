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
        assert stored(service, "SELECT format FROM model_file ORDER BY format") == [["keras"], ["weights.h5"]]
        assert len(stored(service, "SELECT loss FROM late_service.otestingmodel")) == 1
    finally:
        dfa_lib_python.close(timeout=5)
        service.stop()
