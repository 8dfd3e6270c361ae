"""A run's PROV graph as an inline SVG image (DfAnalyzer's own renderer, GET .../graph.svg)."""
from keras_prov.notebook.source import Source


class Graph:
    """The PROV graph of a run; shows itself as SVG in a notebook.

    Attributes:
        svg: the SVG document (text).

    Example:
        keras_prov.graph(run)                  # inline
        keras_prov.graph(run).save("run.svg")
    """

    def __init__(self, svg, execution):
        self.svg = svg
        self.execution = execution

    def _repr_svg_(self):
        return self.svg

    def save(self, path):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.svg)

    def __repr__(self):
        return f"<PROV graph of run {self.execution!r}: {len(self.svg)} characters of SVG>"


def graph(run, dataflow=None, url=None, **options):
    """The PROV graph of `run` (a tag, `keras_prov.run(...)`, a recording model or its fit's
    result), shown inline as SVG. `options` go to GET /api/v1/executions/{run}/graph.svg as they are
    (e.g. `detail=...` where the service knows it)."""
    from urllib.parse import quote

    from keras_prov.notebook.frames import execution_of

    execution, dataflow, url = execution_of(run, dataflow, url)
    svg = Source(url).get_text(f"/api/v1/executions/{quote(execution, safe='')}/graph.svg", dataflow=dataflow,
                               **options)
    return Graph(svg, execution)
