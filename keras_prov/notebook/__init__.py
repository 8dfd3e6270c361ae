"""keras_prov in notebooks (Jupyter, Colab): provenance as DataFrames, runs and PROV graphs shown
inline, the web app in the notebook, live learning curves while a fit runs.

Everything reads through DfAnalyzer's REST API: a service's (`DFA_URL=http://...`), or, for an
embedded data directory (`DFA_URL=embedded:/dir`), the same API served by a thread of the kernel
that holds the directory, so that reading never stops the fits recording into it.

pandas, IPython and matplotlib are imported here only: `import keras_prov` loads none of them.

Functions (also `keras_prov.<name>`):
    runs(dataflow=None, mode="last", epoch=None): the runs table as a DataFrame.
    epochs(run): every epoch of a run as a DataFrame.
    query(sql, limit=1000): read-only SQL as a DataFrame.
    compare(runs): runs side by side as a DataFrame.
    run(execution=None): a run, shown inline with its learning curves.
    graph(run): its PROV graph, shown inline (SVG).
    show(): the web app in the notebook.
    watch(run_or_model): learning curves updated inline while a fit records.
    searches(): the recorded tuner searches as a DataFrame.
    search(tuner_or_study): a search, shown inline as its trials table; `.trials()` as a DataFrame.
"""
from keras_prov.notebook.source import ReadError, stop_serving

_PUBLIC = {
    "runs": "keras_prov.notebook.frames", "epochs": "keras_prov.notebook.frames",
    "query": "keras_prov.notebook.frames", "compare": "keras_prov.notebook.frames",
    "run": "keras_prov.notebook.inline_run", "Run": "keras_prov.notebook.inline_run",
    "graph": "keras_prov.notebook.inline_graph", "show": "keras_prov.notebook.web_app",
    "watch": "keras_prov.notebook.live_curves",
    "searches": "keras_prov.notebook.inline_search", "search": "keras_prov.notebook.inline_search",
    "Search": "keras_prov.notebook.inline_search",
}


def __getattr__(name):
    if name in _PUBLIC:
        import importlib

        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keras_prov.notebook' has no attribute {name!r}")


__all__ = ["ReadError", "stop_serving", *_PUBLIC]
