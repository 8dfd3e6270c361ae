"""One recorded run as a notebook shows it: status, hyperparameters, final and best metrics,
test results and the learning curves, read fresh from DfAnalyzer each time it is displayed."""
import html
from urllib.parse import quote

from keras_prov.notebook.source import Source

SHOWN_HYPERPARAMETERS = 12  # the rest are folded under "more"


class Run:
    """A run (execution) recorded by keras_prov.

    Shown in a notebook (IPython's display protocol) as a summary with its learning curves; as
    plain text elsewhere. Made by `keras_prov.run(...)`, `model.provenance_run()`, and found on
    what a recording `fit` returns (`history.provenance_run`).

    Args:
        execution: the execution tag.
        dataflow: its dataflow tag (needed when several dataflows use the tag).
        url: "http://host:port" or "embedded:/dir"; default: where this process records.

    Example:
        run = keras_prov.run("digits-20261207T101010-ab12")
        run                     # the summary and curves, inline
        run.epochs()            # every epoch as a DataFrame
        run.graph()             # the PROV graph, inline (SVG)
    """

    def __init__(self, execution, dataflow=None, url=None):
        self.execution = str(execution)
        self.dataflow = dataflow
        self.url = url

    def summary(self):
        """The run's summary as GET /api/v1/executions/{execution}/summary answers it."""
        return Source(self.url).get(f"/api/v1/executions/{_part(self.execution)}/summary", dataflow=self.dataflow)

    def curves(self, flush=True):
        """{metric: [[epoch, value], ...]} of the run (downsampled past 1000 epochs)."""
        return self._series(flush)["series"]

    def _series(self, flush=True):
        return Source(self.url, flush=flush).get(f"/api/v1/executions/{_part(self.execution)}/series",
                                                 dataflow=self.dataflow)

    def epochs(self):
        from keras_prov.notebook.frames import epochs

        return epochs(self)

    def graph(self, **options):
        from keras_prov.notebook.inline_graph import graph

        return graph(self, **options)

    def curves_png(self):
        """The learning curves as PNG bytes (None when no epoch is stored yet)."""
        from keras_prov.notebook.curves import curves_png

        return curves_png(self.curves(), title=self.execution)

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            summary, answer = self.summary(), self._series(flush=False)
        except Exception as error:  # noqa: BLE001 - a display must show why, never raise
            return {"text/plain": f"{self!r}: cannot read it ({error})"}
        series, epoch_count = answer["series"], answer["total"]
        text = _text(summary, series, epoch_count)
        if include is not None and "text/html" not in include:
            return {"text/plain": text}
        from keras_prov.notebook.curves import curves_png

        png = curves_png(series, title=self.execution)
        return {"text/plain": text, "text/html": _html(summary, series, epoch_count, png)}

    def __repr__(self):
        return f"Run({self.execution!r}, dataflow={self.dataflow!r})"


def run(execution=None, dataflow=None, url=None):
    """The run `execution` (a tag, a recording model, what its fit returned, a
    `keras_prov.start_run(...)`), or the newest run of `dataflow` (default: of the newest dataflow)
    when None; shown inline in a notebook.

    Example:
        keras_prov.run()                       # the run just trained
    """
    if isinstance(execution, Run):
        return execution
    if execution is not None:
        from keras_prov.notebook.frames import execution_of

        return Run(*execution_of(execution, dataflow, url))
    page = Source(url).get("/api/v1/runs/table", dataflow=dataflow, sort="start", desc="true", limit=1)
    if not page["rows"]:
        from keras_prov.notebook.source import ReadError

        raise ReadError(f"dataflow {page['dataflow']!r} has no run yet")
    return Run(page["rows"][0]["execution"], page["dataflow"], url)


def final_and_best(series):
    """{metric: (final value, best value, epoch of the best)} of curves."""
    from dfanalyzer.runs.training_sets import lower_is_better

    values = {}
    for metric, points in series.items():
        points = [point for point in points if point[1] is not None]
        if not points:
            continue
        if "learning_rate" in metric or metric == "lr":  # a setting, not a score: no best
            values[metric] = (points[-1][1], None, None)
            continue
        choose = min if lower_is_better(metric) else max
        best = choose(points, key=lambda point: point[1])
        values[metric] = (points[-1][1], best[1], best[0])
    return values


def _text(summary, series, epoch_count):
    lines = [f"run {summary['execution']} (dataflow {summary['dataflow']}): {summary['status']}, "
             f"{epoch_count} epochs"]
    hyperparameters = _shown_items(summary.get("hyperparameters") or {})
    if hyperparameters:
        lines.append("hyperparameters: " + ", ".join(f"{k}={_format(v)}" for k, v in hyperparameters))
    for metric, (final, best, epoch) in final_and_best(series).items():
        lines.append(f"{metric}: final {_format(final)}"
                     + (f", best {_format(best)} (epoch {_format(epoch)})" if best is not None else ""))
    test = _shown_items(summary.get("test") or {})
    if test:
        lines.append("test: " + ", ".join(f"{k}={_format(v)}" for k, v in test))
    for error in summary.get("errors") or []:
        lines.append(f"error in {error['transformation']}: {error['error']}")
    return "\n".join(lines)


def _html(summary, series, epoch_count, png):
    escape = html.escape
    status = summary["status"]
    color = {"RUNNING": "#1f6feb", "FINISHED": "#1a7f37"}.get(status, "#cf222e")
    parts = [f'<div class="keras-prov-run" style="font-family:sans-serif;font-size:13px">',
             f'<div><b>{escape(summary["execution"])}</b> &#183; dataflow {escape(summary["dataflow"])} &#183; '
             f'<span style="color:{color};font-weight:bold">{escape(status)}</span> &#183; '
             f'{epoch_count} epochs'
             + (f' &#183; started {escape(str(summary["start"]))}' if summary.get("start") else "") + "</div>",
             '<div style="display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start">']
    hyperparameters = [(k, v) for k, v in (summary.get("hyperparameters") or {}).items()
                       if k not in ("timestamp",) and v is not None]
    if hyperparameters:
        shown, more = hyperparameters[:SHOWN_HYPERPARAMETERS], hyperparameters[SHOWN_HYPERPARAMETERS:]
        table = _table(["hyperparameter", "value"], [(k, _format(v)) for k, v in shown])
        if more:
            table += (f"<details><summary>{len(more)} more</summary>"
                      + _table(["hyperparameter", "value"], [(k, _format(v)) for k, v in more]) + "</details>")
        parts.append(f"<div>{table}</div>")
    metrics = final_and_best(series)
    if metrics:
        parts.append("<div>" + _table(["metric", "final", "best", "at epoch"],
                                      [(m, _format(f), _format(b, ""), _format(e, "")) for m, (f, b, e) in metrics.items()])
                     + "</div>")
    test = _shown_items(summary.get("test") or {})
    if test:
        parts.append("<div>" + _table(["test metric", "value"], [(k, _format(v)) for k, v in test]) + "</div>")
    parts.append("</div>")
    for error in summary.get("errors") or []:
        parts.append(f'<div style="color:#cf222e">error in {escape(str(error["transformation"]))}: '
                     f'{escape(str(error["error"]))}</div>')
    if png:
        import base64

        parts.append(f'<img alt="learning curves of {escape(summary["execution"])}" '
                     f'src="data:image/png;base64,{base64.b64encode(png).decode()}"/>')
    parts.append("</div>")
    return "".join(parts)


def _table(header, rows):
    escape = html.escape
    head = "".join(f'<th style="text-align:left;padding:1px 8px">{escape(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f'<td style="text-align:left;padding:1px 8px">{escape(str(c))}</td>' for c in row)
                   + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _shown_items(values):
    return [(k, v) for k, v in values.items() if k not in ("timestamp", "elapsed_time") and v is not None]


def _format(value, missing="None"):
    if value is None:
        return missing
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _part(text):
    return quote(str(text), safe="")
