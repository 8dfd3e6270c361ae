"""Whether runs trained on the same data, with the same code, in the same environment: the rows the
compare page adds to its table, a one-line verdict per part, and the text diffs behind them."""
import difflib

from dfanalyzer.runs.lineage import RunLineage

MAX_DIFF_LINES = 400
CODE_FIELDS = ("script_path", "script_sha256", "notebook", "cell_sha256", "git_commit", "git_branch", "git_dirty",
               "git_diff_sha256", "command_line")
ENVIRONMENT_FIELDS = ("python_version", "packages_sha256", "packages_count")
DIGEST_FIELDS = {"script_sha256", "cell_sha256", "git_diff_sha256", "packages_sha256"}
DIFFED_TEXTS = (("script", "script_sha256"), ("cell", "cell_sha256"), ("git diff", "git_diff_sha256"),
                ("packages", "packages_sha256"))


def compare_lineage(store, runs):
    """{"rows", "verdict", "diffs"} for `runs` ([(execution, dataflow)], the first is the reference).

    rows: table rows (group data/code/environment) as the comparison's other rows, with digests
    shortened for reading but compared in full; verdict: {"data"|"code"|"environment": "same" |
    "differ" | "not recorded"}; diffs: unified diffs of the stored texts (script or cell, git diff,
    package list) of each run against the first, when they differ."""
    reader = RunLineage(store)
    lineages = [reader.read(execution, dataflow) for execution, dataflow in runs]
    data = [_data_values(lineage) for lineage in lineages]
    codes = [lineage["code"] for lineage in lineages]
    rows = _rows("data", data) + _rows("code", [{k: c.get(k) for k in CODE_FIELDS if c.get(k) is not None}
                                                for c in codes])
    rows += _rows("environment", [{k: c.get(k) for k in ENVIRONMENT_FIELDS if c.get(k) is not None} for c in codes])
    verdict = {group: _verdict([row for row in rows if row["group"] == group], values)
               for group, values in (("data", data), ("code", codes), ("environment", codes))}
    diffs = []
    first = lineages[0]
    for lineage in lineages[1:]:
        for label, field in DIFFED_TEXTS:
            a, b = first["code"].get(field), lineage["code"].get(field)
            if a and b and a != b:
                diffs.append({"kind": label, "from": first["execution"], "to": lineage["execution"],
                              "diff": _diff(reader, first, a, lineage, b)})
    return {"rows": rows, "verdict": verdict, "diffs": diffs}


def _data_values(lineage):
    """{"training x": sha256, ...} of the run's latest fit, and of its evaluations."""
    values = {}
    for row in lineage["data"]:
        if row.get("sha256"):
            values[f"{row['use']} {row['argument']}"] = f"{row['sha256']} ({row.get('digest_kind')})"
    return values


def _rows(group, per_run):
    names = []
    for values in per_run:
        names += [name for name in values if name not in names]
    rows = []
    for name in names:
        full = [values.get(name) for values in per_run]
        shown = [_short(value) if (group == "data" or name in DIGEST_FIELDS) else value for value in full]
        rows.append({"group": group, "name": name, "values": shown, "differs": len({repr(v) for v in full}) > 1})
    return rows


def _short(value):
    if not isinstance(value, str) or len(value) < 64:
        return value
    return value[:12] + "…" + value[64:]


def _verdict(rows, values):
    if not any(values):
        return "not recorded"
    return "differ" if any(row["differs"] for row in rows) else "same"


def _diff(reader, first, a, second, b):
    old = reader.text(first["dataflow"], a)
    new = reader.text(second["dataflow"], b)
    if old is None or new is None:
        return "(a text is not stored)"
    lines = list(difflib.unified_diff((old[1] or "").splitlines(), (new[1] or "").splitlines(),
                                      fromfile=f"{first['execution']}", tofile=f"{second['execution']}", lineterm="",
                                      n=2))
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... {len(lines) - MAX_DIFF_LINES} more lines"]
    return "\n".join(lines)
