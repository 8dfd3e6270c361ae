"""Access control: with a token configured, every endpoint but /health needs it.

Programs send `Authorization: Bearer <token>` (dfa_lib_python, keras_prov and the CLI take it from
DFA_TOKEN). A browser opens any page once with `?token=<token>`: the answer sets the token as an
HttpOnly, SameSite=Strict cookie and redirects to the same address without it, so later pages and
their requests carry the cookie. Without a token (the default, on loopback) everything is open.

A read token (`--read-token`) is accepted the same ways but only reads: every page and GET, and
the read-only queries sent by POST; ingestion, model uploads, saved-query changes and steering
answer 403. A token `NAME:SECRET` names its holder: `request.state.actor` is NAME, the person
recorded as steering a run. `request.state.access` is "full", "read" or "open" (no token set).
"""
import hmac
import html
import re
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

OPEN_PATHS = {"/health"}
COOKIE = "dfanalyzer_token"
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# POST endpoints that only read, open to a read token.
READ_ONLY_POSTS = re.compile(r"^/(api/v1/query|query|api/v1/dataflows/[^/]+/path-query|query_interface/.*)$")
_NAMED = re.compile(r"^([A-Za-z0-9_.@-]{1,64}):.")


def token_name(token):
    """NAME of a token `NAME:SECRET`, else None."""
    found = _NAMED.match(token or "")
    return found.group(1) if found else None


def may_write(request: Request):
    """Whether the request's token may change something (ingest, steer): "full" or "open" access."""
    return getattr(request.state, "access", "open") != "read"


def token_middleware(token, read_token=None):
    """An HTTP middleware answering 401 to requests without `token` (or `read_token`), and 403
    to a request with `read_token` that would write."""
    tokens = {"full": token.encode(), **({"read": read_token.encode()} if read_token else {})}
    values = {"full": token, "read": read_token}

    def access_of(candidate):
        if not candidate:
            return None
        for access, expected in tokens.items():
            if hmac.compare_digest(candidate.encode(), expected):
                return access
        return None

    async def require_token(request: Request, call_next):
        path = re.sub("/{2,}", "/", request.scope["path"])
        if path in OPEN_PATHS:
            return await call_next(request)
        header = request.headers.get("authorization", "")
        access = access_of(header[7:].strip()) if header.lower().startswith("bearer ") else None
        access = access or access_of(request.cookies.get(COOKIE, ""))
        if access:
            request.state.access = access
            request.state.actor = token_name(values[access]) if access == "full" else None
            if access == "read" and request.method not in READ_METHODS and not READ_ONLY_POSTS.match(path):
                return JSONResponse({"detail": f"the read-only token may not {request.method} {path}: ingesting, "
                                               "uploading and steering need the service's --token"}, status_code=403)
            return await call_next(request)
        given = request.query_params.get("token")
        access = access_of(given or "") if request.method == "GET" else None
        if access:
            rest = [(key, value) for key, value in request.query_params.multi_items() if key != "token"]
            response = RedirectResponse(path + ("?" + urlencode(rest) if rest else ""), status_code=303)
            response.set_cookie(COOKIE, values[access], httponly=True, samesite="strict")
            return response
        reason = "the token is wrong" if (header or given) else "this DfAnalyzer requires a token"
        if "text/html" in request.headers.get("accept", ""):
            return _token_page(reason, path)
        return JSONResponse(
            {"detail": f"{reason}: send Authorization: Bearer <token> (programs read DFA_TOKEN), or open a page "
                       "once with ?token=<token> in a browser"},
            status_code=401, headers={"WWW-Authenticate": "Bearer"})

    return require_token


def _token_page(reason, path):
    """The 401 a browser shows when it opens a page without the token: what to type instead."""
    example = html.escape(f"{path}?token=<token>")
    body = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Token required · DfAnalyzer</title>"
            f"</head><body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
            f"<h1>DfAnalyzer: {html.escape(reason)}</h1>"
            f"<p id='token-required'>Open this page once as <code>{example}</code>, with the token the service was "
            "started with (<code>dfanalyzer start --token</code> or <code>DFA_TOKEN</code>); the browser then keeps "
            "it in a cookie for the following pages.</p></body></html>")
    return HTMLResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
