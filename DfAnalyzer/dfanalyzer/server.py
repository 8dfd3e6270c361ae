"""Running the service in this process: open the store, serve the API, close the store."""
import json
import logging
import os

import uvicorn

from dfanalyzer.api.app import create_app
from dfanalyzer.store import open_store

log = logging.getLogger(__name__)


def serve(settings):
    """Serves until SIGTERM/SIGINT; the pid file in the data directory names this process."""
    os.makedirs(settings.data_dir, exist_ok=True)
    store = open_store(data_dir=settings.data_dir, monetdb_url=settings.monetdb_url,
                       monetdb_reader_url=settings.monetdb_reader_url)
    try:
        with open(settings.pid_file, "w") as pid_file:
            json.dump({"pid": os.getpid(), "host": settings.host, "port": settings.port}, pid_file)
        app = create_app(store, settings)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    finally:
        store.close()
        try:
            os.remove(settings.pid_file)
        except FileNotFoundError:
            pass
