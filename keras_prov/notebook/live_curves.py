"""Learning curves redrawn inside the notebook cell while a recorded fit runs.

A thread of the kernel asks DfAnalyzer for the run's new epochs (`/series`) every `interval`
seconds and replaces one display output in place (IPython's display_id), so Keras's progress bar,
a stream output, is left alone. The training thread does nothing more than when nobody watches,
and nothing runs at all unless `watch` is called.
"""
import html
import logging
import threading
import time

logger = logging.getLogger("keras_prov")

DEFAULT_INTERVAL = 1.0
START_TIMEOUT = 600.0  # a watch whose run never starts ends after this long


class LiveCurves:
    """The live chart of one run; see `watch`.

    Attributes:
        run: the `keras_prov.notebook.Run` watched.
        epochs: epochs drawn so far.
        updates: how many times the chart was redrawn.
    """

    def __init__(self, run, interval=DEFAULT_INTERVAL):
        self.run = run
        self.interval = float(interval)
        self.epochs = 0
        self.updates = 0
        self._stop = threading.Event()
        self._thread = None
        self._handle = None
        self._seen_running = False

    def start(self):
        from IPython import get_ipython
        from IPython.display import HTML, display

        if get_ipython() is None:
            logger.warning("keras_prov.watch draws in a notebook; here, follow the run in the web app "
                           "(keras_prov.show() or `dfanalyzer start`)")
            return self
        self._handle = display(HTML(f"<i>waiting for the first epoch of {html.escape(self.run.execution)}…</i>"),
                               display_id=True)
        self._thread = threading.Thread(target=self._follow, daemon=True, name="keras-prov-watch")
        self._thread.start()
        return self

    def stop(self, timeout=30.0):
        """Stops following the run after one last redraw (waits for it at most `timeout` seconds)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self):
        return self if self._thread is not None or self._handle is not None else self.start()

    def __exit__(self, *exc_info):
        self.stop()
        return False

    def _follow(self):
        started = time.monotonic()
        while True:
            stopping = self._stop.is_set()
            try:
                finished = self._redraw(flush=stopping)
            except Exception as error:  # noqa: BLE001 - a chart must never end in a traceback
                logger.debug("keras_prov.watch: %s", error)
                finished = False
            if stopping or finished:
                return
            if not self._seen_running and time.monotonic() - started > START_TIMEOUT:
                return
            self._stop.wait(self.interval)

    def _redraw(self, flush):
        """Redraws when epochs arrived; True once the run has ended after running."""
        from IPython.display import HTML

        from keras_prov.notebook.curves import curves_png
        from keras_prov.notebook.source import ReadError

        try:
            answer = self.run._series(flush=flush)
        except ReadError as error:
            if error.status == 404:  # the run is not stored yet
                return False
            raise
        running = answer["status"] == "RUNNING"
        self._seen_running = self._seen_running or running or answer["total"] > 0
        if answer["total"] != self.epochs:
            self.epochs = answer["total"]
            png = curves_png(answer["series"], title=f"{self.run.execution} · {self.epochs} epochs · {answer['status']}")
            if png:
                import base64

                self._handle.update(HTML(f'<img alt="learning curves of {html.escape(self.run.execution)}" '
                                         f'src="data:image/png;base64,{base64.b64encode(png).decode()}"/>'))
                self.updates += 1
        return self._seen_running and not running and self.epochs > 0


def watch(run, interval=DEFAULT_INTERVAL):
    """Shows the learning curves of `run` in the notebook and redraws them as its epochs are stored.

    Args:
        run: a model that records (its next fit is watched), a run, or an execution tag.
        interval: seconds between two looks at DfAnalyzer.

    Returns:
        a `LiveCurves`; it stops by itself when the run ends, or when its `with` block does.

    Example:
        with keras_prov.watch(model):
            model.fit(x, y, epochs=50, verbose=0)
    """
    from keras_prov.notebook.frames import execution_of
    from keras_prov.notebook.inline_run import Run

    execution, dataflow, url = execution_of(run)
    return LiveCurves(Run(execution, dataflow, url), interval).start()
