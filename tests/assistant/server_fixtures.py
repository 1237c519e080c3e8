"""A fake engine and a `serve` fixture for the API server's tests (no models: seconds)."""

from __future__ import annotations

import base64
import io
import threading
import time

import numpy as np
import openai
import pytest
from PIL import Image

from assistant.conversation import Done, Error, Timings, TokenDelta
from assistant.media import to_wav
from assistant.server import make_server


class FakeEngine:
    """Answers "[parts] word word word"; "long" gives 200 words, "fail" an Error, "crash" raises, "hold" waits
    for `gate` (so a test decides when the engine is free)."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.seen = []
        self.cancelled = threading.Event()
        self.gate = threading.Event()

    parallel = 1

    def model_names(self):
        return {"llm": "fake-llm"}

    def respond(self, conversation, options, voice_mode="cascade", cancel=None, leave_out_unreadable=False):
        self.seen.append((conversation, options, voice_mode))
        text = conversation[-1].text
        if text == "fail":
            yield Error("that did not work")
            return
        if text == "crash":
            raise RuntimeError("a bug")
        if text == "hold":
            assert self.gate.wait(20)
        kinds = "+".join(type(p).__name__ for p in conversation[-1].parts)
        words = [f"[{kinds}]"] + ["word"] * (200 if text == "long" else 3)
        for i, w in enumerate(words):
            if cancel is not None and cancel.is_set():
                self.cancelled.set()
                yield Done(" ".join(words[:i]), "cancelled", Timings(tokens=i, prompt_tokens=7), {})
                return
            time.sleep(self.delay)
            yield TokenDelta(w if i == 0 else " " + w)
        yield Done(" ".join(words), "stop", Timings(tokens=len(words), prompt_tokens=7), {})

    def texts(self):
        """The last user text of every conversation the engine was asked to answer."""
        return [convo[-1].text for convo, _, _ in self.seen]


@pytest.fixture
def serve():
    """start(engine=None, api_key="", **limits) -> (engine, server, openai client, port); limits are ServerConfig."""
    servers = []

    def start(engine=None, api_key="", **limits):
        engine = engine or FakeEngine()
        if limits:
            from assistant.server import ServerConfig

            server = make_server(engine, "127.0.0.1", 0, api_key, config=ServerConfig(**limits))
        else:
            server = make_server(engine, "127.0.0.1", 0, api_key)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        port = server.server_address[1]
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=api_key or "none", max_retries=0,
                               timeout=20)
        return engine, server, client, port

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def png_url(size=(8, 8), mode="RGB") -> str:
    """A data: URL of a blank PNG."""
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def wav_b64() -> str:
    """Half a second of silence as base64 WAV."""
    return base64.b64encode(to_wav(np.zeros(8000, np.float32))).decode()
