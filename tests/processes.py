"""Running the CLI, and stopping the processes tests start (services, MonetDB servers)."""
import signal
import subprocess
import sys


def dfanalyzer(*args, env=None, timeout=120):
    """Runs the `dfanalyzer` command in a fresh interpreter, as a user does; its CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "dfanalyzer", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def stop_gracefully(process, seconds):
    """SIGTERM and wait up to `seconds` for the process to end; SIGKILL after that."""
    if process and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            kill(process)


def kill(process):
    """SIGKILL, as a crash would, waiting for the process to be gone."""
    if process and process.poll() is None:
        process.kill()
        process.wait()
