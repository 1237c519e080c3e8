"""`python -m assistant serve`: the Engine behind an OpenAI-compatible chat-completions API (uvicorn + starlette).

uvicorn owns the transport (HTTP/1.1 framing through h11, keep-alive, backlog, the connection cap, graceful
shutdown) and runs on one asyncio loop; requests go through the EngineQueue (shared with the desktop window when it
serves), whose one thread owns the engine and answers first come, first served. A client that disconnects, streaming or not, cancels its request, and a request whose client left
while queued is skipped. Loopback by default; any other bind needs an API key. Without a key, requests a web page
could forge are refused: a Host that is not a loopback name (DNS rebinding) and a cross-origin browser request.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from assistant.conversation import Backend, Done, Error, ErrorKind, TokenDelta
from assistant.engine_queue import EngineQueue, Job, QueueFull
from assistant.media import UserInputError
from assistant.openai_schema import (MAX_BODY_BYTES, APIError, finish_reason, parse_body, parse_messages,
                                     parse_options, parse_stream, usage)
from assistant.server_http import APIServer, LoopbackGuard, is_loopback, listen


@dataclass(frozen=True)
class ServerConfig:
    """The server's limits (each is a `python -m assistant serve` flag)."""

    max_queue: int = 32  # requests waiting for or using the engine; more are refused with 503 + Retry-After
    max_connections: int = 128  # open connections; past it new requests get 503 (uvicorn's limit_concurrency)
    header_timeout: float = 10.0  # seconds for a request's head to arrive; a slow-header client is dropped
    body_timeout: float = 60.0  # seconds for its body to arrive (408 after)
    keep_alive_timeout: int = 5  # idle seconds before a kept-alive connection is closed
    decode_slots: int = 2  # images and audio decoded at once: a large image costs ~100 MB while decoding
    backlog: int = 2048  # connections the kernel holds before accept (capped by net.core.somaxconn)


@dataclass
class _API:
    """What the routes share: the engine queue, the key, the model id and the decode limiter."""

    engines: EngineQueue
    api_key: str
    model_id: str
    voice_mode: str
    config: ServerConfig
    decodes: anyio.CapacityLimiter = field(init=False)

    def __post_init__(self):
        self.decodes = anyio.CapacityLimiter(self.config.decode_slots)

    def authorize(self, request: Request) -> None:
        """401 unless the request carries the key (when one is set)."""
        given = request.headers.get("authorization", "")
        if self.api_key and not hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode()):
            raise APIError(401, "missing or wrong API key", "authentication_error", "invalid_api_key")


def _error_response(e: APIError) -> JSONResponse:
    return JSONResponse(e.body(), e.status, headers=e.headers)


def _event_error(event: Error) -> APIError:
    if event.kind is ErrorKind.INTERNAL:
        return APIError(500, event.message, "server_error", "internal_error")
    if event.kind is ErrorKind.UNAVAILABLE:
        return APIError(503, event.message, "server_error", "unavailable", headers={"Retry-After": "5"})
    return APIError(400, event.message, code="invalid_input")


async def _read_body(request: Request, timeout: float) -> bytes:
    """The body, refused early when its length is missing or over MAX_BODY_BYTES (h11 has rejected bad lengths)."""
    length = request.headers.get("content-length")
    too_large = APIError(413, f"request body over {MAX_BODY_BYTES // (1024 * 1024)} MB", code="body_too_large",
                         headers={"Connection": "close"})  # close: never read the rest of a huge body
    if length is None and "chunked" not in request.headers.get("transfer-encoding", "").lower():
        raise APIError(411, "a Content-Length header is required", headers={"Connection": "close"})
    if length is not None and int(length) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise too_large
                chunks.append(chunk)
    except TimeoutError:
        raise APIError(408, f"the request body did not arrive within {timeout:g} s", code="timeout",
                       headers={"Connection": "close"}) from None
    return b"".join(chunks)


async def _cancel_on_disconnect(request: Request, cancel: threading.Event) -> None:
    # The body is read, so the next ASGI message is the disconnect (uvicorn also sends it once the response is done).
    while await request.receive() != {"type": "http.disconnect"}:
        pass
    cancel.set()


async def chat(request: Request) -> Response:
    """POST /v1/chat/completions."""
    api: _API = request.app.state.api
    api.authorize(request)
    try:
        body = parse_body(await _read_body(request, api.config.body_timeout))
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is there to read it
    model = body.get("model")
    if model not in (api.model_id, None, ""):
        raise APIError(404, f"the model {model!r} does not exist; this server has {api.model_id!r}",
                       code="model_not_found", param="model")
    stream, include_usage = parse_stream(body)
    options = parse_options(body)
    # Decoding media is CPU work: off the event loop, and only decode_slots at once to bound memory.
    conversation = await anyio.to_thread.run_sync(parse_messages, body.get("messages"), limiter=api.decodes)
    loop, events = asyncio.get_running_loop(), asyncio.Queue()

    def emit(event) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, event)
        except RuntimeError:  # the loop is closed: the server stopped and nobody waits for this event
            pass

    job = Job(conversation, options, api.voice_mode, emit)
    try:
        api.engines.submit(job, api.config.max_queue)
    except QueueFull as e:
        raise APIError(503, f"the server is busy ({e.admitted} requests queued); retry in {e.retry_after_s} s",
                       "server_error", "overloaded", headers={"Retry-After": str(e.retry_after_s)}) from None
    watcher = asyncio.create_task(_cancel_on_disconnect(request, job.cancel))

    def finish() -> None:
        watcher.cancel()
        job.cancel.set()  # a no-op once the answer is done; otherwise it stops the engine working for nobody

    handed_to_stream = False
    try:
        first = await events.get()  # errors before any token still get a proper status
        if isinstance(first, Error):
            raise _event_error(first)
        if not stream:
            return await _complete(api.model_id, first, events)
        handed_to_stream = True  # from here the stream calls finish() when it ends or its client leaves
        return StreamingResponse(_sse(api.model_id, first, events, include_usage, finish),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    finally:
        if not handed_to_stream:
            finish()


async def _complete(model_id: str, event, events: asyncio.Queue) -> JSONResponse:
    text, done = [], None
    while event is not None:
        if isinstance(event, TokenDelta):
            text.append(event.text)
        elif isinstance(event, Done):
            done = event
        elif isinstance(event, Error):
            raise _event_error(event)
        event = await events.get()
    return JSONResponse({
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": model_id,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": done.answer if done else "".join(text)},
                     "finish_reason": finish_reason(done)}],
        "usage": usage(done)})


async def _sse(model_id: str, event, events: asyncio.Queue, include_usage: bool, finish: Callable[[], None]):
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict, finish=None, use=None) -> str:
        body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model_id,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if use is not None:
            body = {**body, "choices": [], "usage": use}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""})
        while event is not None:
            if isinstance(event, TokenDelta):
                yield chunk({"content": event.text})
            elif isinstance(event, Done):
                yield chunk({}, finish_reason(event))
                if include_usage:
                    yield chunk({}, use=usage(event))
            elif isinstance(event, Error):
                yield f"data: {json.dumps(_event_error(event).body(), ensure_ascii=False)}\n\n"
            event = await events.get()
        yield "data: [DONE]\n\n"
    finally:
        finish()


async def models(request: Request) -> Response:
    """GET /v1/models."""
    api: _API = request.app.state.api
    api.authorize(request)
    return JSONResponse({"object": "list", "data": [{"id": api.model_id, "object": "model", "created": 0,
                                                     "owned_by": "local"}]})


async def health(request: Request) -> Response:
    """GET /health: up, and how many requests wait for or use the engine."""
    api: _API = request.app.state.api
    api.authorize(request)
    return JSONResponse({"status": "ok", "queued": api.engines.admitted})


async def _api_error(request: Request, exc: APIError) -> Response:
    return _error_response(exc)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    what = f"no route {request.method} {request.url.path}" if code else exc.detail
    return _error_response(APIError(exc.status_code, what, code=code))


async def _internal_error(request: Request, exc: Exception) -> Response:
    # starlette re-raises after this response, so uvicorn logs the traceback
    return _error_response(APIError(500, f"internal error: {type(exc).__name__}", "server_error", "internal_error"))


def build_app(api: _API, bound_host: str) -> Starlette:
    """The ASGI app: routes, OpenAI error objects for every failure, CORS for the origins the guard lets through."""

    app = Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models),
                Route("/health", health)],
        middleware=[Middleware(LoopbackGuard, bound_host=bound_host, keyed=bool(api.api_key)),
                    Middleware(CORSMiddleware, allow_origin_regex=".*", allow_methods=["GET", "POST"],
                               allow_headers=["*"], max_age=600)],
        exception_handlers={APIError: _api_error, HTTPException: _http_error, Exception: _internal_error})
    app.state.api = api
    return app


def make_server(engine: Backend | EngineQueue, host: str = "127.0.0.1", port: int = 8000, api_key: str = "",
                model_id: str = "", voice_mode: str = "cascade", config: ServerConfig = ServerConfig()) -> APIServer:
    """A bound, not yet serving server over an engine (given its own queue) or over a queue that other callers share
    (the desktop window's); refuses a non-loopback bind without an API key (UserInputError)."""
    if not is_loopback(host) and not api_key:
        raise UserInputError(f"binding to {host} exposes the assistant to the network: set --api-key "
                             "(or ASSISTANT_API_KEY)")
    sock = listen(host, port, config.backlog)
    engines = engine if isinstance(engine, EngineQueue) else EngineQueue(engine)
    api = _API(engines, api_key, model_id or engines.engine.model_names()["llm"], voice_mode, config)
    server = APIServer(build_app(api, host), sock,
                       max_connections=config.max_connections, head_timeout=config.header_timeout,
                       keep_alive=config.keep_alive_timeout, backlog=config.backlog)
    server.model_id, server.engines, server.owns_queue = api.model_id, engines, engines is not engine
    return server


def stop_server(server: APIServer) -> None:
    """Stop serving (open connections included), close the socket and, when the server owns its queue, let the
    engine thread end."""
    server.shutdown()
    server.server_close()
    if server.owns_queue:
        server.engines.close()
