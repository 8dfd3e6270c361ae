"""HTTP access to a running DfAnalyzer for the CLI commands that read data."""
import os

import requests

DEFAULT_URL = "http://127.0.0.1:22000"


class ServiceError(Exception):
    """The service could not be reached or refused the request; the message says which.
    `status_code` is the HTTP status of a refusal, None when the service was not reached."""

    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.status_code = status_code


def error_detail(response):
    """The service's explanation of a refused request."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = response.text
    if isinstance(detail, dict):
        detail = detail.get("error", detail)
    return str(detail)


def service_url(url=None):
    """--url, else DFA_URL (the variable the original clients use), else the default address."""
    url = url or os.environ.get("DFA_URL") or DEFAULT_URL
    if url.startswith("embedded:"):
        raise ServiceError(f"DFA_URL={url} names an embedded database; CLI commands talk to a running service: "
                           "start one with `dfanalyzer start --data-dir <dir>` and pass --url")
    return url.rstrip("/")


def add_url_option(parser):
    parser.add_argument("--url", help=f"DfAnalyzer address (default: $DFA_URL or {DEFAULT_URL})")


class ServiceClient:
    """Requests to the service at `url`, with errors turned into ServiceError messages."""

    def __init__(self, url=None, timeout=60):
        self.url = service_url(url)
        self.timeout = timeout

    def request(self, method, path, **kwargs):
        try:
            response = requests.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.ConnectionError:
            raise ServiceError(f"cannot reach DfAnalyzer at {self.url}; start it with `dfanalyzer start` "
                               "or point --url / DFA_URL at it") from None
        if response.status_code >= 400:
            raise ServiceError(error_detail(response), response.status_code)
        return response

    def get_json(self, path, **params):
        return self.request("GET", path, params=params).json()

    def post_json(self, path, body, **params):
        return self.request("POST", path, json=body, params=params).json()
