"""What an API error may show: the server's one-line reason, cut short, so that no Secret content in a
response body can reach a message, a log or a ``--debug`` traceback."""

from __future__ import annotations

import contextlib
import json
from typing import Any

_BODY_LIMIT = 200


def short(text: object) -> str:
    words = " ".join(str(text).split())
    return words if len(words) <= _BODY_LIMIT else words[: _BODY_LIMIT - 1] + "…"


def status_message(error: Any) -> str:
    """The server's own one-line reason from an error Status body, cut short."""
    body = getattr(error, "body", None)
    message = ""
    if body:
        try:
            decoded = json.loads(body)
            message = str(decoded.get("message", "")) if isinstance(decoded, dict) else ""
        except (ValueError, TypeError):
            message = ""
    return short(message or getattr(error, "reason", "") or "no message")


def scrub(error: Any) -> None:
    # The exception stays chained (``from``) and ``--debug`` prints it: cut what it could leak first.
    with contextlib.suppress(AttributeError):
        error.body = status_message(error)
        error.headers = None
