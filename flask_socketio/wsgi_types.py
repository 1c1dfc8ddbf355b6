"""Type aliases for the WSGI interface (PEP 3333) that the package's layers pass around."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

#: A WSGI request's environ: CGI-style string keys, values of any type (``wsgi.input``, ...).
WSGIEnvironment: TypeAlias = dict[str, Any]
#: The ``start_response`` callable a WSGI server hands to an application.
StartResponse: TypeAlias = Callable[..., Any]
#: A WSGI application.
WSGIApplication: TypeAlias = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]
