"""`dfanalyzer steer RUN ACTION`: stop a running training, change its learning rate, note why; or
show its steering log."""
import getpass
import os
import sys
import time
from urllib.parse import quote

from dfanalyzer.cli.client import ServiceClient, ServiceError, add_url_option
from dfanalyzer.cli.query import format_table

ACTIONS = {"stop": "stop", "stop_now": "stop_now", "stop-now": "stop_now", "set_learning_rate": "set_learning_rate",
           "set-learning-rate": "set_learning_rate", "lr": "set_learning_rate", "note": "note"}


def register(subcommands):
    parser = subcommands.add_parser(
        "steer", help="steer a running training: stop, stop_now, set_learning_rate VALUE, note; or its log",
        description="Asks the training process of RUN to act; it learns of it within seconds and applies it at "
                    "the next epoch (stop, set_learning_rate, note) or batch (stop_now) boundary. The request and "
                    "what the process did are recorded as the run's provenance.")
    parser.add_argument("execution", metavar="RUN", help="the execution tag (`dfanalyzer runs` lists them)")
    parser.add_argument("action", choices=sorted(set(ACTIONS) | {"log"}),
                        help="stop (after this epoch), stop_now (at the next batch), set_learning_rate VALUE (from "
                             "the next epoch), note (record --note only), or log (show what was asked and done)")
    parser.add_argument("value", nargs="?", type=float, help="the new learning rate, for set_learning_rate")
    parser.add_argument("--note", help="why (recorded with the action)")
    parser.add_argument("--as", dest="actor",
                        help="who asks (default: your login name); a service token NAME:SECRET names you instead")
    parser.add_argument("--dataflow", help="the run's dataflow, when several use the same execution tag")
    parser.add_argument("--wait", type=float, default=30.0,
                        help="seconds to wait for the training process to report what it did (default 30; 0: "
                             "do not wait)")
    add_url_option(parser)
    parser.set_defaults(run=run)


def run(args):
    if (args.url or os.environ.get("DFA_URL") or "").startswith("embedded:"):
        raise ServiceError("a run recorded with DFA_URL=embedded:... cannot be steered: no service listens for its "
                           "steering actions; record to a DfAnalyzer service (`dfanalyzer start`) to steer runs")
    client = ServiceClient(args.url)
    path = f"/api/v1/executions/{quote(args.execution, safe='')}/steering"
    params = {"dataflow": args.dataflow} if args.dataflow else {}
    if args.action == "log":
        return _print_log(client.get_json(path, **params))
    action = ACTIONS[args.action]
    if action == "set_learning_rate" and args.value is None:
        raise ServiceError("set_learning_rate needs the new rate: dfanalyzer steer RUN set_learning_rate 0.001")
    body = {"action": action, "note": args.note, "actor": args.actor or getpass.getuser()}
    if action == "set_learning_rate":
        body["value"] = args.value
    asked = client.post_json(path, body, **params)
    print(f"asked run {args.execution} to {action}" + (f" {args.value:g}" if args.value is not None else "")
          + f" (steering action {asked['id']}, as {asked['actor']})")
    deadline = time.monotonic() + max(0.0, args.wait)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        found = next((a for a in client.get_json(path, **params)["actions"] if a["id"] == asked["id"]), None)
        if found and found["state"] in ("applied", "refused"):
            print(_outcome(found))
            return 0 if found["state"] == "applied" else 1
    if args.wait > 0:
        print(f"the training process has not reported yet; `dfanalyzer steer {args.execution} log` shows it later",
              file=sys.stderr)
    return 0


def _outcome(action):
    epoch = f" at epoch {action['applied_epoch']:g}" if action.get("applied_epoch") is not None else ""
    if action["state"] == "refused":
        return f"refused{epoch}: {action.get('message') or 'no reason given'}"
    change = ""
    if action.get("new_value") is not None:
        change = f": learning rate {action['old_value']:g} -> {action['new_value']:g}"
    return f"applied{epoch}{change}" + (f" ({action['message']})" if action.get("message") else "")


def _print_log(answer):
    heard = (answer.get("last_heard") or "").replace("T", " ")[:19]
    print(f"run {answer['execution']}: {answer['status']}; "
          + (f"listening (last heard {heard} UTC)" if answer["listening"]
             else (f"last heard {heard} UTC" if heard else "its process does not listen for steering")))
    if not answer["actions"]:
        print("no steering action asked")
        return 0
    rows = [[a["id"], (a["requested_at"] or "").replace("T", " ")[:19], a["actor"], a["action"],
             "" if a["value"] is None else f"{a['value']:g}", a["state"],
             "" if a["applied_epoch"] is None else f"{a['applied_epoch']:g}", a.get("note") or "",
             a.get("message") or ""] for a in answer["actions"]]
    print(format_table(["id", "asked (UTC)", "by", "action", "value", "state", "epoch", "note", "message"], rows))
    return 0
