"""Sending batches to a DfAnalyzer service over HTTP."""
import logging
import os
import re

import requests

from dfa_lib_python.transport.base import BadRequest, Rejected, Transport, Unavailable

logger = logging.getLogger("dfa_lib_python")

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 60.0


def _reason(response):
    """The service's explanation from an error response, as one short line. An HTML page (a proxy's
    or another server's error page) is summed up by its title, never printed whole."""
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        return _page_summary(response)
    if isinstance(detail, dict):
        detail = detail.get("error") or detail
    return _one_line(str(detail))


def _page_summary(response):
    text = response.text or ""
    if "html" in response.headers.get("Content-Type", "").lower() or text.lstrip()[:1] == "<":
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        shown = _one_line(title.group(1)) if title else "no title"
        return f"an HTML page ({shown}), not an answer of DfAnalyzer; is DFA_URL the address of DfAnalyzer?"
    return _one_line(text) or "no explanation"


def _one_line(text, limit=300):
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "..."


def _retry_after(response):
    """The seconds of a Retry-After header (the HTTP-date form is not used by DfAnalyzer), or None."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def auth_headers(token=None):
    """The Authorization header for a service started with --token (DFA_TOKEN), else none."""
    token = token if token is not None else os.environ.get("DFA_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _failure(error):
    """A short reason for a failed request (requests' own messages run over several lines)."""
    if isinstance(error, requests.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:.0f} s"
    if isinstance(error, requests.ReadTimeout):
        return f"no answer within {READ_TIMEOUT:.0f} s"
    if isinstance(error, requests.ConnectionError):
        return "connection refused or closed"
    return type(error).__name__


class HttpTransport(Transport):
    """POSTs batches to `<url>/api/v1/ingest` and queries to `<url>/api/v1/query`.

    Args:
        url: base URL of the service, e.g. "http://localhost:22000" (a trailing slash is fine).
        token: the service's access token; default DFA_TOKEN (sent as Authorization: Bearer).
    """

    def __init__(self, url, token=None):
        self.url = url.rstrip("/")
        self._session = requests.Session()
        self._session.headers.update(auth_headers(token))

    def send(self, lines):
        body = b'{"messages":[' + b",".join(lines) + b"]}"
        try:
            response = self._session.post(
                self.url + "/api/v1/ingest", data=body, headers={"Content-Type": "application/json"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except requests.ReadTimeout as error:
            raise Unavailable(_failure(error), too_big=len(lines) > 1) from None
        except requests.RequestException as error:
            raise Unavailable(_failure(error)) from None
        if response.status_code < 300:
            self._check_acknowledged(response, len(lines))
            return
        if response.status_code == 413 and len(lines) > 1:
            raise Unavailable("HTTP 413: the batch is too large", too_big=True)
        if response.status_code in (503, 507):
            # The store is out of reach or its disk nearly full: the service said so, and no
            # message is to blame (never bisected, never set aside); the batch waits in the spool.
            raise Unavailable(f"HTTP {response.status_code}: {_reason(response)}",
                              retry_after=_retry_after(response))
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise Unavailable(f"HTTP {response.status_code}: {_reason(response)}",
                              server_error=True)
        if response.status_code == 401:
            raise Unavailable(f"HTTP 401: {_reason(response)} (set DFA_TOKEN to the token the service was "
                              "started with)")
        if response.status_code in (404, 405):
            # Not a batch-ingesting DfAnalyzer (e.g. the original Java one): keep everything.
            raise Unavailable(f"{self.url} answers HTTP {response.status_code} to /api/v1/ingest; it is not a "
                              "DfAnalyzer of this project (the original Java DfAnalyzer has no batched ingestion)")
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = None
        if isinstance(detail, dict) and detail.get("message_id"):
            raise Rejected(detail["message_id"], str(detail.get("error") or detail))
        raise BadRequest(response.status_code, _reason(response))

    def _check_acknowledged(self, response, count):
        """A 200 from something that is not DfAnalyzer must not make the client forget records."""
        try:
            acknowledged = response.json().get("acknowledged")
        except (ValueError, AttributeError):
            acknowledged = None
        if not isinstance(acknowledged, list) or len(acknowledged) != count:
            raise Unavailable(f"{self.url}/api/v1/ingest answered {response.status_code} without acknowledging the "
                              f"{count} messages sent; is DFA_URL the address of DfAnalyzer?")

    def query(self, sql, limit):
        try:
            response = self._session.post(self.url + "/api/v1/query", json={"sql": sql, "limit": limit},
                                          timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        except requests.RequestException as error:
            raise Unavailable(_failure(error)) from None
        if response.status_code >= 400:
            raise BadRequest(response.status_code, _reason(response))
        answer = response.json()
        return answer["columns"], answer["rows"]

    def healthy(self):
        try:
            return self._session.get(self.url + "/health", timeout=(CONNECT_TIMEOUT, 10)).ok
        except requests.RequestException:
            return False

    def close(self):
        self._session.close()

