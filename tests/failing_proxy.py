"""An HTTP proxy in front of the real DfAnalyzer that answers 500 to every ingestion batch holding a
marker, the way a service answers a message it fails on. /health and everything else pass through.

Since issue 9 the service answers every bad input it knows with a 4xx; this proxy stands for the
failures nobody knows yet, so that the client's answer to them (bisecting) can be tested.
"""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from service_process import free_port


class FailingProxy:
    """Forwards to `target_url`; POST /api/v1/ingest bodies containing `marker` get HTTP 500."""

    def __init__(self, target_url, marker, port=None):
        self.target_url = target_url
        self.marker = marker
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.failed_batches = 0
        self._server = None

    def start(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._forward(None)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/api/v1/ingest") and proxy.marker in body:
                    proxy.failed_batches += 1
                    self._answer(500, b"Internal Server Error", "text/plain")
                    return
                self._forward(body)

            def _forward(self, body):
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization")}
                response = requests.request(self.command, proxy.target_url + self.path, data=body, headers=headers,
                                            timeout=60)
                self._answer(response.status_code, response.content, response.headers.get("Content-Type", ""))

            def _answer(self, status, content, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
