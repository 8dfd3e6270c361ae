"""Settings of the service: address, data directory and storage backend.

Flags win over environment variables, which win over the defaults.
"""
import os
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 22000
DEFAULT_DATA_DIR = os.path.join(os.path.expanduser("~"), ".dfanalyzer", "data")


@dataclass
class Settings:
    """Where the service listens and where it keeps its data.

    Args:
        host: address to bind; 127.0.0.1 unless told otherwise (`DFA_HOST`).
        port: TCP port (`DFA_PORT`), 22000 as the original DfAnalyzer.
        data_dir: directory of the embedded database, the model store and the pid file (`DFA_DATA_DIR`).
        monetdb_url: `monetdb://user:pass@host:50000/db` to use a MonetDB server instead of the
            embedded engine (`DFA_MONETDB_URL`).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: str = DEFAULT_DATA_DIR
    monetdb_url: str | None = None

    @classmethod
    def from_sources(cls, host=None, port=None, data_dir=None, monetdb_url=None, environ=os.environ):
        return cls(
            host=host or environ.get("DFA_HOST") or DEFAULT_HOST,
            port=int(port or environ.get("DFA_PORT") or DEFAULT_PORT),
            data_dir=os.path.abspath(data_dir or environ.get("DFA_DATA_DIR") or DEFAULT_DATA_DIR),
            monetdb_url=monetdb_url or environ.get("DFA_MONETDB_URL") or None,
        )

    @property
    def database_dir(self):
        return os.path.join(self.data_dir, "monetdb")

    @property
    def models_dir(self):
        return os.path.join(self.data_dir, "models")

    @property
    def pid_file(self):
        return os.path.join(self.data_dir, "dfanalyzer.pid")

    @property
    def log_file(self):
        return os.path.join(self.data_dir, "dfanalyzer.log")

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"
