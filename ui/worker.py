"""The one thread that owns the engine. The window talks to it only through queued signals."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from assistant.conversation import Done, Error, TokenDelta, Transcript


class EngineWorker(QObject):
    """Loads the engine and answers requests, one at a time, on its own QThread.

    factory(settings, progress) builds an engine; progress(str) reports loading stages. The engine must offer
    respond(conversation, options, voice_mode, cancel) yielding the assistant's events, preload(...) and
    model_names().
    """

    loading = Signal(str)  # stage description
    ready = Signal(dict, float)  # model names, seconds it took
    load_failed = Signal(str)
    transcript = Signal(int, str)  # request id, what was heard
    token = Signal(int, str)
    finished = Signal(int, object)  # request id, the Done event
    failed = Signal(int, str)
    serving = Signal(str)  # the API's base URL, or "" when stopped
    serve_failed = Signal(str)

    def __init__(self, factory: Callable):
        super().__init__()
        self.factory = factory
        self.engine = None
        self.lock = threading.Lock()  # the engine answers one request at a time: the window's or the API's
        self.server = None

    @Slot(object)
    def load(self, settings) -> None:
        """(Re)build the engine for these settings and load its models."""
        start = time.perf_counter()
        try:
            self.engine = None
            self.loading.emit("starting")
            engine = self.factory(settings, self.loading.emit)
            engine.preload(speech=True, vision=True)
            self.engine = engine
            self.ready.emit(dict(engine.model_names()), time.perf_counter() - start)
        except Exception as e:  # shown in the status bar; the window stays usable
            self.load_failed.emit(str(e) or type(e).__name__)

    @Slot(int, object, object, str, object)
    def respond(self, request: int, conversation, options, voice_mode: str, cancel: threading.Event) -> None:
        """Stream one answer as signals."""
        if self.engine is None:
            self.failed.emit(request, "the models are not loaded yet")
            return
        with self.lock:  # the API server, when on, shares this engine
            self._emit(request, self.engine.respond(conversation, options, voice_mode=voice_mode, cancel=cancel))

    @Slot(object)
    def serve(self, settings) -> None:
        """Start (or restart) the OpenAI-compatible API on loopback, or stop it, per the settings."""
        from assistant.media import UserInputError
        from assistant.server import SharedEngine, make_server, stop_server

        if self.server is not None:
            stop_server(self.server)
            self.server = None
            self.serving.emit("")
        if not settings.server_enabled or self.engine is None:
            return
        try:
            self.server = make_server(SharedEngine(self.engine, self.lock), "127.0.0.1", settings.server_port,
                                      settings.server_key)
        except UserInputError as e:  # the port is taken, say: one line for the status bar
            self.serve_failed.emit(str(e))
            return
        threading.Thread(target=self.server.serve_forever, name="api", daemon=True).start()
        self.serving.emit(f"http://127.0.0.1:{self.server.server_address[1]}/v1")

    def _emit(self, request: int, events) -> None:
        for event in events:
            if isinstance(event, TokenDelta):
                self.token.emit(request, event.text)
            elif isinstance(event, Transcript):
                self.transcript.emit(request, event.text)
            elif isinstance(event, Done):
                self.finished.emit(request, event)
            elif isinstance(event, Error):
                self.failed.emit(request, event.message)


def real_engine(settings, progress):
    """The real Engine for the user's settings."""
    from assistant.engine import EngineConfig, create_engine

    config = EngineConfig(llm=settings.llm, whisper=settings.whisper, vision=settings.vision, device=settings.device,
                          quantize=settings.quantize, max_file_mb=settings.max_file_mb,
                          max_pdf_pages=settings.max_pdf_pages, remote_url=settings.remote_url,
                          remote_model=settings.remote_model, remote_key=settings.remote_key)
    return create_engine(config, progress=progress)
