"""Trained model files kept next to the provenance: `<data dir>/models/<dataflow>/<exec>/<task>/<file>`."""
import datetime
import hashlib
import os
import re
import shutil
import tempfile

from dfanalyzer.disk_space import DiskSpace
from dfanalyzer.errors import Conflict, InvalidInput, NotFound
from dfanalyzer.identifiers import check_tag
from dfanalyzer.store.retry import retrying

FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,200}$")
FORMAT = re.compile(r"^[A-Za-z0-9_.\-]{1,32}$")
TASK_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")
COLUMNS = ("id", "task_id", "exec_id", "path", "format", "size_bytes", "sha256", "created_at")


class ModelStore:
    """Stores trained model files and records them in the `model_file` table.

    Files live under `models_dir` at `<dataflow>/<exec>/<task>/<file name>`; `model_file.path`
    holds that relative path. A file is written to a temporary name and linked to its name once
    complete and checked, so a reader never sees half a model.

    A stored model is never overwritten: uploading the same bytes again for the same task and file
    name is idempotent (the stored model's description, same id); different bytes under the same
    name raise Conflict (HTTP 409) and keep the stored file. Upload a new version under a new
    file name (e.g. model-2.keras).

    Args:
        store: the `dfanalyzer.store.Store` holding the catalog.
        models_dir: root directory of the files (`Settings.models_dir`).

    Example:
        >>> models = ModelStore(store, settings.models_dir)
        >>> with open("model.keras", "rb") as f:
        ...     models.put("alexnet", "alexnet-run-1", "1", "model.keras", "keras", f)
        {'id': 1, 'path': 'alexnet/alexnet-run-1/1/model.keras', 'size_bytes': 52311, ...}
    """

    def __init__(self, store, models_dir, min_free=0):
        self.store = store
        self.models_dir = os.path.abspath(models_dir)
        self.disk_space = DiskSpace(min_free, [self.models_dir])

    @staticmethod
    def relative_path(dataflow, exec_tag, task, file_name):
        """The path of a file inside the model store, after checking every part of it."""
        check_tag(dataflow, "dataflow tag")
        check_tag(exec_tag, "execution tag")
        if not isinstance(task, str) or not TASK_ID.fullmatch(task) or task in (".", ".."):
            raise InvalidInput(f"task id {task!r} cannot name a folder: use letters, digits, '_', '-', '.'")
        if not isinstance(file_name, str) or not FILE_NAME.fullmatch(file_name) or ".." in file_name:
            raise InvalidInput(f"file name {file_name!r} is not allowed: use letters, digits, '_', '-', '.' "
                               "(no folders), e.g. model.keras")
        return "/".join([dataflow.lower(), exec_tag, task, file_name])

    def absolute_path(self, relative):
        path = os.path.abspath(os.path.join(self.models_dir, relative))
        if not path.startswith(self.models_dir + os.sep):
            raise InvalidInput(f"model path {relative!r} leaves the model store")
        return path

    def put(self, dataflow, exec_tag, task, file_name, file_format, source, sha256=None):
        """Copies the bytes of `source` (a binary file object) into the store and records them.

        Args:
            dataflow, exec_tag, task: the training task the model comes from (its client id).
            file_name: e.g. "model.keras".
            file_format: e.g. "keras" or "weights.h5".
            source: readable binary file object.
            sha256: expected digest; the file is refused (nothing kept) when the bytes differ.
        """
        relative = self.relative_path(dataflow, exec_tag, task, file_name)
        self._check_format(file_format)
        self._known_execution(dataflow, exec_tag)  # before writing anything
        target = self.absolute_path(relative)
        self.disk_space.check(needed=_size_of(source))
        digest = hashlib.sha256()
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".upload-")
        except OSError as error:
            raise self.disk_space.explains(error) or error
        try:
            try:
                with os.fdopen(handle, "wb") as out:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as error:  # the disk filled meanwhile: the partial file goes (below)
                raise self.disk_space.explains(error) or error
            if sha256 and sha256.lower() != digest.hexdigest():
                raise InvalidInput(f"{file_name}: the received bytes have sha256 {digest.hexdigest()}, not the "
                                   f"announced {sha256}; the upload was incomplete or altered, send it again")
            created = self._link_new(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
        if not created:
            return self._same_upload(dataflow, exec_tag, task, relative, file_format, digest.hexdigest())
        try:
            return self.register(dataflow, exec_tag, task, relative, file_format)
        except BaseException:
            os.remove(target)  # a file nobody can find through model_file is not kept
            raise

    @staticmethod
    def _link_new(temporary, target):
        """Gives the complete upload its name unless that name is taken; os.link never replaces
        an existing file, even when two uploads race. Returns whether the name was free."""
        try:
            os.link(temporary, target)
        except FileExistsError:
            return False
        return True

    def _same_upload(self, dataflow, exec_tag, task, relative, file_format, digest):
        """The answer to an upload whose name is taken: the stored model if the bytes are the same
        (a retried upload), else Conflict."""
        stored_digest = sha256_of(self.absolute_path(relative))
        if stored_digest != digest:
            raise Conflict(f"task {task!r} of execution {exec_tag!r} already has a model named "
                           f"{relative.rsplit('/', 1)[-1]!r} with other bytes (sha256 {stored_digest}); stored "
                           "models are never replaced: upload the new version under another file_name")
        _, rows = self.store.read("SELECT m.id FROM model_file m JOIN dataflow_execution e ON m.exec_id = e.id "
                                  "JOIN dataflow d ON e.df_id = d.id WHERE LOWER(d.tag) = LOWER(?) AND e.tag = ? "
                                  "AND m.path = ?", [dataflow, exec_tag, relative])
        if not rows:  # the file is there but its record was lost: record it now
            return self.register(dataflow, exec_tag, task, relative, file_format)
        described = self.get(rows[0][0])
        described.pop("file")
        return described

    def register(self, dataflow, exec_tag, task, relative, file_format):
        """Records a file already in place under the store (embedded clients write it directly).
        Registering the same path again updates its row."""
        self._check_format(file_format)
        path = self.absolute_path(relative)
        if not os.path.isfile(path):
            raise NotFound(f"no model file at {relative!r} in the model store")
        size = os.path.getsize(path)
        digest = sha256_of(path)
        created = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)

        def record():
            with self.store.write() as tx:
                exec_id, task_id = self._task_ids(tx, dataflow, exec_tag, task)
                existing = tx.fetch("SELECT id FROM model_file WHERE exec_id = ? AND path = ?", [exec_id, relative])
                if existing:
                    model_id = existing[0][0]
                    tx.execute("UPDATE model_file SET task_id = ?, format = ?, size_bytes = ?, sha256 = ?, "
                               "created_at = ? WHERE id = ?", [task_id, file_format, size, digest, created, model_id])
                else:
                    model_id = (tx.fetch("SELECT CAST(MAX(id) AS BIGINT) FROM model_file")[0][0] or 0) + 1
                    tx.execute("INSERT INTO model_file (id, task_id, exec_id, path, format, size_bytes, sha256, "
                               "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               [model_id, task_id, exec_id, relative, file_format, size, digest, created])
            return model_id, task_id, exec_id

        model_id, task_id, exec_id = retrying(record)  # services sharing a MonetDB server may collide
        return {"id": int(model_id), "task_id": task_id, "exec_id": exec_id, "path": relative,
                "format": file_format, "size_bytes": size, "sha256": digest, "created_at": created.isoformat()}

    def list(self, dataflow=None, exec_tag=None):
        """Stored models, newest first, optionally of one dataflow and/or execution."""
        sql = ("SELECT m.id, m.task_id, m.exec_id, m.path, m.format, m.size_bytes, m.sha256, m.created_at, "
               "e.tag, d.tag, t.identifier FROM model_file m JOIN dataflow_execution e ON m.exec_id = e.id "
               "JOIN dataflow d ON e.df_id = d.id LEFT JOIN task t ON m.task_id = t.id")
        conditions, params = [], []
        if dataflow:
            conditions.append("LOWER(d.tag) = LOWER(?)")
            params.append(dataflow)
        if exec_tag:
            conditions.append("e.tag = ?")
            params.append(exec_tag)
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        _, rows = self.store.read(sql + " ORDER BY m.id DESC", params)
        return [self._describe(row) for row in rows]

    def get(self, model_id):
        """The description of one stored model, with `file` its absolute path on this machine."""
        try:
            model_id = int(model_id)
        except (TypeError, ValueError):
            raise InvalidInput(f"model id {model_id!r} must be a whole number (see GET /api/v1/models)") from None
        _, rows = self.store.read(
            "SELECT m.id, m.task_id, m.exec_id, m.path, m.format, m.size_bytes, m.sha256, m.created_at, "
            "e.tag, d.tag, t.identifier FROM model_file m JOIN dataflow_execution e ON m.exec_id = e.id "
            "JOIN dataflow d ON e.df_id = d.id LEFT JOIN task t ON m.task_id = t.id WHERE m.id = ?", [model_id])
        if not rows:
            raise NotFound(f"there is no stored model with id {model_id}; list them with GET /api/v1/models "
                           "or `dfanalyzer model list`")
        described = self._describe(rows[0])
        described["file"] = self.absolute_path(described["path"])
        if not os.path.isfile(described["file"]):
            raise NotFound(f"model {model_id} is recorded but its file {described['path']!r} is missing from "
                           "the model store")
        return described

    @staticmethod
    def _describe(row):
        described = dict(zip(COLUMNS, row[:8]))
        described["created_at"] = described["created_at"].isoformat() if described["created_at"] else None
        described["exec"], described["dataflow"], described["task"] = row[8], row[9], row[10]
        described["file_name"] = described["path"].rsplit("/", 1)[-1]
        return described

    @staticmethod
    def _check_format(file_format):
        if not isinstance(file_format, str) or not FORMAT.fullmatch(file_format):
            raise InvalidInput(f"model format {file_format!r} must be a short name such as 'keras' or 'weights.h5'")

    def _known_execution(self, dataflow, exec_tag):
        _, rows = self.store.read("SELECT e.id FROM dataflow_execution e JOIN dataflow d ON e.df_id = d.id "
                                  "WHERE LOWER(d.tag) = LOWER(?) AND e.tag = ?", [dataflow, exec_tag])
        if not rows:
            raise NotFound(f"execution {exec_tag!r} of dataflow {dataflow!r} is not stored; send its tasks "
                           "before its model")

    @staticmethod
    def _task_ids(tx, dataflow, exec_tag, task):
        rows = tx.fetch("SELECT e.id FROM dataflow_execution e JOIN dataflow d ON e.df_id = d.id "
                        "WHERE LOWER(d.tag) = LOWER(?) AND e.tag = ?", [dataflow, exec_tag])
        if not rows:
            raise NotFound(f"execution {exec_tag!r} of dataflow {dataflow!r} is not stored; send its tasks "
                           "before its model")
        exec_id = rows[0][0]
        tasks = tx.fetch("SELECT t.id FROM task t JOIN data_transformation dt ON t.dt_id = dt.id "
                         "WHERE t.exec_id = ? AND t.identifier = ? ORDER BY CASE WHEN LOWER(dt.tag) = 'trainingmodel' THEN 0 ELSE 1 END, t.id",
                         [exec_id, task])
        return exec_id, (tasks[0][0] if tasks else None)


def copy_out(described, destination):
    """Copies a stored model file (from `ModelStore.get`) to `destination` (a file or a folder)."""
    if os.path.isdir(destination):
        destination = os.path.join(destination, described["file_name"])
    shutil.copyfile(described["file"], destination)
    return destination


def sha256_of(path):
    """Hex SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _size_of(source):
    """Bytes left to read in a seekable file object; 0 when it cannot tell."""
    try:
        position = source.tell()
        size = source.seek(0, os.SEEK_END) - position
        source.seek(position)
        return size
    except (OSError, AttributeError, ValueError):
        return 0
