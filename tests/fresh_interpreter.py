"""Scripts run the way users run them: each in a new interpreter of this environment, which has
imported nothing (so the startup hook sees Keras arrive as it would in the user's program).

Independent scripts start together (`ScriptBatch`), so a test module pays for the slowest of them
rather than for their sum.
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import textwrap

# Variables of the test process that would change what a fresh script does.
CLEARED_VARIABLES = ("KERAS_PROV_DISABLE", "KERAS_PROV_AUTOLOG", "KERAS_BACKEND", "DFA_URL", "DFA_SPOOL_DIR")


def run_file(path, env=None, timeout=600, cwd="/"):
    """Runs the script `path` as `python path` in a new interpreter; returns (stdout, stderr).
    Fails with the script's stderr when it exits with an error."""
    return _run([path], env, timeout, cwd)


def run_script(code, env=None, timeout=600, cwd="/"):
    """Runs `code` in a new interpreter; returns (the last line of its stdout as JSON, its stderr).
    Fails with the script's stderr when it exits with an error."""
    stdout, stderr = _run(["-c", textwrap.dedent(code)], env, timeout, cwd)
    lines = stdout.strip().splitlines()
    assert lines, f"the script printed nothing:\n{stderr[-4000:]}"
    return json.loads(lines[-1]), stderr


def _run(arguments, env, timeout, cwd):
    environment = {key: value for key, value in os.environ.items() if key not in CLEARED_VARIABLES}
    environment.update({"TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
    result = subprocess.run([sys.executable, *arguments], capture_output=True, text=True, timeout=timeout,
                            env=environment, cwd=cwd)
    assert result.returncode == 0, f"the script failed (exit {result.returncode}):\n{result.stderr[-6000:]}"
    return result.stdout, result.stderr


class ScriptBatch:
    """Scripts started at once, each in its own interpreter; `result(name)` waits for one.

    Example:
        batch = ScriptBatch(workers=4)
        batch.start("tf", "import json; print(json.dumps(1))", env={"KERAS_BACKEND": "tensorflow"})
        report, stderr = batch.result("tf")
    """

    def __init__(self, workers=4):
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="script")
        self._futures = {}

    def start(self, name, code, env=None, timeout=600):
        """Runs `code` (see run_script)."""
        self._futures[name] = self._pool.submit(run_script, code, env, timeout)

    def start_file(self, name, path, env=None, timeout=600):
        """Runs the script file `path` (see run_file)."""
        self._futures[name] = self._pool.submit(run_file, path, env, timeout)

    def result(self, name):
        return self._futures[name].result()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)
