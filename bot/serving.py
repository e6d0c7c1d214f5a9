"""`vizdots serve`: listen first, then announce, then hand the socket to uvicorn.

Binding before anything is printed means a busy port is one line and exit 1, never an
announcement of a chat that nobody serves followed by uvicorn's error."""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI


class CannotListen(Exception):
    """The address is taken, not ours to bind, or not an address at all."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port), as uvicorn itself would bind it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        raise CannotListen(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_on(sock: socket.socket, app: FastAPI) -> None:
    """Run uvicorn on the bound socket until it is stopped (SIGINT, SIGTERM)."""
    host, port = sock.getsockname()[:2]
    # log_config=None: uvicorn's lines go through the handler `vizdots` set up (LOG_FORMAT,
    # request ids, signed links redacted from the access log)
    config = uvicorn.Config(app, host=host, port=port, log_level="info", log_config=None)
    uvicorn.Server(config).run(sockets=[sock])


async def serve_in_loop(sock: socket.socket, app: FastAPI) -> None:
    """Serve `app` on the bound socket inside the running event loop (a worker's
    /metrics beside its loops). On SIGINT or SIGTERM uvicorn stops it, then raises the
    signal again, which stops the worker as it would have without it."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off")
    await uvicorn.Server(config).serve(sockets=[sock])
