"""Tuner searches (KerasTuner, Optuna) in a notebook: the searches and a search's trials as
DataFrames, and a search shown inline as its trials table (GET /api/v1/searches...)."""
import html
from urllib.parse import quote

from keras_prov.notebook.source import ReadError, Source


class Search:
    """A recorded tuner search; shown in a notebook as a summary and its trials table.

    Args:
        search_id: the search's id (`/api/v1/searches` lists them).
        url: "http://host:port" or "embedded:/dir"; default: where this process records.

    Example:
        keras_prov.search(tuner)            # inline: status, best trial, every trial
        keras_prov.search(study).trials()   # the trials as a DataFrame
    """

    def __init__(self, search_id, url=None):
        self.search_id = str(search_id)
        self.url = url

    def detail(self):
        """The search as GET /api/v1/searches/{search_id} answers it."""
        return Source(self.url).get(f"/api/v1/searches/{quote(self.search_id, safe='')}")

    def trials(self, detail=None):
        """One row per trial: number, trial_id, status, score, duration, epochs, the tuned values
        (`hp:<name>`) and the trial's runs."""
        import pandas

        detail = detail or self.detail()
        names = []
        for trial in detail["trials"]:
            names += [name for name in trial["values"] if name not in names]
        rows = [{"number": t["number"], "trial_id": t["trial_id"], "status": t["status"], "score": t["score"],
                 "duration": t.get("duration"), "epochs": t.get("epochs"),
                 **{f"hp:{name}": t["values"].get(name) for name in names},
                 "runs": ",".join(run["execution"] for run in t["runs"])} for t in detail["trials"]]
        columns = ["number", "trial_id", "status", "score", "duration", "epochs", *[f"hp:{n}" for n in names], "runs"]
        frame = pandas.DataFrame(rows, columns=columns)
        frame.attrs.update(search_id=self.search_id, objective=detail.get("objective"),
                           direction=detail.get("direction"))
        return frame

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            detail = self.detail()
            trials = self.trials(detail)
        except Exception as error:  # noqa: BLE001 - a display must show why, never raise
            return {"text/plain": f"{self!r}: cannot read it ({error})"}
        head = (f"search {detail['search_id']} ({detail.get('tuner')}, {detail.get('library')}): "
                f"{detail.get('status')}, {len(trials)} trials, objective {detail.get('objective')} "
                f"({detail.get('direction')}), best trial {detail.get('best_trial')} "
                f"score {detail.get('best_score')}")
        bundle = {"text/plain": head + "\n" + trials.to_string(index=False)}
        if include is None or "text/html" in include:
            bundle["text/html"] = (f'<div class="keras-prov-search"><div><b>{html.escape(head)}</b></div>'
                                   f"{trials.to_html(index=False, na_rep='')}</div>")
        return bundle

    def __repr__(self):
        return f"Search({self.search_id!r})"


def searches(url=None):
    """Every recorded search, newest first, as a DataFrame (tuner, objective, status, trial
    counts, best trial and score)."""
    import pandas

    found = Source(url).get("/api/v1/searches")
    frame = pandas.DataFrame(found)
    if "trial_statuses" in frame:
        frame["trial_statuses"] = frame["trial_statuses"].map(
            lambda counts: ", ".join(f"{status}: {count}" for status, count in (counts or {}).items()))
    return frame


def search(of=None, url=None):
    """The search `of` names: a KerasTuner tuner or an Optuna study that searched with keras_prov
    recording (their latest search), a search id, or None for the newest search; shown inline."""
    if isinstance(of, Search):
        return of
    if isinstance(of, str):
        return Search(of, url)
    recorded = getattr(of, "_keras_prov_searches", None)  # a KerasTuner tuner
    if recorded:
        return Search(recorded[-1].search_id, url)
    found = Source(url).get("/api/v1/searches")
    if of is not None:
        name = getattr(of, "study_name", None)  # an Optuna study: its searches carry its name
        found = [entry for entry in found if name is not None and entry.get("project") == name
                 and entry.get("library") == "optuna"]
    if not found:
        raise ReadError(f"no recorded search {'of ' + repr(of) if of is not None else 'yet'}")
    return Search(found[0]["search_id"], url)
