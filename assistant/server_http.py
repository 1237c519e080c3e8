"""The API server's transport around uvicorn: the listening socket, a request-head deadline, the Host/Origin guard,
and a server object a thread can run and another can stop (the desktop app, tests, `python -m assistant serve`).

uvicorn does the HTTP; this adds only what it lacks: it never times out a connection that has not yet sent a whole
request head (a slow-header client would hold one of its limited connection slots forever).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import threading
from urllib.parse import urlsplit

import uvicorn
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from uvicorn.protocols.http.h11_impl import H11Protocol

from assistant.media import UserInputError


def is_loopback(host: str) -> bool:
    """Whether a host name or address only reaches this computer."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """'127.0.0.1:8000' -> '127.0.0.1', '[::1]:8000' -> '::1', 'localhost' -> 'localhost'."""
    if host_header.startswith("["):
        return host_header[1:host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class LoopbackGuard:
    """ASGI middleware: without an API key, only this computer's programs may drive the server.

    A web page can make the browser send requests to 127.0.0.1 (a form POST needs no CORS preflight) or rebind its own
    domain name to 127.0.0.1. Both are refused: a Host header that is not a loopback name or the bound host (DNS
    rebinding), and an Origin header that is not a loopback origin (a cross-site request). With a key set, the key
    authenticates, so browser apps elsewhere may call the server. Also drops trailing slashes from paths.
    """

    def __init__(self, app, bound_host: str, keyed: bool):
        self.app, self.bound_host, self.keyed = app, bound_host, keyed

    def refusal(self, headers: Headers) -> str | None:
        """Why this request is refused, or None."""
        if self.keyed:
            return None
        host = _host_name(headers.get("host", ""))
        if host and not is_loopback(host) and host != self.bound_host:
            return f"Host {host!r} is not this computer; address the server as 127.0.0.1 or localhost"
        origin = headers.get("origin")
        if origin is not None and not is_loopback(urlsplit(origin).hostname or ""):
            return f"cross-origin requests from {origin!r} are refused; set an API key to allow them"
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            scope["path"] = scope["path"].rstrip("/") or "/"
            if (why := self.refusal(Headers(scope=scope))) is not None:
                body = {"error": {"message": why, "type": "permission_error", "param": None, "code": "forbidden"}}
                await JSONResponse(body, 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, plus a deadline for each request head (first and kept-alive alike)."""

    def __init__(self, *args, head_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self.head_timer = None

    def connection_made(self, transport) -> None:  # noqa: D102 - asyncio protocol callback
        super().connection_made(transport)
        self._arm(None)

    def on_response_complete(self) -> None:  # noqa: D102 - uvicorn callback
        cycle = self.cycle  # the finished request; a pipelined next one may start inside super()
        super().on_response_complete()
        self._arm(cycle)

    def connection_lost(self, exc) -> None:  # noqa: D102 - asyncio protocol callback
        if self.head_timer is not None:
            self.head_timer.cancel()
        super().connection_lost(exc)

    def _arm(self, cycle) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()

        def expire() -> None:
            idle = self.cycle is cycle and (cycle is None or cycle.response_complete)  # no new request has begun
            if idle and not self.transport.is_closing():
                self.transport.close()

        self.head_timer = self.loop.call_later(self.head_timeout, expire)


def listen(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket, or a one-line UserInputError (port in use, invalid port, unknown host)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=backlog)
    except OverflowError:
        raise UserInputError(f"port {port} is not a port number (0-65535)") from None
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else str(e)  # create_server's strerror repeats the address
        raise UserInputError(f"cannot serve on {host}:{port}: {reason}") from None


class APIServer:
    """An ASGI app served by uvicorn on a bound socket: serve_forever() in any thread, shutdown() from another."""

    def __init__(self, app, sock: socket.socket, *, max_connections: int, head_timeout: float, keep_alive: int,
                 backlog: int):
        self.socket = sock
        self.server_address = sock.getsockname()
        config = uvicorn.Config(
            app, http=functools.partial(HeadTimeoutProtocol, head_timeout=head_timeout), loop="asyncio",
            ws="none", lifespan="off", log_config=None, access_log=False, limit_concurrency=max_connections,
            backlog=backlog, timeout_keep_alive=keep_alive,
            timeout_graceful_shutdown=3)  # an answer still streaming at shutdown gets 3 s, then is cancelled
        self.uvicorn = uvicorn.Server(config)
        self.running = threading.Event()
        self.stopped = threading.Event()

    def serve_forever(self) -> None:
        """Serve until shutdown() (or Ctrl+C when run in the main thread)."""
        self.running.set()
        try:
            self.uvicorn.run(sockets=[self.socket])
        finally:
            self.stopped.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop accepting, close idle connections, give open answers a moment, and wait for serve_forever()."""
        self.uvicorn.should_exit = True
        if self.running.is_set():
            self.stopped.wait(timeout)

    def server_close(self) -> None:
        """Close the listening socket (serve_forever() also closes it when it ends)."""
        self.socket.close()
