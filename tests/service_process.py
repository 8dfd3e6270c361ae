"""The real DfAnalyzer service as a subprocess, for tests: free port, its own data directory."""
import os
import socket
import subprocess
import sys
import time

import requests

from processes import kill, stop_gracefully


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceProcess:
    """One `dfanalyzer start --foreground` process on 127.0.0.1.

    Args:
        data_dir: data directory of the service (kept across restarts).
        port: TCP port; a free one when None.
        token: started with this access token (DFA_TOKEN), which `query()` then sends.
        monetdb_url: a MonetDB server to store into instead of embedded MonetDB.
        extra_args: more `dfanalyzer start` options, e.g. ["--models-dir", path].
    """

    def __init__(self, data_dir, port=None, token=None, monetdb_url=None, extra_args=()):
        self.data_dir = str(data_dir)
        self.token = token
        self.monetdb_url = monetdb_url
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.data_dir + ".log")
        self.process = None

    def start(self, timeout=60):
        log = open(self.log_path, "ab")
        command = [sys.executable, "-m", "dfanalyzer", "start", "--foreground",
                   "--port", str(self.port), "--data-dir", self.data_dir, *self.extra_args]
        if self.monetdb_url:
            command += ["--monetdb-url", self.monetdb_url]
        environment = dict(os.environ, **({"DFA_TOKEN": self.token} if self.token else {}))
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"DfAnalyzer exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/health", timeout=5).ok:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a loaded machine
                pass
            time.sleep(0.1)
        kill(self.process)  # nobody would stop it otherwise
        raise RuntimeError(f"DfAnalyzer did not become healthy in {timeout}s:\n{self.log()}")

    def stop(self):
        """Graceful stop (SIGTERM), waiting for the process to end."""
        stop_gracefully(self.process, 30)

    def kill(self):
        """SIGKILL, as a crash would."""
        kill(self.process)

    def restart(self):
        self.stop()
        return self.start()

    def query(self, sql, limit=100000):
        """Rows of a read-only query, through the service's query endpoint."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = requests.post(self.url + "/api/v1/query", json={"sql": sql, "limit": limit}, headers=headers,
                                 timeout=30)
        response.raise_for_status()
        return response.json()["rows"]

    def log(self):
        try:
            with open(self.log_path, "rb") as log:
                return log.read().decode(errors="replace")[-5000:]
        except OSError:
            return ""
