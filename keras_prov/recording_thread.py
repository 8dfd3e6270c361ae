"""The thread that turns captured values into dfa_lib_python records, off the training thread."""
import itertools
import logging
import os
import queue
import threading
import time

from dfa_lib_python.registry import before_exit_close

from keras_prov.errors import report_unusable_settings

logger = logging.getLogger("keras_prov")

EXIT_TIMEOUT = float(os.environ.get("KERAS_PROV_EXIT_TIMEOUT", "10"))


class RecordingThread:
    """Runs recording work in the order it was submitted, on one daemon thread.

    Keras hooks only copy the values they need (a few microseconds) and submit a function;
    building Elements, encoding JSON and writing dfa_lib_python's spool happen here. One thread
    for the whole process keeps every record of every model in order, so a task's `begin`
    always precedes its `save`s and its `end`, and an Adaptation follows its training task.

    Example:
        >>> recording.submit(task.save)
        >>> recording.drain(timeout=10)   # True once everything submitted so far has run
    """

    def __init__(self):
        self._jobs = queue.SimpleQueue()  # C-implemented: a put costs well under a microsecond
        self._submitted = itertools.count(1)
        self._last_submitted = 0
        self._done = 0  # written by the recording thread only
        self._thread = None
        self._lock = threading.Lock()
        self._logged = set()

    def submit(self, function, *args):
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="keras_prov-recording", daemon=True)
                    self._thread.start()
        self._last_submitted = next(self._submitted)
        self._jobs.put((function, args))

    def _run(self):
        while True:
            function, args = self._jobs.get()
            try:
                function(*args)
            except Exception as error:  # noqa: BLE001 - one bad record must not stop the ones after it
                if report_unusable_settings(error):
                    continue
                name = getattr(function, "__qualname__", repr(function))
                if name not in self._logged:
                    self._logged.add(name)
                    logger.exception("keras_prov could not record %s; training goes on", name)
            finally:
                self._done += 1

    def drain(self, timeout=None):
        """Waits until every submitted function has run; False if `timeout` seconds passed first."""
        target = self._last_submitted
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        while self._done < target:
            if self._thread is None or not self._thread.is_alive():
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        return True


recording = RecordingThread()


def _drain_at_exit():
    if not recording.drain(EXIT_TIMEOUT):
        logger.warning("keras_prov: provenance was still being recorded at exit after %.0f s", EXIT_TIMEOUT)


before_exit_close(_drain_at_exit)
