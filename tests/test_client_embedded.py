"""DFA_URL=embedded:/dir: provenance written into embedded MonetDB inside the process, no service."""
import json
import os
import subprocess
import sys
import textwrap

import dfa_lib_python
from client_scripts import expected_ratio_rows, original_script
from dfa_lib_python.transport import BadRequest
from processes import dfanalyzer
from service_process import ServiceProcess

NOTEBOOK = textwrap.dedent("""
    import dfa_lib_python
    from client_scripts import original_script
    original_script("notebook")
    result = dfa_lib_python.query("SELECT name, ratio FROM notebook.oextractratio ORDER BY name")
    print(result.columns, result.rows)
""")

# A process that only spools (its sender never starts), killed before anything is sent.
SPOOLING = textwrap.dedent("""
    import sys
    import dfa_lib_python
    from dfa_lib_python.dataflow import Dataflow
    dfa_lib_python.connect(sys.argv[1], spool_dir=sys.argv[2], start_sender=False)
    Dataflow("killed_before_sending", hyperparameters=True).save()
    print("spooled", flush=True)
    sys.stdin.read()
""")

# A reader whose client exists before the spooling process dies (a notebook kernel beside a
# restarted one): replay() looks through the spool again and waits for what the dead one left.
READER = textwrap.dedent("""
    import sys
    import dfa_lib_python
    client = dfa_lib_python.connect(sys.argv[1], spool_dir=sys.argv[2])
    print("connected", flush=True)
    sys.stdin.readline()
    print("replayed", client.replay(own_records=False, timeout=60), flush=True)
    print("dataflows", client.query("SELECT tag FROM dataflow", flush=False).rows, flush=True)
""")


# A program recording into the directory: it holds it and serves nothing.
HOLDING = textwrap.dedent("""
    import sys
    import dfa_lib_python
    from dfa_lib_python.dataflow import Dataflow
    dfa_lib_python.connect(sys.argv[1], spool_dir=sys.argv[2])
    Dataflow("holding", hyperparameters=True).save()
    assert dfa_lib_python.flush(60)
    print("holding", flush=True)
    sys.stdin.read()
""")


def test_embedded_mode_stores_and_queries_in_process(tmp_path):
    data_dir = tmp_path / "dfa-data"
    client = dfa_lib_python.connect(f"embedded:{data_dir}", spool_dir=str(tmp_path / "spool"))
    try:
        df = original_script("inprocess")
        result = dfa_lib_python.query(
            "SELECT name, ratio, extractratio_task_id IS NOT NULL, computeratio_task_id IS NOT NULL "
            "FROM inprocess.oextractratio ORDER BY name")
        assert result.columns == ["name", "ratio", "%1", "%2"] or len(result.columns) == 4
        assert result.rows == [row + [True, True] for row in expected_ratio_rows()]
        assert client.query("SELECT tag FROM dataflow_execution").rows == [[df.exec_tag]]
        try:
            client.query("DELETE FROM inprocess.oextractratio")
            raise AssertionError("a writing query was accepted")
        except BadRequest as error:
            assert "only SELECT and WITH" in str(error)
    finally:
        dfa_lib_python.close(timeout=30)
    assert client.closed

    # The directory is an ordinary DfAnalyzer data directory: the service serves what was written.
    service = ServiceProcess(data_dir).start()
    try:
        assert service.query("SELECT name, ratio FROM inprocess.oextractratio ORDER BY name") == expected_ratio_rows()
    finally:
        service.stop()


def test_dfa_url_embedded_needs_no_code_change(tmp_path):
    env = dict(os.environ, DFA_URL=f"embedded:{tmp_path / 'dfa-data'}", DFA_SPOOL_DIR=str(tmp_path / "spool"),
               PYTHONPATH=os.path.dirname(__file__))
    output = subprocess.run([sys.executable, "-c", NOTEBOOK], env=env, capture_output=True, text=True, timeout=120)
    assert output.returncode == 0, output.stderr
    assert output.stdout.strip() == f"['name', 'ratio'] {expected_ratio_rows()}"
    assert os.listdir(tmp_path / "spool" / "sessions") == []

    # The script has ended and nobody serves the directory: the CLI opens it itself.
    url = f"embedded:{tmp_path / 'dfa-data'}"
    read = dfanalyzer("query", "--json", "--url", url, "SELECT name, ratio FROM notebook.oextractratio ORDER BY name")
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["rows"] == expected_ratio_rows()
    # While a program records into it, the CLI says which process holds it, and the directory
    # is left to that program.
    holder = subprocess.Popen([sys.executable, "-c", HOLDING, url, str(tmp_path / "spool")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        refused = dfanalyzer("runs", "--url", url)
        assert refused.returncode == 1
        assert f"is held by process {holder.pid}, which does not serve it" in refused.stderr, refused.stderr
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0
    assert "holding" in dfanalyzer("query", "--csv", "--url", url, "SELECT tag FROM dataflow").stdout.split()
    missing = dfanalyzer("runs", "--url", f"embedded:{tmp_path / 'elsewhere'}")
    assert missing.returncode == 1 and "holds no provenance" in missing.stderr


def test_a_read_replays_what_a_process_killed_a_moment_ago_left_in_the_spool(tmp_path):
    url, spool = f"embedded:{tmp_path / 'dfa-data'}", str(tmp_path / "spool")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(__file__))
    spooling = subprocess.Popen([sys.executable, "-c", SPOOLING, url, spool], env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    reader = subprocess.Popen([sys.executable, "-c", READER, url, spool], env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert spooling.stdout.readline().split() == ["spooled"]
        assert reader.stdout.readline().split() == ["connected"]
        spooling.kill()  # SIGKILL with the dataflow only in its spool
        spooling.wait()
        output, _ = reader.communicate("go\n", timeout=120)
    finally:
        for process in (spooling, reader):
            if process.poll() is None:
                process.kill()
    assert output.splitlines() == ["replayed True", "dataflows [['killed_before_sending']]"]
    assert os.listdir(os.path.join(spool, "sessions")) == []  # the dead process's session, sent, is removed
