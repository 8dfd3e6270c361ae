"""Runs side by side: hyperparameters, adaptations, steering actions, layers, final and test
metrics, data, code and environment (with the diffs of scripts and package lists), overlaid curves."""
from dfanalyzer.errors import InvalidInput
from dfanalyzer.runs.lineage_comparison import compare_lineage
from dfanalyzer.runs.run_detail import RunDetail
from dfanalyzer.runs.series import EpochSeries

MAX_RUNS = 500
LAYER_FIELDS_SKIPPED = {"layer_index"}


class Comparison:
    """Any number of runs compared.

    Args:
        store: a `dfanalyzer.store.Store`.

    Example:
        answer = Comparison(store).compare(["run-1", "run-2"], dataflow="alexnet")
        [row["name"] for row in answer["rows"] if row["differs"]]
    """

    def __init__(self, store):
        self.store = store

    def compare(self, executions, dataflow=None, points=500):
        if not executions:
            raise InvalidInput("name the runs to compare: ?runs=A,B,...")
        if len(executions) > MAX_RUNS:
            raise InvalidInput(f"{len(executions)} runs asked for; compare at most {MAX_RUNS} at once")
        details, curves, sets = [], [], None
        for execution in executions:
            details.append(RunDetail(self.store).read(execution, dataflow, sets))
            series = EpochSeries(self.store, execution, dataflow, sets)
            sets = series.sets   # runs of one dataflow share it
            curves.append(series.curves(points=points))
        rows = []
        rows += _rows("run", ["status", "epochs"], [
            {"status": d["status"], "epochs": c["total"]} for d, c in zip(details, curves)])
        rows += _rows("hyperparameter", _union(d["hyperparameters"] for d in details),
                      [d["hyperparameters"] for d in details])
        rows.append(_row("adaptation", "learning-rate adaptations", [_adaptations(d["adaptations"]) for d in details]))
        rows.append(_row("steering", "steering actions", [_steering(d["steering"]) for d in details]))
        layers = [_layers(d["layers"]) for d in details]
        rows += _rows("layer", _union(layers), layers)
        finals = [{metric: points[-1][1] for metric, points in c["series"].items() if points} for c in curves]
        rows += _rows("final", _union(finals), finals)
        rows += _rows("test", _union(d["test"] for d in details),
                      [d["test"] for d in details], skip={"timestamp", "elapsed_time"})
        lineage = compare_lineage(self.store, [(d["execution"], d["dataflow"]) for d in details])
        rows += lineage["rows"]
        # The learning rate last: the charts show how well first.
        metrics = sorted(_union(c["metrics"] for c in curves), key=lambda metric: "learning_rate" in metric)
        return {
            "runs": [{"execution": d["execution"], "dataflow": d["dataflow"], "status": d["status"]} for d in details],
            "rows": rows,
            "metrics": metrics,
            "lineage": {"verdict": lineage["verdict"], "diffs": lineage["diffs"]},
            "series": {metric: {d["execution"]: c["series"].get(metric, []) for d, c in zip(details, curves)}
                       for metric in metrics},
        }


def _union(dicts):
    names = []
    for values in dicts:
        for name in values:
            if name not in names:
                names.append(name)
    return names


def _row(group, name, values):
    return {"group": group, "name": name, "values": values, "differs": len({repr(v) for v in values}) > 1}


def _rows(group, names, per_run, skip=()):
    return [_row(group, name, [values.get(name) for values in per_run]) for name in names if name not in skip]


def _adaptations(adaptations):
    return "; ".join(f"epoch {a.get('epoch'):g}: {a.get('old_learning_rate')} → {a.get('new_learning_rate')}"
                     f" ({a.get('cause')})" if isinstance(a.get("epoch"), (int, float)) else str(a)
                     for a in adaptations) or None


def _steering(actions):
    """"epoch 10: set_learning_rate 0.0123 by alice (applied); ..." of a run's steering actions."""
    described = []
    for action in actions:
        epoch = f"epoch {action['applied_epoch']:g}: " if action.get("applied_epoch") is not None else ""
        value = f" {action['value']:g}" if action.get("value") is not None else ""
        note = f" “{action['note']}”" if action.get("note") else ""
        described.append(f"{epoch}{action['action']}{value} by {action['actor']}{note} ({action['state']})")
    return "; ".join(described) or None


def _layers(layers):
    """{"layer 0": "dense Dense units=64 activation=relu", ...}"""
    described = {}
    for index, layer in enumerate(layers):
        fields = [f"{key}={_plain(value)}" for key, value in layer.items()
                  if value not in (None, "") and key not in LAYER_FIELDS_SKIPPED and key not in ("name", "class_name")]
        described[f"layer {index}"] = " ".join([str(layer.get("class_name") or "")] + fields).strip()
    return described


def _plain(value):
    return f"{value:g}" if isinstance(value, float) else value
