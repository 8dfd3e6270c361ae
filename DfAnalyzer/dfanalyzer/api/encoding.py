"""JSON for query results: times as ISO 8601, infinities as the strings "Infinity"/"-Infinity"
(strict JSON has no infinity), NULL as null."""
import datetime
import decimal
import json
import math

from fastapi.responses import JSONResponse


def json_value(value):
    if isinstance(value, float):
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if math.isnan(value):
            return None
        return value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


class SafeJSONResponse(JSONResponse):
    """A JSON response that turns non-finite floats and times into valid JSON values."""

    media_type = "application/json"

    def render(self, content):
        return json.dumps(_clean(content), ensure_ascii=False, allow_nan=False).encode()


def _clean(content):
    if isinstance(content, dict):
        return {key: _clean(value) for key, value in content.items()}
    if isinstance(content, (list, tuple)):
        return [_clean(value) for value in content]
    return json_value(content)
