"""In a notebook, a cell that ran a recorded fit ends once the fit's records are in
dfa_lib_python's spool.

`fit` returns while keras_prov's recording thread may still be turning its last epochs into
records (the first fit into an embedded directory also opens the store there, which takes
seconds). A kernel killed or restarted right after the cell would lose those records; written to
the spool, they are sent by the next process that uses it. Waiting for the recording thread at the
end of the cell (IPython's post_run_cell event), not at the end of fit, keeps fit itself as fast
as in a script: it costs the notebook user a few milliseconds per cell, nothing elsewhere.
"""
import logging

logger = logging.getLogger("keras_prov")

CELL_END_SECONDS = 60.0  # a cell waits at most this long for the recording thread

_shells = []  # the IPython shells the wait is registered with


def wait_for_records_at_cell_end(shell):
    """Registers the wait with `shell` (an IPython InteractiveShell), once."""
    if any(known is shell for known in _shells):
        return
    _shells.append(shell)
    shell.events.register("post_run_cell", records_written)


def records_written(result=None):
    """Waits until keras_prov's recording thread has written what was submitted so far."""
    from keras_prov.recording_thread import recording

    if not recording.drain(CELL_END_SECONDS):
        logger.warning("keras_prov: the records of this cell's fit are still being written after %.0f s; a kernel "
                       "restarted now may lose the newest of them", CELL_END_SECONDS)
