"""The on-disk queue every message goes through: append at the call, replay in order, forget on ack.

Layout of a spool directory:

    <root>/rejected.jsonl             messages the service refused as bad data, with its reason
    <root>/sessions/<name>/lock       held (flock) by the process that writes this session
    <root>/sessions/<name>/meta.json  {"url": ..., "pid": ..., "created": ...}
    <root>/sessions/<name>/00000001.jsonl ...   segments: one JSON message per line, in call order
    <root>/sessions/<name>/acked      "<segment> <offset>": everything before it was acknowledged

Writing a line is one os.write() into the page cache, so a record survives the death of the
process that wrote it (SIGKILL included); the sender thread fsyncs once per batch so it also
survives a machine crash. A session whose lock is free belongs to a process that is gone: the
next process using the same spool and service adopts it and replays it before its own messages.
"""
import fcntl
import json
import logging
import os
import shutil
import threading
import time
import uuid

logger = logging.getLogger("dfa_lib_python")

SEGMENT_BYTES = 8 * 1024 * 1024
ACK_RECORD = "{segment:08d} {offset:016d}\n"


def _segment_name(number):
    return f"{number:08d}.jsonl"


def _segment_numbers(directory):
    numbers = []
    for name in os.listdir(directory):
        if name.endswith(".jsonl") and name[:-6].isdigit():
            numbers.append(int(name[:-6]))
    return sorted(numbers)


class Batch:
    """Lines read from a session, and the position to acknowledge once they are stored."""

    def __init__(self, session, lines, segment, end_offset):
        self.session = session
        self.lines = lines
        self.segment = segment
        self.end_offset = end_offset


class SpoolSession:
    """One process's ordered log of messages (see the module docstring for the layout).

    The owning process appends with `append()` from any thread; the sender thread reads with
    `read_batch()` and confirms with `ack()`. An adopted session (from a dead process) is only read.
    """

    def __init__(self, directory, lock_fd, writable):
        self.directory = directory
        self._lock_fd = lock_fd
        self.writable = writable
        self._write_lock = threading.Lock()
        self._write_fd = None
        self._retired_fds = []
        self._write_segment = 0
        self._write_size = 0
        self._unsynced = False
        self.appended = 0  # messages appended by this process
        self._ack_fd = os.open(os.path.join(directory, "acked"), os.O_RDWR | os.O_CREAT, 0o600)
        self._read_segment, self._read_offset = self._load_ack()
        self._read_fds = {}
        if writable:
            numbers = _segment_numbers(directory)
            self._open_segment((numbers[-1] + 1) if numbers else 1)

    # ----------------------------------------------------------------- creating and adopting
    @classmethod
    def create(cls, root, url):
        sessions = os.path.join(root, "sessions")
        os.makedirs(sessions, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Built under a hidden name and renamed once locked, so no other process adopts it meanwhile.
        building = os.path.join(sessions, "." + name)
        os.makedirs(building)
        lock_fd = os.open(os.path.join(building, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with open(os.path.join(building, "meta.json"), "w", encoding="utf-8") as meta:
            json.dump({"url": url, "pid": os.getpid(), "created": time.time()}, meta)
        directory = os.path.join(sessions, name)
        os.rename(building, directory)
        return cls(directory, lock_fd, writable=True)

    @classmethod
    def adopt_orphans(cls, root, url, exclude=()):
        """Sessions under `root` left by processes that are gone and that were meant for `url`,
        oldest first, each locked by this process."""
        sessions = os.path.join(root, "sessions")
        if not os.path.isdir(sessions):
            return []
        adopted = []
        for name in sorted(os.listdir(sessions)):
            directory = os.path.join(sessions, name)
            if name.startswith(".") or directory in exclude or not os.path.isdir(directory):
                continue  # hidden: still being created by its process
            try:
                lock_fd = os.open(os.path.join(directory, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                continue
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(lock_fd)  # its process is alive and sending it
                continue
            try:
                with open(os.path.join(directory, "meta.json"), encoding="utf-8") as meta:
                    session_url = json.load(meta).get("url")
            except (OSError, ValueError):
                session_url = None  # died before writing meta: nothing was appended yet
            if session_url is not None and session_url != url:
                os.close(lock_fd)  # for another service; its own client will replay it
                continue
            adopted.append(cls(directory, lock_fd, writable=False))
        return adopted

    # ----------------------------------------------------------------- writing
    def _open_segment(self, number):
        path = os.path.join(self.directory, _segment_name(number))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        old = self._write_fd
        self._write_fd, self._write_segment, self._write_size = fd, number, os.fstat(fd).st_size
        if old is not None:
            self._retired_fds.append(old)  # fsynced and closed by the sender, not in the caller

    def append(self, line):
        """Appends one encoded message (bytes ending with a newline). Thread-safe."""
        with self._write_lock:
            if self._write_size >= SEGMENT_BYTES:
                self._open_segment(self._write_segment + 1)
            written = os.write(self._write_fd, line)
            while written < len(line):  # only on a full disk or a signal; keep the line whole
                written += os.write(self._write_fd, line[written:])
            self._write_size += len(line)
            self.appended += 1
            self._unsynced = True

    def sync(self):
        """fsync the segment being written (sender thread, once per batch)."""
        if self.writable and self._unsynced:
            self._unsynced = False
            with self._write_lock:
                retired, self._retired_fds = self._retired_fds, []
                fd = None if self._write_fd is None else os.dup(self._write_fd)
            for old in retired:
                os.fsync(old)
                os.close(old)
            if fd is not None:
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    # ----------------------------------------------------------------- reading
    def _load_ack(self):
        try:
            text = os.pread(self._ack_fd, 64, 0).decode("ascii").split()
            return int(text[0]), int(text[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            numbers = _segment_numbers(self.directory)
            return (numbers[0] if numbers else 1), 0

    def _segment_size(self, number):
        if self.writable and number == self._write_segment:
            return self._write_size
        try:
            return os.stat(os.path.join(self.directory, _segment_name(number))).st_size
        except FileNotFoundError:
            return 0

    def _last_segment(self):
        if self.writable:
            return self._write_segment
        numbers = _segment_numbers(self.directory)
        return numbers[-1] if numbers else self._read_segment

    def _read_fd(self, number):
        fd = self._read_fds.get(number)
        if fd is None:
            fd = os.open(os.path.join(self.directory, _segment_name(number)), os.O_RDONLY)
            self._read_fds[number] = fd
        return fd

    def _advance_segment(self):
        """Moves past a fully acknowledged segment that will not grow any more, deleting it."""
        finished = self._read_segment
        fd = self._read_fds.pop(finished, None)
        if fd is not None:
            os.close(fd)
        numbers = [n for n in _segment_numbers(self.directory) if n > finished]
        self._read_segment = numbers[0] if numbers else finished + 1
        self._read_offset = 0
        self._store_ack()
        try:
            os.unlink(os.path.join(self.directory, _segment_name(finished)))
        except FileNotFoundError:
            pass

    def read_batch(self, max_messages, max_bytes):
        """The next complete lines after the acknowledged position, or None when there are none."""
        while True:
            size = self._segment_size(self._read_segment)
            if self._read_offset < size:
                break
            if self._read_segment >= self._last_segment():
                return None
            self._advance_segment()
        fd = self._read_fd(self._read_segment)
        data = os.pread(fd, min(size - self._read_offset, max_bytes), self._read_offset)
        lines, used = [], 0
        while len(lines) < max_messages:
            end = data.find(b"\n", used)
            if end < 0:
                break
            lines.append(data[used:end])
            used = end + 1
        if not lines:
            if len(data) >= max_bytes:  # a single line longer than max_bytes: read it whole
                data = os.pread(fd, size - self._read_offset, self._read_offset)
                end = data.find(b"\n")
                if end >= 0:
                    return Batch(self, [data[:end]], self._read_segment, self._read_offset + end + 1)
            return self._tail_without_newline(size)
        return Batch(self, lines, self._read_segment, self._read_offset + used)

    def _tail_without_newline(self, size):
        """A segment ending in an incomplete line: still being written, or cut by a crash."""
        if self.writable and self._read_segment == self._write_segment:
            return None  # the writer is mid-line; the rest comes with the next read
        if not self.writable or self._read_segment < self._write_segment:
            logger.warning("dfa_lib_python: dropping %d bytes of an incomplete record at the end of %s "
                           "(its process died while writing it)", size - self._read_offset,
                           os.path.join(self.directory, _segment_name(self._read_segment)))
            self._read_offset = size
            self._store_ack()
        return None

    def ack(self, batch):
        """Everything up to the end of `batch` is stored; it is never sent again."""
        self._read_segment, self._read_offset = batch.segment, batch.end_offset
        self._store_ack()

    def _store_ack(self):
        record = ACK_RECORD.format(segment=self._read_segment, offset=self._read_offset).encode("ascii")
        os.pwrite(self._ack_fd, record, 0)

    def write_position(self):
        """(segment, size) after the last appended line."""
        with self._write_lock:
            return self._write_segment, self._write_size

    def acked_past(self, position):
        """Whether everything up to `position` (from write_position) was acknowledged."""
        segment, offset = position
        return (self._read_segment, self._read_offset) >= (segment, offset) or (
            self._read_segment == segment and self._read_offset >= offset)

    def has_pending(self):
        """Whether lines remain that were not acknowledged."""
        if self._read_offset < self._segment_size(self._read_segment):
            return True
        return self._read_segment < self._last_segment() and any(
            self._segment_size(n) > 0 for n in _segment_numbers(self.directory) if n > self._read_segment)

    def pending_bytes(self):
        total = 0
        for number in _segment_numbers(self.directory):
            if number >= self._read_segment:
                total += self._segment_size(number)
        return total - self._read_offset

    # ----------------------------------------------------------------- ending
    def close(self, remove_if_empty=True):
        """Releases the session; removes its directory when everything in it was acknowledged."""
        removed = False
        if remove_if_empty and not self.has_pending():
            shutil.rmtree(self.directory, ignore_errors=True)
            removed = True
        for fd in list(self._read_fds.values()):
            os.close(fd)
        self._read_fds.clear()
        with self._write_lock:
            for old in self._retired_fds:
                os.fsync(old)
                os.close(old)
            self._retired_fds = []
            if self._write_fd is not None:
                if not removed:
                    os.fsync(self._write_fd)
                os.close(self._write_fd)
                self._write_fd = None
        os.close(self._ack_fd)
        os.close(self._lock_fd)  # releases the flock: the next process may adopt what is left
        return removed


class RejectedFile:
    """`<root>/rejected.jsonl`: messages the service refused, with its reason, for a human to read."""

    def __init__(self, root):
        self.path = os.path.join(root, "rejected.jsonl")
        self._lock = threading.Lock()

    def add(self, line, reason, url):
        try:
            message = json.loads(line)
        except ValueError:
            message = line.decode("utf-8", errors="replace")
        record = {"rejected_at": time.time(), "url": url, "reason": reason, "message": message}
        data = (json.dumps(record, default=str) + "\n").encode("utf-8")
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self):
        """The rejected records, oldest first."""
        try:
            with open(self.path, encoding="utf-8") as rejected:
                return [json.loads(line) for line in rejected if line.strip()]
        except FileNotFoundError:
            return []
