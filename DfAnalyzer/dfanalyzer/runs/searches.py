"""Tuner searches (KerasTuner, Optuna) as keras_prov records them: every search, and one search
with its trials, the runs of each trial and the best score so far.

A search is an execution of its own in a dataflow with an oSearch set (its rows, the last one
per search_id current) and an oTrial set (idem per trial_id); the runs of a trial are the
executions its `runs` column names (their iTrainingModel rows carry search_id and trial_id).
"""
import datetime
import json

from dfanalyzer.errors import NotFound
from dfanalyzer.identifiers import qualified, quote
from dfanalyzer.runs.runs_table import RunsTable

SEARCH_SET = "osearch"
TRIAL_SET = "otrial"
LIST_COLUMNS = ("search_id", "library", "library_version", "tuner", "oracle", "pruner", "project", "objective",
                "direction", "max_trials", "executions_per_trial", "status", "started", "ended", "trials",
                "best_trial", "best_score")


class Searches:
    """Reads searches from a store.

    Example:
        Searches(store).list()                     # newest first
        Searches(store).read("randomsearch-20261207T104019-5cb5e0")
    """

    def __init__(self, store):
        self.store = store

    def _tables(self):
        """[(dataflow tag, schema, osearch table, otrial table or None)] of the dataflows with searches."""
        _, rows = self.store.read(
            "SELECT d.tag, d.schema_name, LOWER(s.tag), s.table_name FROM data_set s JOIN dataflow d ON s.df_id = d.id "
            f"WHERE LOWER(s.tag) IN ('{SEARCH_SET}', '{TRIAL_SET}') ORDER BY d.id")
        found = {}
        for tag, schema, set_tag, table in rows:
            if not self.store.table_columns(schema, table):
                continue
            found.setdefault(tag, {"schema": schema})[set_tag] = qualified(schema, table)
        return [(tag, t["schema"], t[SEARCH_SET], t.get(TRIAL_SET)) for tag, t in found.items() if SEARCH_SET in t]

    def _latest(self, table, key, where="", params=()):
        columns, rows = self.store.read(
            f"SELECT * FROM {table} WHERE id IN (SELECT MAX(id) FROM {table} {where} GROUP BY {quote(key)}) ORDER BY id",
            list(params))
        return [dict(zip(columns, row)) for row in rows]

    def list(self):
        """Every search, newest first, with its trial counts by status."""
        searches = []
        for tag, _, search_table, trial_table in self._tables():
            counts = {}
            if trial_table:
                for trial in self._latest(trial_table, "trial_id"):
                    counts.setdefault(trial["search_id"], {}).setdefault(trial["status"], 0)
                    counts[trial["search_id"]][trial["status"]] += 1
            for row in self._latest(search_table, "search_id"):
                search = {column: row.get(column) for column in LIST_COLUMNS}
                search["dataflow"] = tag
                search["trial_statuses"] = counts.get(row["search_id"], {})
                search["trials"] = sum(search["trial_statuses"].values()) or search["trials"]
                searches.append(search)
        searches.sort(key=lambda search: search["started"] or "", reverse=True)
        return searches

    def read(self, search_id):
        """One search: its row, the search space, its trials (tuned values, status, score, duration,
        runs with their status and epochs), the best score so far by trial, and the runs table
        columns of its runs (`runs`, as the runs table gives them)."""
        for tag, _, search_table, trial_table in self._tables():
            rows = self._latest(search_table, "search_id", "WHERE search_id = ?", [search_id])
            if rows:
                return self._detail(tag, rows[-1], trial_table)
        raise NotFound(f"search {search_id!r} is unknown; GET /api/v1/searches lists them")

    def _detail(self, tag, row, trial_table):
        search = {key: value for key, value in row.items() if not key.endswith("_task_id") and key != "id"}
        search["dataflow"] = tag
        search["search_space"] = _json(row.get("search_space"), [])
        trials = self._latest(trial_table, "trial_id", "WHERE search_id = ?", [row["search_id"]]) if trial_table else []
        table = RunsTable(self.store, tag).build()
        runs_by_tag = {run["execution"]: run for run in table["rows"]}
        run_tags = set()
        shown = []
        for trial in sorted(trials, key=lambda t: (t["trial_number"] or 0)):
            tags = [run for run in (trial.get("runs") or "").split(",") if run]
            run_tags.update(tags)
            shown.append({
                "trial_id": trial["trial_id"], "number": _int(trial["trial_number"]),
                "tuner_trial_id": trial["tuner_trial_id"], "status": trial["status"], "score": trial["score"],
                "best_step": trial["best_step"], "values": _json(trial["hyperparameters"], {}),
                "continues_trial": trial["continues_trial"], "bracket": trial["bracket"], "round": trial["round"],
                "epochs": trial["epochs"], "initial_epoch": trial["initial_epoch"],
                "pruned_epoch": trial["pruned_epoch"], "message": trial["message"],
                "intermediate_values": _json(trial["intermediate_values"], None),
                "started": trial["started"], "ended": trial["ended"],
                "duration": _seconds(trial["started"], trial["ended"]),
                "runs": [{"execution": run, "status": runs_by_tag.get(run, {}).get("status"),
                          "epochs": runs_by_tag.get(run, {}).get("epochs")} for run in tags],
            })
        search["trials"] = shown
        search["best_so_far"] = _best_so_far(shown, (row.get("direction") or "min").split(",")[0])
        search["columns"] = table["columns"]
        search["runs"] = [run for run in table["rows"] if run["execution"] in run_tags]
        # The runs table keys of the tuned values, in search-space order (keras_prov names each column).
        search["tuned_columns"] = [f"hp:{entry['column']}" for entry in search["search_space"]
                                   if isinstance(entry, dict) and entry.get("column")]
        search["prov"] = f"/api/v1/searches/{row['search_id']}/prov"
        return search


def _best_so_far(trials, direction):
    """[{number, score, best}] over the trials with a score, in trial order."""
    best, points = None, []
    for trial in trials:
        score = trial["score"]
        if score is None:
            continue
        if best is None or (score < best if direction == "min" else score > best):
            best = score
        points.append({"number": trial["number"], "trial_id": trial["trial_id"], "score": score, "best": best})
    return points


def _json(text, default):
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _int(value):
    return None if value is None else int(value)


def _seconds(started, ended):
    try:
        start = datetime.datetime.fromisoformat(started)
        end = datetime.datetime.fromisoformat(ended) if ended else datetime.datetime.now(datetime.timezone.utc)
    except (TypeError, ValueError):
        return None
    return round((end - start).total_seconds(), 1)
