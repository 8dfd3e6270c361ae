"""Putting a trained model into DfAnalyzer's model store without holding up training."""
import json
import logging
import os
import queue
import shutil
import tempfile
import threading

import dfa_lib_python
import requests
from dfa_lib_python.registry import before_exit_close
from dfa_lib_python.transport.http import auth_headers

from keras_prov.model_archive import ModelArchive
from keras_prov.recording_thread import recording  # its exit drain is registered, and runs, before ours

logger = logging.getLogger("keras_prov")

# How long the end of the program may wait for trained models still being stored.
PENDING_FILE = "upload.json"
EXIT_TIMEOUT = float(os.environ.get("KERAS_PROV_EXIT_TIMEOUT", "10"))
DELIVERY_TIMEOUT = 600.0  # how long a model waits for DfAnalyzer while the program runs


class ModelStoreClient:
    """Saves the model at the end of fit and hands its files to DfAnalyzer's model store.

    Only `model.keras` is written on the training thread (the model must not change while it is
    saved): one `model.save` per fit. The weights file is taken out of it, and the files hashed,
    on keras_prov's recording thread; delivery happens on a background thread, which waits until dfa_lib_python has delivered the training task, then uploads the files
    (`POST /api/v1/models`) or, with `DFA_URL=embedded:/dir`, registers the files already written
    into `/dir/models`. A failed upload is logged with the local path of the files, which are kept;
    training never waits for it and never fails because of it. `keras_prov.flush()` waits for it.

    The path recorded in oTrainedModel is the path inside the model store:
    `<dataflow>/<exec>/<task>/<file>` (under `<data dir>/models/`).

    Args:
        url: dfa_lib_python's URL, "http://host:port" or "embedded:/path".
        spool_dir: dfa_lib_python's spool; models wait for their upload beside it.
        include_optimizer: keep the optimizer's state in `model.keras`.
        weights: store `model.weights.h5` (the weights alone) too.

    Example:
        >>> client = ModelStoreClient("http://127.0.0.1:22000")
        >>> saved = client.save(model, training_task)          # training thread
        >>> files = client.finish(training_task, saved)        # recording thread
        >>> files[0]["path"]
        'alexnet/alexnet-20260101T120000-1a2b3c/1/model.keras'
    """

    def __init__(self, url, spool_dir=None, include_optimizer=False, weights=False):
        self.url = url
        self.spool_dir = spool_dir or tempfile.gettempdir()
        self.include_optimizer = include_optimizer
        self.weights = weights

    @classmethod
    def for_recorder(cls, recorder):
        client = dfa_lib_python.get_client()
        if recorder is None:
            return cls(client.url, client.spool_dir)
        settings = recorder.provenance
        return cls(client.url, client.spool_dir, include_optimizer=settings.store_optimizer,
                   weights=settings.store_weights)

    @property
    def pending_dir(self):
        """Where models wait for their upload: next to dfa_lib_python's spool, so that a later
        program using the same spool delivers what this one could not (see `deliver_pending`)."""
        return os.path.join(self.spool_dir, "keras_prov-models")

    @property
    def embedded_dir(self):
        return self.url[len("embedded:"):] if self.url.startswith("embedded:") else None

    def save(self, model, task, archive_class=ModelArchive):
        """Saves `model` for the training `task` (training thread). Returns what `finish` needs, or
        None when the model could not be saved (logged; the rest of the provenance is kept).
        `archive_class` writes and describes the files (a torch module's is not a ModelArchive)."""
        folder = "/".join([task.dataflow_tag.lower(), task.exec_tag, str(task.id)])
        if self.embedded_dir:
            directory = os.path.join(self.embedded_dir, "models", *folder.split("/"))
        else:
            os.makedirs(self.pending_dir, exist_ok=True)
            directory = tempfile.mkdtemp(prefix="model-", dir=self.pending_dir)
        archive = archive_class(directory)
        try:
            archive.save(model, include_optimizer=self.include_optimizer)
        except Exception as error:  # noqa: BLE001 - an unsavable model must not stop fit
            # ModelArchive already fell back to the weights: this is a model whose weights cannot be written.
            logger.warning("keras_prov could not save the trained model, not even its weights (%s: %s); it is not "
                           "stored (the rest of the provenance is)", type(error).__name__,
                           str(error).strip().splitlines()[0] if str(error).strip() else "")
            if not self.embedded_dir:
                shutil.rmtree(directory, ignore_errors=True)
            return None
        return folder, archive

    def finish(self, task, saved):
        """Describes the saved files (format, size, sha256, path in the model store) and hands them
        to the background delivery. Runs on the recording thread."""
        folder, archive = saved
        files = archive.describe(weights=self.weights)
        for described in files:
            described["path"] = f"{folder}/{described['file_name']}"
        if not self.embedded_dir:
            # What an upload needs, written before trying it: a later program can finish the job.
            pending = {"url": self.url, "dataflow": task.dataflow_tag, "exec": task.exec_tag, "task": str(task.id),
                       "files": [{key: f[key] for key in ("file_name", "format", "sha256")} for f in files]}
            with open(os.path.join(archive.directory, PENDING_FILE), "w") as handle:
                json.dump(pending, handle)
        background.submit(self._deliver, task, files, None if self.embedded_dir else archive.directory)
        return files

    def deliver_pending(self):
        """Uploads the models earlier programs left in the pending folder for this URL (they could
        not reach DfAnalyzer), once dfa_lib_python has delivered their tasks. Uploading twice is
        harmless: the store replaces a file by the same one and updates its row."""
        waiting = self.waiting()
        if not waiting or not dfa_lib_python.get_client().flush(timeout=DELIVERY_TIMEOUT):
            return
        for directory, pending in waiting:
            files = [{**f, "local_path": os.path.join(directory, f["file_name"])} for f in pending["files"]]
            if all(os.path.isfile(f["local_path"]) for f in files):
                self._upload(_PendingTask(pending), files, directory)

    def waiting(self):
        """[(folder, upload description)] of the models waiting for their upload to this URL."""
        if self.embedded_dir or not os.path.isdir(self.pending_dir):
            return []
        waiting = []
        for name in sorted(os.listdir(self.pending_dir)):
            path = os.path.join(self.pending_dir, name, PENDING_FILE)
            try:
                with open(path) as handle:
                    pending = json.load(handle)
            except (OSError, ValueError):
                continue  # being written, or not ours
            if pending.get("url") == self.url:
                waiting.append((os.path.dirname(path), pending))
        return waiting

    def _deliver(self, task, files, staging):
        # The training task must be stored before its model: first keras_prov's records, then
        # dfa_lib_python's spool.
        # While DfAnalyzer is down this waits (on this thread only) for it to come back.
        delivered = recording.drain(DELIVERY_TIMEOUT) and dfa_lib_python.get_client().flush(timeout=DELIVERY_TIMEOUT)
        if not delivered:
            logger.warning("keras_prov: DfAnalyzer has not stored the training task, so its model cannot be recorded "
                           "now; the model files are kept in %s%s", staging or os.path.dirname(files[0]["local_path"]),
                           " and uploaded by the next program that uses this spool" if staging else "")
            return
        if self.embedded_dir:
            self._register_embedded(task, files)
        else:
            self._upload(task, files, staging)

    def _register_embedded(self, task, files):
        from dfanalyzer.model_store import ModelStore

        store = dfa_lib_python.get_client().transport.store
        models = ModelStore(store, os.path.join(self.embedded_dir, "models"))
        for described in files:
            models.register(task.dataflow_tag, task.exec_tag, str(task.id), described["path"], described["format"])

    def _upload(self, task, files, staging):
        try:
            for described in files:
                with open(described["local_path"], "rb") as body:
                    response = requests.post(
                        self.url + "/api/v1/models", data=body, timeout=300,
                        headers={"Content-Type": "application/octet-stream", **auth_headers()},
                        params={"dataflow": task.dataflow_tag, "exec": task.exec_tag, "task": str(task.id),
                                "file_name": described["file_name"], "format": described["format"],
                                "sha256": described["sha256"]})
                if response.status_code >= 400:
                    raise UploadRefused(response.status_code, response.text[:500])
        except UploadRefused as error:
            if error.status not in (401, 404, 408, 429) and error.status < 500 and os.path.exists(
                    os.path.join(staging, PENDING_FILE)):
                os.remove(os.path.join(staging, PENDING_FILE))  # refused as bad: retrying cannot help
            logger.warning("keras_prov: DfAnalyzer at %s refused the trained model (%s); its files are kept in %s",
                           self.url, error, staging)
            return
        except (requests.RequestException, OSError) as error:
            logger.warning("keras_prov could not upload the trained model to %s (%s); its files are kept in %s "
                           "and uploaded by the next program that uses this spool", self.url, error, staging)
            return
        shutil.rmtree(staging, ignore_errors=True)


class _PendingTask:
    """The identity of a training task read back from a pending upload."""

    def __init__(self, pending):
        self.dataflow_tag, self.exec_tag, self.id = pending["dataflow"], pending["exec"], pending["task"]


class UploadRefused(Exception):
    """The service answered an upload with an error."""

    def __init__(self, status, reason):
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status


class BackgroundWork:
    """One daemon thread running model deliveries in order; `wait(timeout)` waits for them."""

    def __init__(self):
        self._jobs = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()

    def submit(self, function, *args):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="keras_prov-models", daemon=True)
                self._thread.start()
        self._jobs.put((function, args))

    def _run(self):
        while True:
            function, args = self._jobs.get()
            try:
                function(*args)
            except Exception:  # noqa: BLE001 - one failed delivery must not stop the next ones
                logger.exception("keras_prov: storing a trained model failed")
            finally:
                self._jobs.task_done()

    def wait(self, timeout=None):
        """True when every submitted delivery has finished within `timeout` seconds."""
        done = threading.Event()

        def watch():
            self._jobs.join()
            done.set()

        threading.Thread(target=watch, daemon=True).start()
        return done.wait(timeout)


background = BackgroundWork()


def _wait_at_exit():
    try:
        down = dfa_lib_python.get_client().status["down_since"] is not None
    except Exception:  # noqa: BLE001 - never turn interpreter exit into a traceback
        down = True
    # While DfAnalyzer is down there is little to wait for: exit soon, files are kept locally.
    if not background.wait(min(EXIT_TIMEOUT, 2.0) if down else EXIT_TIMEOUT):
        logger.warning("keras_prov: a trained model was still being stored at exit; its files are kept locally")


before_exit_close(_wait_at_exit)
