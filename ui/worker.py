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
    finished = Signal(int, dict)  # request id, {"answer", "finish_reason", "timings", "models"}
    failed = Signal(int, str)

    def __init__(self, factory: Callable):
        super().__init__()
        self.factory = factory
        self.engine = None

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
        for event in self.engine.respond(conversation, options, voice_mode=voice_mode, cancel=cancel):
            if isinstance(event, TokenDelta):
                self.token.emit(request, event.text)
            elif isinstance(event, Transcript):
                self.transcript.emit(request, event.text)
            elif isinstance(event, Done):
                self.finished.emit(request, {"answer": event.answer, "finish_reason": event.finish_reason,
                                             "timings": dict(event.timings), "models": dict(event.models),
                                             "sources": list(event.sources)})
            elif isinstance(event, Error):
                self.failed.emit(request, event.message)


def real_engine(settings, progress):
    """The real Engine for the user's settings."""
    from assistant.engine import Engine, EngineConfig

    config = EngineConfig(llm=settings.llm, whisper=settings.whisper, vision=settings.vision, device=settings.device,
                          quantize=settings.quantize, max_file_mb=settings.max_file_mb,
                          max_pdf_pages=settings.max_pdf_pages)
    return Engine(config, progress=progress)
