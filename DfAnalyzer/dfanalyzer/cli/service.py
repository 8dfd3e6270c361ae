"""`dfanalyzer start|stop|status|reset`: the service process and its data directory."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import requests

from dfanalyzer.cli.storage_options import add_storage_options, storage_arguments, storage_settings
from dfanalyzer.config import Settings

STARTUP_SECONDS = 60


def add_address_options(parser):
    parser.add_argument("--host", help="address to bind (default: $DFA_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $DFA_PORT or 22000)")
    parser.add_argument("--data-dir", help="data directory (default: $DFA_DATA_DIR or ~/.dfanalyzer/data)")


def settings_from(args):
    return Settings.from_sources(host=args.host, port=args.port, data_dir=args.data_dir, **storage_settings(args))


def register(subcommands):
    start = subcommands.add_parser("start", help="start the service (in the background unless --foreground)")
    add_address_options(start)
    add_storage_options(start)
    start.add_argument("--foreground", action="store_true", help="serve in this process until interrupted")
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
    if args.foreground:
        from dfanalyzer.server import serve

        serve(settings)
        return 0
    healthy = _health(settings)
    if healthy and os.path.abspath(healthy.get("data_dir") or "") == settings.data_dir:
        print(f"DfAnalyzer is already running at {settings.url} (data: {settings.data_dir})")
        return 0
    if healthy:
        print(f"Port {settings.port} is taken by a DfAnalyzer serving {healthy.get('data_dir')}; stop it "
              f"(`dfanalyzer stop --port {settings.port}`) or choose another --port", file=sys.stderr)
        return 1
    os.makedirs(settings.data_dir, exist_ok=True)
    command = [sys.executable, "-m", "dfanalyzer", "start", "--foreground", "--host", settings.host,
               "--port", str(settings.port), "--data-dir", settings.data_dir]
    command += storage_arguments(settings)
    with open(settings.log_file, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
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
        health = _health(settings)
        if health and health.get("data_dir"):
            record = _pid_record(Settings.from_sources(port=settings.port, data_dir=health["data_dir"]))
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
        print(f"  backend: {health.get('backend')}   data directory: {health.get('data_dir')}")
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
