"""The recorded fits running in this process right now.

A notebook read (keras_prov.notebook) made while a fit of the same kernel runs shows what is
stored so far, as a live view does, instead of waiting for records that keep coming: see
`keras_prov.notebook.source`. The training thread only adds and removes itself here.
"""
import threading

_running = set()
_lock = threading.Lock()


def started(fit_id):
    with _lock:
        _running.add(fit_id)


def ended(fit_id):
    with _lock:
        _running.discard(fit_id)


def any_running():
    """Whether a recorded fit of this process has begun and not yet returned."""
    with _lock:
        return bool(_running)
