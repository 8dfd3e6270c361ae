"""`dfanalyzer start|stop|status|reset` as a user runs them."""
import subprocess
import sys

import requests

from service_process import free_port


def dfanalyzer(*args):
    return subprocess.run([sys.executable, "-m", "dfanalyzer", *args], capture_output=True, text=True, timeout=120)


def test_start_status_stop_and_a_second_start_on_the_same_data(tmp_path):
    port, data_dir = str(free_port()), str(tmp_path / "data")
    started = dfanalyzer("start", "--port", port, "--data-dir", data_dir)
    try:
        assert started.returncode == 0, started.stderr
        assert f"http://127.0.0.1:{port}" in started.stdout and data_dir in started.stdout
        assert requests.get(f"http://127.0.0.1:{port}/health").json()["backend"] == "embedded-monetdb"
        assert "/docs" in started.stdout and requests.get(f"http://127.0.0.1:{port}/openapi.json").ok
        status = dfanalyzer("status", "--port", port, "--data-dir", data_dir)
        assert status.returncode == 0 and data_dir in status.stdout
        # /health is open to anyone: it names no path of the machine.
        assert data_dir not in requests.get(f"http://127.0.0.1:{port}/health").text
        other = dfanalyzer("start", "--port", str(free_port()), "--data-dir", data_dir)
        assert other.returncode == 1 and "in use by process" in other.stderr
    finally:
        stopped = dfanalyzer("stop", "--port", port, "--data-dir", data_dir)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert dfanalyzer("status", "--port", port).returncode == 3


def test_reset_deletes_only_when_asked(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "monetdb").mkdir(parents=True)
    (data_dir / "monetdb" / "file").write_text("x")
    refused = dfanalyzer("reset", "--port", str(free_port()), "--data-dir", str(data_dir))
    assert refused.returncode == 1 and "--yes" in refused.stderr and (data_dir / "monetdb").exists()
    done = dfanalyzer("reset", "--yes", "--port", str(free_port()), "--data-dir", str(data_dir))
    assert done.returncode == 0 and not (data_dir / "monetdb").exists()


def test_an_unreachable_monetdb_server_is_reported_and_waited_for(tmp_path):
    port = str(free_port())
    result = dfanalyzer("start", "--port", port, "--data-dir", str(tmp_path),
                        "--monetdb-url", "monetdb://monetdb:secret@127.0.0.1:1/provenance")
    try:
        assert result.returncode == 0, result.stderr
        assert "the MonetDB server at monetdb://monetdb@127.0.0.1:1/provenance cannot be reached yet" in result.stderr
        assert "secret" not in result.stdout + result.stderr
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=30).json()["status"] == "backend unreachable"
    finally:
        stopped = dfanalyzer("stop", "--port", port, "--data-dir", str(tmp_path))
    assert stopped.returncode == 0
    malformed = dfanalyzer("start", "--foreground", "--port", str(free_port()), "--data-dir", str(tmp_path),
                           "--monetdb-url", "postgres://x")
    assert malformed.returncode == 1 and "monetdb://user:password@host:50000/database" in malformed.stderr


def test_a_missing_embedded_engine_is_reported(tmp_path):
    # As if monetdbe were not installed: the import fails and the start explains what to do.
    program = ("import sys; sys.modules['monetdbe'] = None; sys.argv[0] = 'dfanalyzer'; "
               "from dfanalyzer.cli.main import main; main()")
    result = subprocess.run([sys.executable, "-c", program, "start", "--foreground", "--port", str(free_port()),
                             "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "monetdbe" in result.stderr and "bootstrap" in result.stderr
