"""`dfanalyzer runs`: the executions with dataflow, start, status and final metrics."""
import json

from dfanalyzer.cli.client import ServiceClient, add_url_option
from dfanalyzer.cli.query import format_table, number_text


def register(subcommands):
    parser = subcommands.add_parser("runs", help="list executions with dataflow, start, status and final metrics")
    parser.add_argument("--dataflow", help="only the executions of this dataflow")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_url_option(parser)
    parser.set_defaults(run=run)


def run(args):
    client = ServiceClient(args.url)
    params = {"dataflow": args.dataflow} if args.dataflow else {}
    runs = client.get_json("/api/v1/runs", **params)
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    if not runs:
        print("no executions stored yet" + (f" for dataflow {args.dataflow!r}" if args.dataflow else ""))
        return 0
    rows = [[run["execution"], run["dataflow"], _time(run.get("start_time")), _status(run),
             _metrics(run.get("metrics") or {})] for run in runs]
    print(format_table(["execution", "dataflow", "start", "status", "final metrics"], rows))
    return 0


def _status(run):
    """LOST says when the run's process was last heard of."""
    if run["status"] == "LOST" and run.get("last_heard"):
        return f"LOST (last heard {_time(run['last_heard'])} UTC)"
    return run["status"]


def _time(value):
    return (value or "").replace("T", " ")[:19]


def _metrics(metrics):
    return "  ".join(f"{name}={_number(value)}" for name, value in metrics.items())


def _number(value):
    if isinstance(value, float):
        return number_text(value, significant=6)
    return str(value)
