"""`dfanalyzer start|stop|status|reset`: the service process and its data directory."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import requests

from dfanalyzer.cli.storage_options import add_storage_options, storage_settings
from dfanalyzer.config import Settings
from dfanalyzer.supervisor import read_pid_record

STARTUP_SECONDS = 60
STOP_WAIT_SECONDS = 15
DEFAULT_QUERY_TIMEOUT = int(os.environ.get("DFA_QUERY_TIMEOUT") or 30)


def add_address_options(parser):
    parser.add_argument("--host", help="address to bind (default: $DFA_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $DFA_PORT or 22000)")
    parser.add_argument("--data-dir", help="data directory (default: $DFA_DATA_DIR or ~/.dfanalyzer/data)")


def settings_from(args):
    return Settings.from_sources(host=args.host, port=args.port, data_dir=args.data_dir,
                                 **storage_settings(args), **_access_options(args), **_worker_options(args))


def add_worker_options(parser):
    parser.add_argument("--min-free", help="free space to keep on the disks of the data and the models, e.g. 1GB, "
                                           "500MB, 0 for no check; below it ingestion answers 507 until space is "
                                           "freed (default: $DFA_MIN_FREE or 256MB)")
    parser.add_argument("--max-requests", type=int,
                        help="replace the worker process, without failing a request, after it served this many "
                             "requests, 0 for never (default: $DFA_MAX_REQUESTS or 100000)")
    parser.add_argument("--max-rss", help="replace the worker process, without failing a request, once its memory "
                                          "passes this size, e.g. 2GB (default: $DFA_MAX_RSS or 0, never)")


def _worker_options(args):
    return {"min_free": getattr(args, "min_free", None), "max_requests": getattr(args, "max_requests", None),
            "max_rss": getattr(args, "max_rss", None)}


def add_access_options(parser):
    parser.add_argument("--token", help="require Authorization: Bearer TOKEN on every endpoint but /health "
                                        "(default: $DFA_TOKEN; clients send $DFA_TOKEN); NAME:SECRET names "
                                        "the person recorded as steering with it")
    parser.add_argument("--read-token", help="a second token that may read (pages, GETs, queries) but neither "
                                             "ingest nor steer runs (default: $DFA_READ_TOKEN)")
    parser.add_argument("--lost-after", type=float,
                        help="seconds without news from a listening training process before its run shows LOST "
                             "(default: $DFA_LOST_AFTER or 60)")
    parser.add_argument("--insecure", action="store_true",
                        help="serve an address other than loopback without a token, on purpose")
    parser.add_argument("--cors-origin", action="append", dest="cors_origins",
                        help="an origin allowed to call the API from a browser (repeatable; default "
                             "$DFA_CORS_ORIGINS, else none)")


def _access_options(args):
    return {"token": getattr(args, "token", None), "insecure": getattr(args, "insecure", False),
            "cors_origins": getattr(args, "cors_origins", None), "read_token": getattr(args, "read_token", None),
            "lost_after": getattr(args, "lost_after", None)}


def register(subcommands):
    start = subcommands.add_parser("start", help="start the service (in the background unless --foreground)")
    add_address_options(start)
    add_storage_options(start)
    start.add_argument("--foreground", action="store_true", help="serve in this process until interrupted")
    start.add_argument("--query-timeout", type=int, default=DEFAULT_QUERY_TIMEOUT,
                       help="seconds a user query may run before it is stopped (default: $DFA_QUERY_TIMEOUT or 30)")
    add_worker_options(start)
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


def _health(settings, timeout=1.0, unreachable_backend=False):
    """GET /health's answer when the service is healthy (with `unreachable_backend`, also when
    it runs but its MonetDB server does not answer yet); else None."""
    try:
        response = requests.get(f"http://{_client_host(settings.host)}:{settings.port}/health", timeout=timeout)
        answer = response.json()
    except (requests.ConnectionError, requests.Timeout, ValueError):
        return None
    if response.ok or (unreachable_backend and answer.get("status") == "backend unreachable"):
        return answer
    return None


def _client_host(host):
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _pid_record(settings):
    return read_pid_record(settings.pid_file)


def run_start(args):
    settings = settings_from(args)
    settings.check_exposure()
    from dfanalyzer.in_process_service import read_record

    notebook = read_record(settings.data_dir)
    if notebook:
        print(f"the data directory {settings.data_dir} is held by process {notebook['pid']} (a notebook kernel), "
              f"which serves it at {notebook['url']}: open that address, or give CLI commands --url {notebook['url']} "
              f"(or --url embedded:{settings.data_dir})", file=sys.stderr)
        return 1
    if args.foreground:
        from dfanalyzer.supervisor import Supervisor

        return Supervisor(settings, args.query_timeout).run()
    record = _pid_record(settings)
    if record and record.get("port") == settings.port:
        print(f"DfAnalyzer is already running at {settings.url} (data: {settings.data_dir})")
        return 0
    if record:
        print(f"the data directory {settings.data_dir} is in use by process {record['pid']} (port {record.get('port')}); "
              f"stop it (`dfanalyzer stop --data-dir {settings.data_dir}`) or choose another --data-dir", file=sys.stderr)
        return 1
    if _health(settings):
        print(f"Port {settings.port} is taken by another DfAnalyzer; stop it (`dfanalyzer stop --port {settings.port} "
              "--data-dir ...`) or choose another --port", file=sys.stderr)
        return 1
    os.makedirs(settings.data_dir, exist_ok=True)
    command = [sys.executable, "-m", "dfanalyzer", "start", "--foreground", "--host", settings.host,
               "--port", str(settings.port), "--data-dir", settings.data_dir, "--query-timeout", str(args.query_timeout)]
    if settings.insecure:
        command += ["--insecure"]
    with open(settings.log_file, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env=settings.process_environment())
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(f"DfAnalyzer did not start (exit code {process.returncode}). Last lines of {settings.log_file}:",
                  file=sys.stderr)
            print(_tail(settings.log_file), file=sys.stderr)
            return 1
        health = _health(settings, unreachable_backend=True)
        if health:
            print(f"DfAnalyzer is running at {settings.url}")
            print(f"  data directory: {settings.data_dir}")
            print(f"  log: {settings.log_file}   API docs: {settings.url}/docs")
            if health["status"] == "backend unreachable":
                from dfanalyzer.store.server import public_url  # pymonetdb only on this path

                print(f"the MonetDB server at {public_url(settings.monetdb_url)} cannot be reached yet; DfAnalyzer "
                      "answers 503 until it does and connects as soon as it answers (clients keep what they send)",
                      file=sys.stderr)
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
        elsewhere = " (a DfAnalyzer of another data directory answers on that port: name its --data-dir)" \
            if _health(settings) else ""
        print(f"No DfAnalyzer is running for {settings.data_dir}{elsewhere}")
        return 0
    os.kill(record["pid"], signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while time.monotonic() < deadline:
        if read_pid_record(settings.pid_file) is None and not _alive(record["pid"]):
            print(f"DfAnalyzer (process {record['pid']}) stopped")
            return 0
        time.sleep(0.1)
    print(f"DfAnalyzer (process {record['pid']}) did not stop within {STOP_WAIT_SECONDS}s", file=sys.stderr)
    return 1


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A stopped child of this very process stays a zombie until reaped; it is not running.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def run_status(args):
    settings = settings_from(args)
    health = _health(settings)
    record = _pid_record(settings)
    if health:
        print(f"DfAnalyzer is running at {settings.url}")
        data_dir = settings.data_dir if record else "(another data directory)"
        print(f"  backend: {health.get('backend')}   data directory: {data_dir}")
        restarts = health.get("worker_restarts", record.get("restarts") if record else None)
        if restarts:
            last = (record or {}).get("last_restart") or {}
            print(f"  worker restarts: {restarts} (last at {last.get('at', '?')}: {last.get('cause', '?')})")
        if record and record.get("recycles"):
            print(f"  worker recycles: {record['recycles']} (--max-requests / --max-rss)")
        return 0
    if record:
        print(f"DfAnalyzer (process {record['pid']}) holds {settings.data_dir} but is not answering at {settings.url}")
        return 3
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
