"""The OpenAI chat-completions wire format: request validation into engine types, and response bodies.

Transport-free (no sockets, no event loop), so the server and its tests share one definition of what a request may
hold; every refusal is an APIError that becomes an OpenAI error object with its HTTP status.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json

from assistant.conversation import AudioPart, Done, ImagePart, Message, TextPart
from assistant.media import UserInputError, load_audio, load_image
from models.decoders.sampling import SamplingOptions

MAX_BODY_BYTES = 25 * 1024 * 1024  # images and audio arrive base64-encoded inside the JSON


class APIError(Exception):
    """An OpenAI-style error: HTTP status, type, code, message (and headers such as Retry-After)."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.type, self.code, self.param = status, type_, code, param
        self.headers = headers or {}

    def body(self) -> dict:
        """The JSON error object."""
        return {"error": {"message": str(self), "type": self.type, "param": self.param, "code": self.code}}


def parse_body(raw: bytes) -> dict:
    """The request body as a JSON object; anything else is a 400."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # ValueError covers bad UTF-8 and 5,000-digit integers too
        raise APIError(400, "the body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise APIError(400, "the body must be a JSON object", code="invalid_json")
    return body


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
        load_image(data)  # refused now with a 400, not later inside the engine's queue
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
    """OpenAI chat messages -> the engine's messages (text, image_url and input_audio parts); decodes media."""
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


def _number(body: dict, name: str, lo: float, hi: float) -> float | None:
    v = body.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise APIError(400, f"{name} must be a number in [{lo}, {hi}]", param=name)
    return float(v)


def parse_options(body: dict) -> SamplingOptions:
    """temperature, top_p, max_tokens / max_completion_tokens, stop, seed -> SamplingOptions."""
    changes: dict = {}
    if (t := _number(body, "temperature", 0, 2)) is not None:
        changes["temperature"] = t
    if (p := _number(body, "top_p", 0, 1)) is not None:
        # OpenAI accepts top_p 0: a nucleus of no mass keeps only the most likely token, which is greedy decoding
        if p == 0:
            changes.update(top_p=1.0, temperature=0.0)
        else:
            changes["top_p"] = p
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 8192:
            raise APIError(400, "max_tokens must be an integer in [1, 8192]", param="max_tokens")
        changes["max_new_tokens"] = limit
    if (seed := body.get("seed")) is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not -2**63 <= seed < 2**64:
            raise APIError(400, "seed must be a 64-bit integer", param="seed")
        changes["seed"] = seed
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops):
            raise APIError(400, "stop must be a string or up to 4 strings", param="stop")
        changes["stop"] = tuple(stops)
    try:
        return dataclasses.replace(SamplingOptions(), **changes)
    except ValueError as e:  # SamplingOptions is the last word on valid values
        raise APIError(400, str(e)) from None


def parse_stream(body: dict) -> tuple[bool, bool]:
    """(stream, include_usage); refuses what this server would otherwise silently ignore (n > 1, tools)."""
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise APIError(400, "n must be a positive integer", param="n")
    if n is not None and n > 1:
        raise APIError(400, "n > 1 is not supported: this server returns one choice", param="n",
                       code="unsupported_parameter")
    for name in ("tools", "functions"):
        if body.get(name):
            raise APIError(400, f"{name} are not supported: this server has no tool calling", param=name,
                           code="unsupported_parameter")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise APIError(400, "stream must be true or false", param="stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise APIError(400, "stream_options must be an object", param="stream_options")
    return bool(stream), bool((options or {}).get("include_usage"))


def finish_reason(done: Done | None) -> str:
    """The OpenAI finish_reason for an engine's Done (a cancelled answer reads as stop)."""
    reason = done.finish_reason if done else "stop"
    return "length" if reason == "length" else "stop"


def usage(done: Done | None) -> dict:
    """The OpenAI usage object from an engine's Done timings."""
    prompt = done.timings.prompt_tokens if done else 0
    completion = done.timings.tokens if done else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
