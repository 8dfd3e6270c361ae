"""Removes the string-column backups embedded MonetDB (monetdbe 0.11) leaves behind, which would
make its next start lose a column and fail.

Why: a string column's offsets are stored 1, 2 or 4 bytes wide, in a file named `<bat>.tail1`,
`.tail2` or `.tail4`. When the column outgrows its width, the engine moves the committed file
into `bat/BACKUP/` (to be restored if the process ends before the next commit) and writes the wider
one at its next commit. That commit does not remove the backup, whose name no longer matches the
column's. The next commit of the column, or the next start of the engine, restores the old narrow
file next to the wide one and the wide file is lost: the following start fails with
"GDKinit() failed" (`cannot stat file …/<bat>.tail2`), the column's committed rows gone.
Reproduced with the service (tests/test_store_restarts.py): message ids ingested in one life (the
ids column outgrows 1-byte offsets), the service started again, two clients ingesting at once,
started again: that start failed. MonetDB's own issues describe the same (backups left by
GDKupgradevarheap and never cleaned, MonetDB issues 4036 and 7501).

A backup is stale when the committed directory (`BBP.dir`) records the column with another width
than the backup's file name says: it is then not the pre-image of any committed state, and removing
it is what the engine's commit should have done.
"""
import logging
import os
import re
import threading

log = logging.getLogger(__name__)

TAIL_BACKUP = re.compile(r"^([0-7]+)\.(tail[124]?)$")
CHECK_SECONDS = 1  # while the engine runs, its backups are looked at this often (a directory listing)


def _committed_tail_names(bat_dir, engine_open):
    """{physical file name: tail extension} of the string columns in the committed BBP.dir: the one
    in BACKUP/ (between two commits of a running engine, and what a start restores first), else,
    with the engine closed, bat/BBP.dir. None when there is none to trust (a commit under way)."""
    paths = [os.path.join(bat_dir, "BACKUP", "BBP.dir")]
    if not engine_open:
        paths.append(os.path.join(bat_dir, "BBP.dir"))
    for path in paths:
        try:
            with open(path) as directory:
                lines = directory.read().splitlines()
            break
        except FileNotFoundError:
            continue
    else:
        return None
    names = {}
    for line in lines:
        fields = line.split()
        # bat id, status, logical name, physical name, properties, count, capacity, seqbase, type, width
        if len(fields) > 9 and fields[0].isdigit() and fields[8] == "str":
            width = fields[9]
            names[fields[3].rsplit("/", 1)[-1]] = "tail" + (width if width in ("1", "2", "4") else "")
    return names


def remove_stale_backups(database_dir, engine_open=False):
    """Removes the stale string-column backups of `database_dir` (module docstring); returns the
    names removed. Never raises: a backup it cannot judge or remove is left to the engine.
    `engine_open`: the engine runs on the directory, so a commit may be under way."""
    bat_dir = os.path.join(database_dir, "bat")
    backup_dir = os.path.join(bat_dir, "BACKUP")
    try:
        candidates = [name for name in os.listdir(backup_dir) if TAIL_BACKUP.match(name)]
    except OSError:
        return []
    if not candidates:
        return []
    try:
        committed = _committed_tail_names(bat_dir, engine_open)
    except (OSError, UnicodeDecodeError):
        return []
    if committed is None:
        return []
    removed = []
    for name in candidates:
        physical, extension = TAIL_BACKUP.match(name).groups()
        expected = committed.get(physical)
        if expected is None or expected == extension:
            continue  # not a string column (the engine decides), or the pre-image of its committed state
        try:
            os.remove(os.path.join(backup_dir, name))
        except FileNotFoundError:
            continue  # the engine moved it meanwhile
        except OSError as error:
            log.warning("cannot remove the stale engine backup %s: %s", name, error)
            continue
        removed.append(name)
    if removed:
        log.warning("removed %d stale string-column backup(s) of embedded MonetDB in %s: %s (their columns are "
                    "committed with another width; left there, they would be restored over the committed files)",
                    len(removed), backup_dir, ", ".join(sorted(removed)))
    return removed


class StaleBackupWatch:
    """While the engine runs, on a thread of its own: a column widened meanwhile leaves its backup
    stale at the engine's next commit of it, which it makes in the background whenever its log has
    grown, and the commit after that would lose the column's file. Looks every CHECK_SECONDS."""

    def __init__(self, database_dir):
        self.database_dir = database_dir
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="monetdbe-stale-backups")
        self._thread.start()

    def _watch(self):
        seen = None
        while not self._stop.wait(CHECK_SECONDS):
            state = self._backup_state()
            if state != seen:  # BBP.dir is read only when the backups or the committed directory changed
                seen = state
                remove_stale_backups(self.database_dir, engine_open=True)

    def _backup_state(self):
        backup_dir = os.path.join(self.database_dir, "bat", "BACKUP")
        try:
            return sorted(os.listdir(backup_dir)), os.stat(os.path.join(backup_dir, "BBP.dir")).st_mtime_ns
        except OSError:
            return None

    def stop(self):
        self._stop.set()
        self._thread.join()
