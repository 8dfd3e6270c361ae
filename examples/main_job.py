"""The README's main job: DfAnalyzer on embedded MonetDB, the AlexNet-style example trained with
provenance, the analyses, and the run's PROV documents and graphs.

Run it with `make run` (which sets up .venv first) or `python examples/main_job.py`.
Data stays in ./dfa-data (kept across runs), documents and images go to ./out.
"""
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DFA_DATA_DIR", ROOT / "dfa-data"))
OUTPUT_DIR = ROOT / "out"
PORT = os.environ.get("DFA_PORT", "22000")
URL = f"http://127.0.0.1:{PORT}"


def dfanalyzer(*args):
    """Runs a `dfanalyzer` command with this Python; stops the job if it fails."""
    completed = subprocess.run([sys.executable, "-m", "dfanalyzer", *args], text=True)
    if completed.returncode:
        sys.exit(f"`dfanalyzer {' '.join(args)}` failed with exit code {completed.returncode}")


def newest_execution(dataflow):
    with urllib.request.urlopen(f"{URL}/api/v1/executions?dataflow={dataflow}") as answer:
        executions = json.load(answer)
    if not executions:
        sys.exit(f"no execution of dataflow {dataflow!r} was stored")
    return executions[-1]["execution"]


def main():
    print(f"== Starting DfAnalyzer on embedded MonetDB ({DATA_DIR})")
    dfanalyzer("start", "--port", PORT, "--data-dir", str(DATA_DIR))
    environment = dict(os.environ, DFA_URL=URL)
    print("\n== Training the AlexNet-style CNN with provenance (examples/alexnet_kerasprov.py)")
    subprocess.run([sys.executable, str(ROOT / "examples" / "alexnet_kerasprov.py"), "--output", str(OUTPUT_DIR)],
                   env=environment, check=True)
    execution = newest_execution("alexnet")
    print("\n== Executions stored so far")
    dfanalyzer("runs", "--url", URL)
    print(f"\n== PROV documents and graphs of execution {execution!r}")
    OUTPUT_DIR.mkdir(exist_ok=True)
    dfanalyzer("export", execution, "--kind", "execution", "--format", "provn", "-o", str(OUTPUT_DIR / f"{execution}.provn"), "--url", URL)
    dfanalyzer("export", execution, "--kind", "execution", "--format", "json", "-o", str(OUTPUT_DIR / f"{execution}.json"), "--url", URL)
    dfanalyzer("graph", execution, "--subject", "execution", "--kind", "prov", "-o", str(OUTPUT_DIR / f"{execution}-prov.png"), "--url", URL)
    dfanalyzer("graph", "alexnet", "--subject", "dataflow", "--kind", "spec", "-o", str(OUTPUT_DIR / "alexnet-spec.png"), "--url", URL)
    url_option = "" if PORT == "22000" else f" --url {URL}"
    print(f"\nDfAnalyzer is still running at {URL} with its data in {DATA_DIR}.")
    print(f"Web app: {URL}/   (this run: {URL}/runs/{execution}?dataflow=alexnet)")
    print("Try:")
    print(f"  .venv/bin/dfanalyzer query{url_option} \"SELECT epoch, loss, val_loss FROM alexnet.otrainingmodel ORDER BY epoch\"")
    print(f"  .venv/bin/dfanalyzer runs{url_option}")
    print(f"  .venv/bin/dfanalyzer stop --port {PORT} --data-dir {DATA_DIR}")


if __name__ == "__main__":
    main()
