"""Free space on the disks the service writes to (the database, the trained models).

Embedded MonetDB grows its files in steps (a column's heap, the write-ahead log) and does not
survive a write that finds the disk full: the engine answers nonsense ("concurrency conflicts"),
or its process dies on a memory-mapped heap that could not grow, and cannot open its database
again until space is freed. So the service stops writing while less than `min_free` bytes are
free, before and while it writes, and answers 507 (DiskFull) instead; reads go on, and writing
resumes by itself at the first request that finds enough space again.
"""
import errno
import os
import re

from dfanalyzer.errors import ConfigurationError, DiskFull

# 256 MB: room for MonetDB to commit and grow a few steps, without refusing writes on a laptop whose
# disk is merely fairly full (1 GB did: every write there got a 507).
DEFAULT_MIN_FREE = 256 << 20
# A write the engine fails with less free than this (or than min_free) is blamed on the disk: the
# engine's words for it vary ("Append failed", "concurrency conflicts" at COMMIT).
NEARLY_FULL = 64 << 20
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20,
          "G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30, "T": 1 << 40, "TB": 1 << 40, "TIB": 1 << 40}
# What the engine says when a write found no space (its own texts, and the OS's one).
_SPACE_ERRORS = re.compile(r"no space left|ENOSPC|disk full|could not allocate space|GDKextend|"
                           r"could not extend|write failed|could not write", re.IGNORECASE)


def says_no_space(error):
    """Whether an error's words (the engine's, a MonetDB server's or the OS's) say a write found no space."""
    return bool(_SPACE_ERRORS.search(str(error)))


def parse_size(text, option="--min-free"):
    """Bytes of a size such as `1GB`, `500 MB`, `2g` or `1048576` (binary units: 1 KB = 1024 B)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = match and match.group(2).upper()
    if not match or unit not in _UNITS:
        raise ConfigurationError(f"{option} {text!r} is not a size; write e.g. 1GB, 500MB or 0 (off)")
    return int(float(match.group(1)) * _UNITS[unit])


def human(size):
    """`3.1 MB` for 3,250,585 bytes."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover - the loop returns


def min_free_from(value=None, environ=os.environ):
    """The minimum of free bytes: `value` (bytes or a size text), else DFA_MIN_FREE, else the default."""
    if value is None:
        value = environ.get("DFA_MIN_FREE")
    if value is None or value == "":
        return DEFAULT_MIN_FREE
    return value if isinstance(value, int) else parse_size(value)


def free_bytes(directory):
    """Bytes an unprivileged process may still write on the disk holding `directory` (or the
    nearest existing parent)."""
    while True:
        try:
            stats = os.statvfs(directory)
            return stats.f_bavail * stats.f_frsize
        except FileNotFoundError:
            parent = os.path.dirname(directory)
            if parent == directory:
                raise
            directory = parent


class DiskSpace:
    """Checks that the disks of `directories` keep `min_free` bytes free (0: no check).

    Args:
        min_free: bytes that must stay free after a write.
        directories: the directories written to (e.g. the database directory).
    """

    def __init__(self, min_free, directories):
        self.min_free = min_free
        self.directories = [os.path.abspath(directory) for directory in directories]

    def shortage(self, needed=0):
        """(directory, free bytes) of the first disk that would keep less than `min_free` free
        after `needed` more bytes; None when all keep enough."""
        if self.min_free <= 0 and needed <= 0:
            return None
        for directory in self.directories:
            try:
                free = free_bytes(directory)
            except OSError:
                continue  # a directory that cannot be checked is not called full
            if free - needed < self.min_free:
                return directory, free
        return None

    def check(self, needed=0):
        """Raises DiskFull when a disk would keep less than `min_free` bytes free after `needed` more."""
        short = self.shortage(needed)
        if short:
            raise self.full(*short, needed=needed)

    def full(self, directory, free, needed=0):
        if needed:
            short = (f"has {human(free)} free, and this request needs {human(needed)} of it while DfAnalyzer keeps "
                     f"{human(self.min_free)} free")
        else:
            short = f"has {human(free)} free, less than the {human(self.min_free)} DfAnalyzer keeps free"
        return DiskFull(f"the disk of {directory} {short} (--min-free, DFA_MIN_FREE); nothing of this request was "
                        "stored. Writing resumes by itself once space is freed there; clients keep their records "
                        "meanwhile and send them then", directory=directory, free_bytes=free)

    def explains(self, error):
        """DiskFull for a write that failed because the disk is full (the engine's or the OS's
        words, or a nearly full disk now), else None."""
        nearly_full = DiskSpace(max(self.min_free, NEARLY_FULL), self.directories)
        short = nearly_full.shortage()
        if short:
            return nearly_full.full(*short)
        is_enospc = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
        if is_enospc or says_no_space(error):
            directory = self.directories[0] if self.directories else "?"
            return self.full(directory, _free_or_zero(directory))
        return None


def _free_or_zero(directory):
    try:
        return free_bytes(directory)
    except OSError:
        return 0
