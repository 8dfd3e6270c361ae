"""Content-Disposition headers for names taken from user tags (RFC 6266 with RFC 5987 encoding).

A tag can hold characters an HTTP header cannot (non-Latin-1, CR/LF, '"'): the header carries an
ASCII fallback in `filename` and the exact name, percent-encoded as UTF-8, in `filename*`.
"""
import re
from urllib.parse import quote

_UNSAFE_FALLBACK = re.compile(r'[^A-Za-z0-9._\-+()\[\] ]')


def content_disposition(file_name, disposition="inline"):
    """The Content-Disposition value naming `file_name`, safe for any characters it holds."""
    fallback = _UNSAFE_FALLBACK.sub("_", file_name).strip() or "download"
    encoded = quote(file_name, safe="")
    if fallback == file_name:
        return f'{disposition}; filename="{fallback}"'
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
