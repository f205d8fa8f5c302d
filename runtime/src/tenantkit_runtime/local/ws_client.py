"""``python -m tenantkit_runtime.local.ws_client URL --token-env NAME``: an interactive
WebSocket client that keeps the token off the screen.

It connects to ``URL`` with the token of environment variable ``NAME`` added as the
``token`` query parameter (the WebSocket API's identity source), and prints ``URL``
as given: the token appears in no shell line and nothing it prints.
Each line typed is sent as one message; each message received is printed on a line
of its own, prefixed ``< ``. End of input (Ctrl-D) or Ctrl-C closes the connection.
The ``websockets`` package's own client (``python -m websockets``) can only send the
token in the URL it is given, and it prints that URL.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client; the exit status."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    parser = argparse.ArgumentParser(
        prog="python -m tenantkit_runtime.local.ws_client",
        description="Talk to a WebSocket API, the token read from an environment variable.",
    )
    parser.add_argument("url", help="ws://HOST:PORT/PATH")
    parser.add_argument(
        "--token-env", required=True, metavar="NAME", help="the variable holding the token"
    )
    args = parser.parse_args(argv)
    token = os.environ.get(args.token_env)
    if not token:
        parser.error(f"${args.token_env} is not set: export it first")
    try:
        socket = connect(_with_token(args.url, token))
    except InvalidStatus as exc:
        print(f"refused: HTTP {exc.response.status_code}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot connect to {args.url}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"Connected to {args.url}.", flush=True)

    def receive() -> None:
        try:
            for message in socket:
                text = message if isinstance(message, str) else message.decode(errors="replace")
                print(f"< {text}", flush=True)
        except ConnectionClosed:
            pass

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    try:
        for line in sys.stdin:
            if line.strip():
                socket.send(line.rstrip("\n"))
    except (KeyboardInterrupt, ConnectionClosed):
        pass
    finally:
        socket.close()
        reader.join(timeout=5)
    print("Connection closed.", flush=True)
    return 0


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("token", token)])
    return urlunsplit(parts._replace(query=query))


if __name__ == "__main__":
    sys.exit(main())
