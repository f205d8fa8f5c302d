"""The size and depth limits on what callers send, in one place.

Anything larger or deeper is refused with a 4xx before it is parsed further:

=================================  =========  ===========================================
limit                              value      where it applies
=================================  =========  ===========================================
:data:`MAX_JSON_DEPTH`             64         nesting of every untrusted JSON document:
                                              request bodies, WebSocket messages, token
                                              headers and payloads, tool-call arguments
                                              (:func:`tenantkit.untrusted.loads`; 400)
:data:`MAX_TOKEN_LENGTH`           16 KiB     a bearer token (401)
:data:`MAX_FUNCTION_BODY`          1 MiB      a request body a function parses (413)
:data:`MAX_HTTP_BODY`              10 MiB     an HTTP API request body, API Gateway's
                                              quota (413 from ``tenantkit serve``)
:data:`MAX_WEBSOCKET_MESSAGE`      128 KiB    a WebSocket message, API Gateway's quota
                                              (the connection is closed with 1009)
:data:`MAX_REQUEST_LINE`           8 KiB      the path and query string of an HTTP
                                              request or a WebSocket handshake (414
                                              from ``tenantkit serve``, at once)
=================================  =========  ===========================================
"""

from __future__ import annotations

from tenantkit.untrusted import MAX_JSON_DEPTH

__all__ = [
    "MAX_FUNCTION_BODY",
    "MAX_HTTP_BODY",
    "MAX_JSON_DEPTH",
    "MAX_REQUEST_LINE",
    "MAX_TOKEN_LENGTH",
    "MAX_WEBSOCKET_MESSAGE",
]

#: A bearer token; longer strings are refused before any parsing (Cognito's are 1-4 KB).
MAX_TOKEN_LENGTH = 16_384
#: A request body a function reads (``App(max_body_bytes=...)`` overrides it).
MAX_FUNCTION_BODY = 1024 * 1024
#: API Gateway's quota on an HTTP API payload.
MAX_HTTP_BODY = 10 * 1024 * 1024
#: API Gateway's quota on a WebSocket message.
MAX_WEBSOCKET_MESSAGE = 128 * 1024
#: The request target (path and query string) of an HTTP request or WebSocket handshake.
MAX_REQUEST_LINE = 8 * 1024
