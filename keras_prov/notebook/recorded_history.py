"""What a recording `fit` returns: Keras's own History, which also knows the run it recorded and
shows that run (summary and learning curves) when a notebook cell ends with `model.fit(...)`."""
import keras

from keras_prov.notebook.inline_run import Run


class RecordedHistory(keras.callbacks.History):
    """A `keras.callbacks.History` (`history.history` as always) with `provenance_run`, the
    `keras_prov.notebook.Run` of the fit."""

    provenance_run = None

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.provenance_run._repr_mimebundle_(include, exclude)


def with_run(history, recorder):
    """`history` knowing its run (a History of a subclass of Keras's own only gets the attribute)."""
    if not isinstance(history, keras.callbacks.History) or recorder.exec_tag is None:
        return history
    if type(history) is keras.callbacks.History:
        history.__class__ = RecordedHistory
    history.provenance_run = Run(recorder.exec_tag, recorder.provenance.dataflow_tag, recorder.provenance.url)
    return history
