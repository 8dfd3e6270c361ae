"""Settings of the service: address, data directory and storage backend.

Flags win over environment variables, which win over the defaults.
"""
import os
from dataclasses import dataclass

from dfanalyzer.disk_space import DEFAULT_MIN_FREE, min_free_from, parse_size
from dfanalyzer.errors import ConfigurationError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 22000
DEFAULT_DATA_DIR = os.path.join(os.path.expanduser("~"), ".dfanalyzer", "data")
# A worker is replaced after this many requests unless told otherwise: without it, its memory grew
# by about 35 MB per 100,000 mixed requests (bench/soak.py), and a service runs for weeks; the
# hand-over fails no request (supervisor.py), it makes those arriving during it wait a few seconds.
DEFAULT_MAX_REQUESTS = 100_000


@dataclass
class Settings:
    """Where the service listens and where it keeps its data.

    Args:
        host: address to bind; 127.0.0.1 unless told otherwise (`DFA_HOST`).
        port: TCP port (`DFA_PORT`), 22000 as the original DfAnalyzer.
        data_dir: directory of the embedded database, the model store and the pid file (`DFA_DATA_DIR`).
        monetdb_url: `monetdb://user:pass@host:50000/db` to use a MonetDB server instead of the
            embedded engine (`DFA_MONETDB_URL`).
        token: when set, every endpoint but /health requires `Authorization: Bearer <token>`
            (`DFA_TOKEN`). Required to bind an address other than loopback, unless `insecure`.
            A token `NAME:SECRET` (sent whole) also names the person who steers with it.
        read_token: a second token that reads only (`DFA_READ_TOKEN`): pages, GETs and queries,
            but neither ingestion nor steering (403).
        lost_after: seconds without news from a listening training process after which its run
            is LOST (`DFA_LOST_AFTER`, default 60).
        insecure: serve a non-loopback address without a token, on purpose.
        cors_origins: origins allowed to call the API from a browser (`DFA_CORS_ORIGINS`, comma
            separated); none by default, so no CORS header is sent.
        monetdb_reader_url: `monetdb://user:pass@host:50000/db` of the read-only user that runs user
            SQL on a server (`DFA_MONETDB_READER_URL`); default: `dfanalyzer_reader`, created by the service.
        models_path: where trained model files live (`DFA_MODELS_DIR`), default `<data_dir>/models`;
            every service of one MonetDB database must be given the same (shared) folder.
        min_free: bytes the service keeps free on the disks of the database and the models
            (`DFA_MIN_FREE`, e.g. "1GB"); writing more answers 507 (see disk_space). 0: no check.
        max_requests: the worker is replaced, gracefully, after serving this many requests
            (`DFA_MAX_REQUESTS`, default 100,000); 0: never.
        max_rss: the worker is replaced, gracefully, once its resident memory passes this many
            bytes (`DFA_MAX_RSS`, e.g. "2GB"); 0: never.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: str = DEFAULT_DATA_DIR
    monetdb_url: str | None = None
    token: str | None = None
    insecure: bool = False
    read_token: str | None = None
    lost_after: float | None = None
    cors_origins: tuple = ()
    monetdb_reader_url: str | None = None
    models_path: str | None = None
    min_free: int = DEFAULT_MIN_FREE
    max_requests: int = DEFAULT_MAX_REQUESTS
    max_rss: int = 0

    @classmethod
    def from_sources(cls, host=None, port=None, data_dir=None, monetdb_url=None, token=None, insecure=False,
                     cors_origins=None, environ=os.environ, monetdb_reader_url=None, models_dir=None,
                     min_free=None, max_requests=None, max_rss=None, read_token=None, lost_after=None):
        models_path = models_dir or environ.get("DFA_MODELS_DIR")
        origins = cors_origins or environ.get("DFA_CORS_ORIGINS") or ""
        if isinstance(origins, str):
            origins = [origin.strip() for origin in origins.split(",")]
        return cls(
            host=host or environ.get("DFA_HOST") or DEFAULT_HOST,
            port=int(port or environ.get("DFA_PORT") or DEFAULT_PORT),
            data_dir=os.path.abspath(data_dir or environ.get("DFA_DATA_DIR") or DEFAULT_DATA_DIR),
            monetdb_url=monetdb_url or environ.get("DFA_MONETDB_URL") or None,
            token=token or environ.get("DFA_TOKEN") or None,
            insecure=bool(insecure),
            read_token=read_token or environ.get("DFA_READ_TOKEN") or None,
            lost_after=float(lost_after or environ.get("DFA_LOST_AFTER") or 0) or None,
            cors_origins=tuple(origin for origin in origins if origin),
            monetdb_reader_url=monetdb_reader_url or environ.get("DFA_MONETDB_READER_URL") or None,
            models_path=os.path.abspath(models_path) if models_path else None,
            min_free=min_free_from(min_free, environ),
            max_requests=int(max_requests if max_requests is not None
                             else environ.get("DFA_MAX_REQUESTS") or DEFAULT_MAX_REQUESTS),
            max_rss=_size(max_rss if max_rss is not None else environ.get("DFA_MAX_RSS"), "--max-rss"),
        )

    @property
    def loopback(self):
        """Whether the service listens only to this machine."""
        return self.host in ("localhost", "::1") or self.host.startswith("127.")

    def check_exposure(self):
        """Refuses to serve the network without a token unless `insecure` says so on purpose."""
        if self.read_token and not self.token:
            raise ConfigurationError("--read-token lets viewers read while --token guards writes and steering; "
                                     "give --token too (without it everyone may write anyway)")
        if self.read_token and self.read_token == self.token:
            raise ConfigurationError("--read-token must differ from --token")
        if not self.loopback and not self.token and not self.insecure:
            raise ConfigurationError(
                f"--host {self.host} makes DfAnalyzer reachable from other machines, and without a token anyone "
                "there can read and upload provenance and models. Give --token SECRET (or DFA_TOKEN), or "
                "--insecure to serve without one on purpose")

    def process_environment(self, environ=os.environ):
        """The environment of a process serving these settings. The MonetDB URL, the token and
        the origins travel there rather than on its command line, which every user of the machine
        can read (the URL may hold a password)."""
        environment = dict(environ)
        for name, value in (("DFA_MONETDB_URL", self.monetdb_url), ("DFA_TOKEN", self.token),
                            ("DFA_CORS_ORIGINS", ",".join(self.cors_origins)),
                            ("DFA_MONETDB_READER_URL", self.monetdb_reader_url), ("DFA_MODELS_DIR", self.models_path),
                            ("DFA_MIN_FREE", str(self.min_free)), ("DFA_MAX_REQUESTS", str(self.max_requests)),
                            ("DFA_MAX_RSS", str(self.max_rss)), ("DFA_READ_TOKEN", self.read_token),
                            ("DFA_LOST_AFTER", f"{self.lost_after:g}" if self.lost_after else None)):
            environment.pop(name, None)
            if value:
                environment[name] = value
        return environment

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


def _size(value, option):
    """Bytes of a size given as a number or a text such as "2GB"; 0 when not given."""
    if value is None or value == "":
        return 0
    return value if isinstance(value, int) else parse_size(value, option)
