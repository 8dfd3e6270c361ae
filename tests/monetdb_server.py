"""A throw-away MonetDB server (mserver5) for the tests of the server backend.

mserver5 is looked for in $MSERVER5, then ../shared/monetdb-server/bin/mserver5 beside the
clone, then on PATH. Some copies of that folder lost their library symlinks (each became a small
text file naming its target); such a copy is rebuilt with real symlinks in a temporary folder.
"""
import os
import shutil
import subprocess
import time

import pymonetdb

from processes import kill, stop_gracefully
from service_process import free_port

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_MSERVER5 = os.path.join(os.path.dirname(REPOSITORY), "shared", "monetdb-server", "bin", "mserver5")
HOW_TO_RUN = ("no MonetDB server (mserver5) found: set MSERVER5=/path/to/bin/mserver5, put the "
              "monetdb-server folder at ../shared/monetdb-server beside the clone, or install MonetDB "
              "(mserver5 on PATH) to run the server variants")
LINK_STUB_BYTES = 200


def find_mserver5():
    """Path of an mserver5 binary, or None."""
    for candidate in (os.environ.get("MSERVER5"), SHARED_MSERVER5, shutil.which("mserver5")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def runnable_mserver5(binary, scratch_dir):
    """`binary` if it starts; else a copy of its folder with its library symlinks restored."""
    if _starts(binary):
        return binary
    root = os.path.dirname(os.path.dirname(os.path.abspath(binary)))
    copy = os.path.join(scratch_dir, "monetdb-server")
    shutil.copytree(os.path.join(root, "bin"), os.path.join(copy, "bin"))
    shutil.copytree(os.path.join(root, "lib"), os.path.join(copy, "lib"))
    library_dir = os.path.join(copy, "lib")
    for name in os.listdir(library_dir):
        path = os.path.join(library_dir, name)
        if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) < LINK_STUB_BYTES:
            with open(path, "rb") as stub:
                target = stub.read().decode(errors="replace").strip()
            if target and os.path.exists(os.path.join(library_dir, target)):
                os.remove(path)
                os.symlink(target, path)
    repaired = os.path.join(copy, "bin", os.path.basename(binary))
    if not _starts(repaired):
        raise RuntimeError(f"{binary} does not run, even with its library links restored")
    return repaired


def _starts(binary):
    try:
        return subprocess.run([binary, "--version"], capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


class MonetDBServer:
    """One mserver5 process serving the database `dfa` in `farm_dir` on a free port.

    Args:
        binary: the mserver5 to run.
        farm_dir: folder that holds the database (created on first start, kept across restarts).
    """

    DATABASE = "dfa"

    def __init__(self, binary, farm_dir):
        self.binary = binary
        self.farm_dir = str(farm_dir)
        self.port = free_port()
        self.url = f"monetdb://monetdb:monetdb@127.0.0.1:{self.port}/{self.DATABASE}"
        self.log_path = os.path.join(self.farm_dir, "mserver5.log")
        self.process = None

    def start(self, timeout=90):
        os.makedirs(self.farm_dir, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, f"--dbpath={os.path.join(self.farm_dir, self.DATABASE)}",
                 "--set", f"mapi_port={self.port}", "--set", "mapi_listenaddr=127.0.0.1"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mserver5 exited with {self.process.returncode}: {self.log()}")
            try:
                self.connect().close()
                return self
            except (pymonetdb.Error, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"mserver5 did not answer within {timeout}s: {self.log()}")

    def connect(self):
        connection = pymonetdb.connect(database=self.DATABASE, hostname="127.0.0.1", port=self.port,
                                       username="monetdb", password="monetdb", connect_timeout=5)
        connection.set_autocommit(True)
        return connection

    def stop(self):
        """SIGTERM, waiting for a clean shutdown."""
        stop_gracefully(self.process, 60)

    def kill(self):
        """SIGKILL, a crash (MonetDB's write-ahead log recovers at the next start)."""
        kill(self.process)

    def empty(self):
        """Drops everything DfAnalyzer creates (catalog, dataflow schemas, users), so the next
        service starts on an empty database."""
        connection = self.connect()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT name FROM sys.schemas WHERE NOT system")
            for (schema,) in cursor.fetchall():
                cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
            cursor.execute("SELECT t.name FROM sys.tables t JOIN sys.schemas s ON t.schema_id = s.id "
                           "WHERE s.name = 'sys' AND NOT t.system AND t.temporary = 0")
            for (table,) in cursor.fetchall():
                cursor.execute(f'DROP TABLE sys."{table}" CASCADE')
            cursor.execute("SELECT name FROM sys.users WHERE name NOT IN ('monetdb', '.snapshot')")
            for (user,) in cursor.fetchall():
                cursor.execute(f'DROP USER "{user}"')
        finally:
            connection.close()

    def log(self):
        try:
            with open(self.log_path, "rb") as log:
                return log.read().decode(errors="replace")[-3000:]
        except OSError:
            return ""
