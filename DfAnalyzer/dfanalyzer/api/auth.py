"""Access control: with a token configured, every endpoint but /health needs it.

Programs send `Authorization: Bearer <token>` (dfa_lib_python, keras_prov and the CLI take it from
DFA_TOKEN). A browser opens any page once with `?token=<token>`: the answer sets the token as an
HttpOnly, SameSite=Strict cookie and redirects to the same address without it, so later pages and
their requests carry the cookie. Without a token (the default, on loopback) everything is open.
"""
import hmac
import html
import re
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

OPEN_PATHS = {"/health"}
COOKIE = "dfanalyzer_token"


def token_middleware(token):
    """An HTTP middleware answering 401 to requests without `token`."""
    expected = token.encode()

    def matches(candidate):
        return bool(candidate) and hmac.compare_digest(candidate.encode(), expected)

    async def require_token(request: Request, call_next):
        path = re.sub("/{2,}", "/", request.scope["path"])
        if path in OPEN_PATHS:
            return await call_next(request)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer ") and matches(header[7:].strip()):
            return await call_next(request)
        if matches(request.cookies.get(COOKIE, "")):
            return await call_next(request)
        given = request.query_params.get("token")
        if request.method == "GET" and matches(given or ""):
            rest = [(key, value) for key, value in request.query_params.multi_items() if key != "token"]
            response = RedirectResponse(path + ("?" + urlencode(rest) if rest else ""), status_code=303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
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
