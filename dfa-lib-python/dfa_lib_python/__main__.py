"""`python -m dfa_lib_python`: look at the spool and send what earlier programs left in it
(records, and the trained models keras_prov left waiting beside it).

    python -m dfa_lib_python status  [--url URL] [--spool-dir DIR]
    python -m dfa_lib_python flush   [--url URL] [--spool-dir DIR] [--timeout SECONDS]
    python -m dfa_lib_python rejected [--spool-dir DIR]
"""
import argparse
import json
import logging
import os
import sys

from dfa_lib_python.client import Client, default_spool_dir, normalize_url
from dfa_lib_python.registry import registry as _registry

MODELS_FOLDER = "keras_prov-models"  # where keras_prov keeps trained models waiting for their upload


def _sessions(spool_dir):
    sessions = os.path.join(spool_dir, "sessions")
    for name in sorted(os.listdir(sessions)) if os.path.isdir(sessions) else []:
        directory = os.path.join(sessions, name)
        try:
            with open(os.path.join(directory, "meta.json"), encoding="utf-8") as meta:
                url = json.load(meta).get("url")
        except (OSError, ValueError):
            url = None
        size = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory) if f.endswith(".jsonl"))
        yield name, url, size


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dfa_lib_python", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["status", "flush", "rejected"])
    parser.add_argument("--url", default=None, help="DfAnalyzer URL (default: DFA_URL, else http://localhost:22000)")
    parser.add_argument("--spool-dir", default=None, help="spool directory (default: DFA_SPOOL_DIR, else ~/.cache/...)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds flush may take")
    args = parser.parse_args(argv)
    spool_dir = os.path.abspath(os.path.expanduser(args.spool_dir or default_spool_dir()))

    if args.command == "status":
        rows = list(_sessions(spool_dir))
        print(f"spool {spool_dir}: {len(rows)} session(s)")
        for name, url, size in rows:
            print(f"  {name}  {size:>10} bytes  for {url}")
        return 0
    if args.command == "rejected":
        from dfa_lib_python.spool import RejectedFile

        for record in RejectedFile(spool_dir).read():
            print(json.dumps(record))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    url = normalize_url(args.url or os.environ.get("DFA_URL") or "http://localhost:22000/")
    client = _registry.connect(Client(url, spool_dir))  # adopts the sessions left for this URL
    done = client.flush(args.timeout)
    models_left = _upload_waiting_models(url, spool_dir) if done else None
    client.close(timeout=1)
    if not done:
        print(f"records remain in {spool_dir}; is DfAnalyzer running at {url}?")
        return 1
    if models_left:
        print(f"the records are stored, but {models_left} trained model(s) still wait in {spool_dir}; "
              f"is DfAnalyzer running at {url}?")
        return 1
    print("everything in the spool is stored")
    return 0


def _upload_waiting_models(url, spool_dir):
    """Uploads the trained models keras_prov left beside the spool; returns how many still wait.

    keras_prov (installed with this library) saves them; it is imported only when some wait,
    since it brings Keras."""
    folder = os.path.join(spool_dir, MODELS_FOLDER)
    if not os.path.isdir(folder) or not os.listdir(folder):
        return 0
    from keras_prov.model_store_client import ModelStoreClient

    models = ModelStoreClient(url, spool_dir)
    models.deliver_pending()
    return len(models.waiting())


if __name__ == "__main__":
    sys.exit(main())
