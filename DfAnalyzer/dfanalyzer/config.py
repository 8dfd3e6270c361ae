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
        monetdb_reader_url: `monetdb://user:pass@host:50000/db` of the read-only user that runs user
            SQL on a server (`DFA_MONETDB_READER_URL`); default: `dfanalyzer_reader`, created by the service.
        models_path: where trained model files live (`DFA_MODELS_DIR`), default `<data_dir>/models`;
            every service of one MonetDB database must be given the same (shared) folder.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: str = DEFAULT_DATA_DIR
    monetdb_url: str | None = None
    monetdb_reader_url: str | None = None
    models_path: str | None = None

    @classmethod
    def from_sources(cls, host=None, port=None, data_dir=None, monetdb_url=None, environ=os.environ,
                     monetdb_reader_url=None, models_dir=None):
        models_path = models_dir or environ.get("DFA_MODELS_DIR")
        return cls(
            host=host or environ.get("DFA_HOST") or DEFAULT_HOST,
            port=int(port or environ.get("DFA_PORT") or DEFAULT_PORT),
            data_dir=os.path.abspath(data_dir or environ.get("DFA_DATA_DIR") or DEFAULT_DATA_DIR),
            monetdb_url=monetdb_url or environ.get("DFA_MONETDB_URL") or None,
            monetdb_reader_url=monetdb_reader_url or environ.get("DFA_MONETDB_READER_URL") or None,
            models_path=os.path.abspath(models_path) if models_path else None,
        )

    @property
    def database_dir(self):
        return os.path.join(self.data_dir, "monetdb")

    @property
    def models_dir(self):
        return self.models_path or os.path.join(self.data_dir, "models")

    @property
    def pid_file(self):
        return os.path.join(self.data_dir, "dfanalyzer.pid")

    @property
    def log_file(self):
        return os.path.join(self.data_dir, "dfanalyzer.log")

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"
