"""Which origins may open Engine.IO sessions, and the CORS headers that say so.

The semantics are python-engineio's ``cors_allowed_origins``: ``None`` (the
default) accepts only the server's own origin (scheme and host of the request,
``X-Forwarded-*`` honoured); ``'*'`` accepts every origin; a string or a list names
the accepted origins; a callable decides (``f(origin)`` or ``f(origin, environ)``);
``[]`` turns the check and the CORS headers off.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..wsgi_types import WSGIEnvironment


class CorsPolicy:
    """An origin check plus the response headers for accepted cross-origin requests."""

    def __init__(self, allowed: Any, credentials: bool) -> None:
        self.credentials = credentials
        self.is_disabled = isinstance(allowed, (list, tuple)) and len(allowed) == 0
        self._check: Callable[[str, dict[str, Any]], bool]
        if allowed is None:
            self._check = lambda origin, environ: origin == own_origin(environ)
        elif allowed == "*":
            self._check = lambda origin, environ: True
        elif isinstance(allowed, str):
            self._check = lambda origin, environ: origin == allowed
        elif callable(allowed):
            takes_environ = _arity(allowed) >= 2
            self._check = ((lambda origin, environ: bool(allowed(origin, environ)))
                           if takes_environ else (lambda origin, environ: bool(allowed(origin))))
        else:
            accepted = frozenset(allowed)
            self._check = lambda origin, environ: origin in accepted

    def allows(self, origin: str, environ: WSGIEnvironment) -> bool:
        return self.is_disabled or self._check(origin, environ)

    def response_headers(self, environ: WSGIEnvironment) -> list[tuple[str, str]]:
        origin = environ.get("HTTP_ORIGIN")
        if origin is None or self.is_disabled or not self._check(origin, environ):
            return []  # a refused origin is not told it may read the answer
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def preflight_headers(self, environ: WSGIEnvironment) -> list[tuple[str, str]]:
        headers = [("Access-Control-Allow-Methods", "OPTIONS, GET, POST")]
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        if requested:
            headers.append(("Access-Control-Allow-Headers", requested))
        return headers


def own_origin(environ: WSGIEnvironment) -> str:
    """``scheme://host`` of the request, as the browser that sent it sees the server."""
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST", "")
    return f"{scheme.split(',')[0].strip()}://{host.split(',')[0].strip()}"


def _arity(function: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)
