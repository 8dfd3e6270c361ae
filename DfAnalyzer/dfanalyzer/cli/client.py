"""HTTP access to a running DfAnalyzer for the CLI commands that read data."""
import os
import re
from urllib.parse import urlsplit

import requests

DEFAULT_URL = "http://127.0.0.1:22000"


class ServiceError(Exception):
    """The service could not be reached or refused the request; the message says which.
    `status_code` is the HTTP status of a refusal, None when the service was not reached."""

    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.status_code = status_code


def error_detail(response):
    """The service's explanation of a refused request, as one line. Another server's HTML error
    page is summed up by its title."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        text = response.text or ""
        if "html" in response.headers.get("Content-Type", "").lower() or text.lstrip()[:1] == "<":
            title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
            return (f"HTTP {response.status_code} with an HTML page ({_one_line(title.group(1)) if title else 'no title'})"
                    "; is --url / DFA_URL the address of DfAnalyzer?")
        return f"HTTP {response.status_code}: {_one_line(text)}"
    if isinstance(detail, dict):
        detail = detail.get("error", detail)
    if isinstance(detail, list):  # FastAPI's validation errors
        detail = "; ".join(f"{'.'.join(str(p) for p in item.get('loc', [])[1:])}: {item.get('msg')}"
                           for item in detail if isinstance(item, dict))
    return _one_line(str(detail))


def _one_line(text, limit=500):
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit] + "..."


def service_url(url=None):
    """--url, else DFA_URL (the variable the original clients use), else the default address."""
    url = url or os.environ.get("DFA_URL") or DEFAULT_URL
    if url.startswith("embedded:"):
        return embedded_directory_url(url[len("embedded:"):])
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ServiceError(f"{url!r} is not the address of a service; write it as http://host:port, "
                           f"e.g. {DEFAULT_URL} (--url or DFA_URL)")
    return url.rstrip("/")


def embedded_directory_url(data_dir):
    """The address of the process serving an embedded data directory: the notebook kernel that
    holds it (keras_prov serves it from the kernel), a `dfanalyzer start --data-dir` service, or,
    when nobody holds it, this command itself."""
    from dfanalyzer.in_process_service import read_record
    from dfanalyzer.supervisor import read_pid_record

    data_dir = os.path.abspath(os.path.expanduser(data_dir)) if data_dir else ""
    if not data_dir:
        raise ServiceError("embedded: needs the data directory, e.g. --url embedded:/content/dfa-data")
    record = read_record(data_dir)
    if record:
        return record["url"]
    service = read_pid_record(os.path.join(data_dir, "dfanalyzer.pid"))
    if service:
        host = "127.0.0.1" if service.get("host") in (None, "", "0.0.0.0", "::") else service["host"]
        return f"http://{host}:{service['port']}"
    return _serve_here(data_dir)


_opened_here = []  # [(InProcessService, store)] this command opened; cli.main closes them


def _serve_here(data_dir):
    """No process serves the directory: this command opens it and serves it on loopback while it
    runs, as after a script that recorded into it (DFA_URL=embedded:DIR) has ended."""
    from dfanalyzer.errors import DirectoryInUse
    from dfanalyzer.in_process_service import InProcessService
    from dfanalyzer.store import open_store

    if not os.path.isdir(os.path.join(data_dir, "monetdb")):
        raise ServiceError(f"{data_dir} holds no provenance (no monetdb folder in it); give the directory a "
                           "program recorded into with DFA_URL=embedded:DIR")
    try:
        store = open_store(data_dir=data_dir)
    except DirectoryInUse as error:
        raise ServiceError(f"{data_dir} is held by {error.holder}, which does not serve it (a program recording "
                           "into it): read it once that program ends. While a notebook records into it, run "
                           "keras_prov.show() (or any keras_prov.runs()) there: its kernel then serves it and this "
                           f"command finds it. To read while recording, record through a service: `dfanalyzer start "
                           f"--data-dir {data_dir}`, then DFA_URL=http://127.0.0.1:22000") from None
    try:
        service = InProcessService(store, data_dir).start()
    except BaseException:
        store.close()
        raise
    _opened_here.append((service, store))
    return service.url


def close_opened_here():
    """Stops serving and closes the embedded directories this command opened itself."""
    while _opened_here:
        service, store = _opened_here.pop()
        service.stop()
        store.close()


def add_url_option(parser):
    parser.add_argument("--url", help=f"DfAnalyzer address (default: $DFA_URL or {DEFAULT_URL}); "
                                      "a service started with --token needs $DFA_TOKEN")


class ServiceClient:
    """Requests to the service at `url`, with errors turned into ServiceError messages. Sends
    DFA_TOKEN as a Bearer token when it is set."""

    def __init__(self, url=None, timeout=60):
        self.url = service_url(url)
        self.timeout = timeout
        token = os.environ.get("DFA_TOKEN")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method, path, **kwargs):
        try:
            response = requests.request(method, self.url + path, timeout=self.timeout, headers=self.headers, **kwargs)
        except requests.ConnectionError:
            raise ServiceError(f"cannot reach DfAnalyzer at {self.url}; start it with `dfanalyzer start` "
                               "or point --url / DFA_URL at it") from None
        except requests.Timeout:
            raise ServiceError(f"DfAnalyzer at {self.url} did not answer within {self.timeout} s") from None
        if response.status_code == 401:
            raise ServiceError(f"{error_detail(response)} (set DFA_TOKEN)", 401)
        if response.status_code >= 400:
            raise ServiceError(error_detail(response), response.status_code)
        return response

    def get_json(self, path, **params):
        return self.request("GET", path, params=params).json()

    def post_json(self, path, body, **params):
        return self.request("POST", path, json=body, params=params).json()
