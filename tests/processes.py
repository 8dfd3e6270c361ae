"""Stopping the processes tests start (services, MonetDB servers)."""
import signal
import subprocess


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
