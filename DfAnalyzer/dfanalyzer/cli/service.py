"""`dfanalyzer start|stop|status|reset`: the service process and its data directory."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import requests

from dfanalyzer.config import Settings

STARTUP_SECONDS = 60


def add_address_options(parser):
    parser.add_argument("--host", help="address to bind (default: $DFA_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $DFA_PORT or 22000)")
    parser.add_argument("--data-dir", help="data directory (default: $DFA_DATA_DIR or ~/.dfanalyzer/data)")


def settings_from(args):
    return Settings.from_sources(host=args.host, port=args.port, data_dir=args.data_dir,
                                 monetdb_url=getattr(args, "monetdb_url", None), **_access_options(args))


# ---- access control (issue 9): --token, --insecure, --cors-origin
def add_access_options(parser):
    parser.add_argument("--token", help="require Authorization: Bearer TOKEN on every endpoint but /health "
                                        "(default: $DFA_TOKEN; clients send $DFA_TOKEN)")
    parser.add_argument("--insecure", action="store_true",
                        help="serve an address other than loopback without a token, on purpose")
    parser.add_argument("--cors-origin", action="append", dest="cors_origins",
                        help="an origin allowed to call the API from a browser (repeatable; default "
                             "$DFA_CORS_ORIGINS, else none)")


def _access_options(args):
    return {"token": getattr(args, "token", None), "insecure": getattr(args, "insecure", False),
            "cors_origins": getattr(args, "cors_origins", None)}


def _child_environment(settings):
    """The token and origins reach the serving process through its environment, not its command
    line, which every user of the machine can read."""
    environment = dict(os.environ)
    environment.pop("DFA_TOKEN", None)
    if settings.token:
        environment["DFA_TOKEN"] = settings.token
    if settings.cors_origins:
        environment["DFA_CORS_ORIGINS"] = ",".join(settings.cors_origins)
    return environment
# ----


def register(subcommands):
    start = subcommands.add_parser("start", help="start the service (in the background unless --foreground)")
    add_address_options(start)
    start.add_argument("--monetdb-url", help="use a MonetDB server: monetdb://user:pass@host:50000/db "
                                             "(default: $DFA_MONETDB_URL, else embedded MonetDB in the data dir)")
    start.add_argument("--foreground", action="store_true", help="serve in this process until interrupted")
    add_access_options(start)
    start.set_defaults(run=run_start)
    stop = subcommands.add_parser("stop", help="stop the service of a data directory / port")
    add_address_options(stop)
    stop.set_defaults(run=run_stop)
    status = subcommands.add_parser("status", help="say whether the service answers, and where its data is")
    add_address_options(status)
    status.set_defaults(run=run_status)
    reset = subcommands.add_parser("reset", help="delete all provenance in a data directory (on purpose only)")
    add_address_options(reset)
    reset.add_argument("--yes", action="store_true", help="confirm the deletion")
    reset.set_defaults(run=run_reset)


def _health(settings, timeout=1.0):
    try:
        response = requests.get(f"http://{_client_host(settings.host)}:{settings.port}/health", timeout=timeout)
        return response.json() if response.ok else None
    except (requests.ConnectionError, requests.Timeout, ValueError):
        return None


def _client_host(host):
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _pid_record(settings):
    try:
        with open(settings.pid_file) as pid_file:
            record = json.load(pid_file)
    except (OSError, ValueError):
        return None
    try:
        os.kill(record["pid"], 0)
    except (OSError, KeyError):
        return None
    return record


def run_start(args):
    settings = settings_from(args)
    settings.check_exposure()
    if args.foreground:
        from dfanalyzer.server import serve

        serve(settings)
        return 0
    healthy = _health(settings)
    record = _pid_record(settings)  # /health does not tell its data directory: the pid file does
    if healthy and record and record.get("port") == settings.port:
        print(f"DfAnalyzer is already running at {settings.url} (data: {settings.data_dir})")
        return 0
    if healthy:
        print(f"Port {settings.port} is taken by a DfAnalyzer serving another data directory; stop it "
              f"(`dfanalyzer stop --port {settings.port} --data-dir ...`) or choose another --port", file=sys.stderr)
        return 1
    os.makedirs(settings.data_dir, exist_ok=True)
    command = [sys.executable, "-m", "dfanalyzer", "start", "--foreground", "--host", settings.host,
               "--port", str(settings.port), "--data-dir", settings.data_dir]
    if settings.monetdb_url:
        command += ["--monetdb-url", settings.monetdb_url]
    if settings.insecure:
        command += ["--insecure"]
    with open(settings.log_file, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env=_child_environment(settings))
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(f"DfAnalyzer did not start (exit code {process.returncode}). Last lines of {settings.log_file}:",
                  file=sys.stderr)
            print(_tail(settings.log_file), file=sys.stderr)
            return 1
        if _health(settings):
            print(f"DfAnalyzer is running at {settings.url}")
            print(f"  data directory: {settings.data_dir}")
            print(f"  log: {settings.log_file}   API docs: {settings.url}/docs")
            return 0
        time.sleep(0.2)
    print(f"DfAnalyzer did not answer within {STARTUP_SECONDS}s; see {settings.log_file}", file=sys.stderr)
    return 1


def _tail(path, lines=15):
    try:
        with open(path, errors="replace") as log:
            return "".join(log.readlines()[-lines:])
    except OSError:
        return "(no log)"


def run_stop(args):
    settings = settings_from(args)
    record = _pid_record(settings)
    if record is None:
        print(f"No DfAnalyzer is running for {settings.data_dir} (port {settings.port})")
        return 0
    os.kill(record["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(record["pid"], 0)
        except OSError:
            print(f"DfAnalyzer (process {record['pid']}) stopped")
            return 0
        time.sleep(0.1)
    print(f"DfAnalyzer (process {record['pid']}) did not stop within 30s", file=sys.stderr)
    return 1


def run_status(args):
    settings = settings_from(args)
    health = _health(settings)
    if health:
        print(f"DfAnalyzer is running at {settings.url}")
        data_dir = settings.data_dir if _pid_record(settings) else "(another data directory)"
        print(f"  backend: {health.get('backend')}   data directory: {data_dir}")
        return 0
    print(f"DfAnalyzer is not answering at {settings.url}")
    return 3


def run_reset(args):
    settings = settings_from(args)
    if _pid_record(settings) or _health(settings):
        print("DfAnalyzer is running on this data directory; stop it first (`dfanalyzer stop`)", file=sys.stderr)
        return 1
    if not args.yes:
        print(f"This deletes all provenance and models in {settings.data_dir}. Run again with --yes to do it.",
              file=sys.stderr)
        return 1
    for path in (settings.database_dir, settings.models_dir):
        shutil.rmtree(path, ignore_errors=True)
    print(f"Deleted the database and models in {settings.data_dir}")
    return 0
