"""`python -m assistant serve`: the Engine behind an OpenAI-compatible chat-completions API (standard library HTTP).

One worker thread owns the engine and answers requests first come, first served; each HTTP connection has its own
thread that waits for its events. A streaming client that disconnects cancels its generation (the next write
fails and sets the request's cancel event). Loopback by default; any other bind needs an API key.
"""

from __future__ import annotations

import base64
import dataclasses
import binascii
import hmac
import ipaddress
import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from assistant.conversation import AudioPart, Done, Error, ImagePart, Message, TextPart, TokenDelta
from assistant.media import UserInputError, load_audio, load_image
from models.generation import SamplingOptions

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 25 * 1024 * 1024  # images and audio arrive base64-encoded inside the JSON


class APIError(Exception):
    """An OpenAI-style error: HTTP status, type, code, message."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None):
        super().__init__(message)
        self.status, self.type, self.code, self.param = status, type_, code, param

    def body(self) -> dict:
        """The JSON error object."""
        return {"error": {"message": str(self), "type": self.type, "param": self.param, "code": self.code}}


@dataclass
class Job:
    """One request waiting for the engine."""

    conversation: list[Message]
    options: SamplingOptions
    voice_mode: str
    cancel: threading.Event = field(default_factory=threading.Event)
    events: queue.Queue = field(default_factory=queue.Queue)  # engine events, then None


class EngineQueue:
    """FIFO in front of one engine: the engine is not reentrant, so one worker thread serves every request."""

    def __init__(self, engine):
        self.engine = engine
        self.jobs: queue.Queue = queue.Queue()
        self.worker = threading.Thread(target=self._run, name="engine", daemon=True)
        self.worker.start()

    def submit(self, job: Job) -> Job:
        """Queue a job; its events arrive on job.events."""
        self.jobs.put(job)
        return job

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                if not job.cancel.is_set():  # a client that left while queued costs nothing
                    for event in self.engine.respond(job.conversation, job.options, voice_mode=job.voice_mode,
                                                     cancel=job.cancel):
                        job.events.put(event)
            except Exception as e:  # the worker must survive anything
                log.exception("request failed")
                job.events.put(Error(f"internal error: {type(e).__name__}"))
            finally:
                job.events.put(None)


class SharedEngine:
    """An engine shared with another front end (the desktop app): one respond() at a time, across both."""

    def __init__(self, engine, lock: threading.Lock):
        self.engine, self.lock = engine, lock

    def model_names(self) -> dict:
        """The wrapped engine's models."""
        return self.engine.model_names()

    def respond(self, *args, **kwargs):
        """The wrapped respond(), holding the shared lock until the answer is finished."""
        with self.lock:
            yield from self.engine.respond(*args, **kwargs)


def _decode_base64(data: str, what: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise APIError(400, f"{what} is not valid base64", code="invalid_base64") from None


def _image(part: dict) -> ImagePart:
    url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else part.get("image_url")
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise APIError(400, "image_url must be a data: URL with base64 image data (this server has no network)",
                       param="image_url", code="unsupported_image_url")
    data = _decode_base64(url.split(";base64,", 1)[1], "image_url data")
    try:
        load_image(data)
    except UserInputError as e:
        raise APIError(400, f"undecodable image: {e}", param="image_url", code="invalid_image") from None
    return ImagePart(data)


def _audio(part: dict) -> AudioPart:
    spec = part.get("input_audio")
    if not isinstance(spec, dict) or not isinstance(spec.get("data"), str):
        raise APIError(400, "input_audio needs {data: base64, format: wav|mp3}", param="input_audio")
    data = _decode_base64(spec["data"], "input_audio data")
    try:
        load_audio(data)
    except UserInputError as e:
        raise APIError(400, f"undecodable audio: {e}", param="input_audio", code="invalid_audio") from None
    return AudioPart(data)


def parse_messages(raw) -> list[Message]:
    """OpenAI chat messages -> the engine's messages (text, image_url and input_audio parts)."""
    if not isinstance(raw, list) or not raw:
        raise APIError(400, "messages must be a non-empty list", param="messages")
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant"):
            raise APIError(400, f"messages[{i}] needs a role of system, user or assistant", param="messages")
        role = "system" if m["role"] == "developer" else m["role"]
        content = m.get("content")
        parts: list = []
        if isinstance(content, str):
            parts.append(TextPart(content))
        elif isinstance(content, list):
            for p in content:
                kind = p.get("type") if isinstance(p, dict) else None
                if kind == "text" and isinstance(p.get("text"), str):
                    parts.append(TextPart(p["text"]))
                elif kind == "image_url":
                    parts.append(_image(p))
                elif kind == "input_audio":
                    parts.append(_audio(p))
                else:
                    raise APIError(400, f"messages[{i}]: unsupported content part {kind!r}", param="messages")
        elif content is not None:
            raise APIError(400, f"messages[{i}].content must be a string or a list of parts", param="messages")
        if role == "system" and i != 0:
            raise APIError(400, "a system message may only come first", param="messages")
        out.append(Message(role, tuple(parts)))
    if out[-1].role != "user":
        raise APIError(400, "the last message must be from the user", param="messages")
    return out


def parse_options(body: dict) -> SamplingOptions:
    """temperature, top_p, max_tokens / max_completion_tokens, stop, seed -> SamplingOptions."""
    opts = SamplingOptions()
    changes: dict = {}
    if not isinstance(body, dict):
        raise APIError(400, "the body must be a JSON object")

    def number(name, lo, hi, kind=float):
        v = body.get(name)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise APIError(400, f"{name} must be a number in [{lo}, {hi}]", param=name)
        return kind(v)

    if (t := number("temperature", 0, 2)) is not None:
        changes["temperature"] = t
    if (p := number("top_p", 0, 1)) is not None:
        changes["top_p"] = p
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 8192:
            raise APIError(400, "max_tokens must be an integer in [1, 8192]", param="max_tokens")
        changes["max_new_tokens"] = limit
    if (seed := body.get("seed")) is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise APIError(400, "seed must be an integer", param="seed")
        changes["seed"] = seed
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops):
            raise APIError(400, "stop must be a string or up to 4 strings", param="stop")
        changes["stop"] = tuple(stops)
    return dataclasses.replace(opts, **changes)


class Handler(BaseHTTPRequestHandler):
    """The API's routes. Server attributes: model_id, engines (EngineQueue), api_key, voice_mode."""

    protocol_version = "HTTP/1.1"
    server_version = "omni-assistant"

    def log_message(self, fmt, *args) -> None:  # quiet by default; errors are logged separately
        log.debug("%s " + fmt, self.address_string(), *args)

    # ---- plumbing -----------------------------------------------------------------------------------------
    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, e: APIError) -> None:
        self._json(e.status, e.body())

    def _authorize(self) -> None:
        if getattr(self.server, "stopped", False):  # keep-alive connections outlive shutdown(): refuse on them
            self.close_connection = True
            raise APIError(503, "the server is shutting down", "server_error", "shutting_down")
        key = self.server.api_key
        if not key:
            return
        given = self.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
            raise APIError(401, "missing or wrong API key", "authentication_error", "invalid_api_key")

    def _body(self) -> dict:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise APIError(411, "a Content-Length header is required") from None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise APIError(413, f"request body over {MAX_BODY_BYTES // (1024 * 1024)} MB", code="body_too_large")
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise APIError(400, "the body is not valid JSON", code="invalid_json") from None
        if not isinstance(body, dict):
            raise APIError(400, "the body must be a JSON object", code="invalid_json")
        return body

    # ---- routes -------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        try:
            self._authorize()
            if self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": [{"id": self.server.model_id, "object": "model",
                                                             "created": 0, "owned_by": "local"}]})
            elif self.path.rstrip("/") == "/health":
                self._json(200, {"status": "ok", "queued": self.server.engines.jobs.qsize()})
            else:
                raise APIError(404, f"no route {self.path}", code="not_found")
        except APIError as e:
            self._error(e)

    def do_POST(self) -> None:
        try:
            self._authorize()
            if self.path.rstrip("/") != "/v1/chat/completions":
                raise APIError(404, f"no route {self.path}", code="not_found")
            body = self._body()
            model = body.get("model")
            if model not in (self.server.model_id, None, ""):
                raise APIError(404, f"the model {model!r} does not exist; this server has {self.server.model_id!r}",
                               code="model_not_found", param="model")
            job = Job(parse_messages(body.get("messages")), parse_options(body), self.server.voice_mode)
        except APIError as e:
            self._error(e)
            return
        self.server.engines.submit(job)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(job, include_usage)
        else:
            self._complete(job)

    def _complete(self, job: Job) -> None:
        text, done = [], None
        while (event := job.events.get()) is not None:
            if isinstance(event, TokenDelta):
                text.append(event.text)
            elif isinstance(event, Done):
                done = event
            elif isinstance(event, Error):
                self._drain(job)
                self._error(APIError(400, event.message, code="invalid_input"))
                return
        answer = done.answer if done else "".join(text)
        self._json(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": self.server.model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                         "finish_reason": _finish(done)}],
            "usage": _usage(done)})

    def _stream(self, job: Job, include_usage: bool) -> None:
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def chunk(delta: dict, finish=None, usage=None) -> bytes:
            body = {"id": ident, "object": "chat.completion.chunk", "created": created,
                    "model": self.server.model_id, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            if usage is not None:
                body = {**body, "choices": [], "usage": usage}
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()

        first = job.events.get()  # errors before any token still get a proper status
        if isinstance(first, Error):
            self._drain(job)
            self._error(APIError(400, first.message, code="invalid_input"))
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            self._write(chunk({"role": "assistant", "content": ""}))
            event = first
            while event is not None:
                if isinstance(event, TokenDelta):
                    self._write(chunk({"content": event.text}))
                elif isinstance(event, Done):
                    self._write(chunk({}, _finish(event)))
                    if include_usage:
                        self._write(chunk({}, usage=_usage(event)))
                elif isinstance(event, Error):
                    self._write(f"data: {json.dumps(APIError(400, event.message).body())}\n\n".encode())
                event = job.events.get()
            self._write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            job.cancel.set()  # the client left: stop generating for it
            self._drain(job)

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    @staticmethod
    def _drain(job: Job) -> None:
        job.cancel.set()
        while job.events.get() is not None:
            pass


def _finish(done: Done | None) -> str:
    reason = done.finish_reason if done else "stop"
    return {"length": "length", "cancelled": "stop"}.get(reason, "stop")


def _usage(done: Done | None) -> dict:
    prompt = int(done.timings.get("prompt_tokens", 0)) if done else 0
    completion = int(done.timings.get("tokens", 0)) if done else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def stop_server(server: ThreadingHTTPServer) -> None:
    """Stop serving, including on open keep-alive connections, and close the socket."""
    server.stopped = True
    server.shutdown()
    server.server_close()


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(engine, host: str = "127.0.0.1", port: int = 8000, api_key: str = "", model_id: str = "",
                voice_mode: str = "cascade") -> ThreadingHTTPServer:
    """A ready (not yet serving) server; refuses a non-loopback bind without an API key."""
    if not is_loopback(host) and not api_key:
        raise UserInputError(f"binding to {host} exposes the assistant to the network: set --api-key "
                             "(or ASSISTANT_API_KEY)")
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.engines = EngineQueue(engine)
    server.api_key = api_key
    server.model_id = model_id or engine.model_names()["llm"]
    server.voice_mode = voice_mode
    return server
