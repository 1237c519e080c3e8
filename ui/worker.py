"""The window's side of the engine: loads it on a QThread, and queues the window's questions on the EngineQueue that
the API (when on) shares, whose one thread owns the engine. The window talks to it only through queued signals."""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from assistant.conversation import Event, Transcript
from assistant.engine_queue import EngineQueue, Job


class EngineWorker(QObject):
    """Loads the engine (on the QThread it is moved to) and hands it to the engine queue that answers every caller.

    factory(config, progress) builds a Backend from the settings' EngineConfig; progress(str) reports loading stages.
    """

    loading = Signal(str)  # stage description
    ready = Signal(dict, float)  # model names, seconds it took
    load_failed = Signal(str)
    event = Signal(int, object)  # request id, the engine's event (TokenDelta, Transcript, Done or Error)
    heard_ahead = Signal(str, int)  # a rehearsal's transcript, and the pause it was asked for
    serving = Signal(str)  # the API's base URL, or "" when stopped
    serve_failed = Signal(str)

    def __init__(self, factory: Callable):
        super().__init__()
        self.factory = factory
        self.engine = None
        self.queue = EngineQueue()  # the window's and the API's questions (the window's first)
        self.server = None

    @Slot(object)
    def load(self, config) -> None:
        """(Re)build the engine for this EngineConfig and load its models."""
        start = time.perf_counter()
        try:
            self.engine = None  # the API, when on, goes on with the old engine until the new one is ready
            self.loading.emit("starting")
            with collector_paused():
                engine = self.factory(config, self.loading.emit)
                engine.preload(speech=True, vision=True)
            self.engine = self.queue.engine = engine
            self.ready.emit(dict(engine.model_names()), time.perf_counter() - start)
        except Exception as e:  # shown in the status bar; the window stays usable
            self.load_failed.emit(str(e) or type(e).__name__)

    @Slot(int, object, object, str, object)
    def respond(self, request: int, conversation, options, voice_mode: str, cancel: threading.Event) -> None:
        """Queue one answer; its events come back as signals (emitted from the engine thread, queued to the window)."""
        self.queue.submit(Job(conversation, options, voice_mode, functools.partial(self._emit, request), cancel,
                              leave_out_unreadable=True, first=True))

    @Slot(object, object, str, object, int)
    def rehearse(self, conversation, options, voice_mode: str, cancel: threading.Event, pause: int) -> None:
        """Queue a rehearsal (Session.rehearsal): its events are dropped but for the transcript, which comes back."""
        def emit(event: Event | None) -> None:
            if isinstance(event, Transcript):
                self.heard_ahead.emit(event.text, pause)

        self.queue.submit(Job(conversation, options, voice_mode, emit, cancel, leave_out_unreadable=True, first=True))

    @Slot(object)
    def serve(self, settings) -> None:
        """Start (or restart) the OpenAI-compatible API on loopback, or stop it, per the settings."""
        from assistant.media import UserInputError
        from assistant.server import make_server, stop_server

        if self.server is not None:
            stop_server(self.server)
            self.server = None
            self.serving.emit("")
        if not settings.server_enabled or self.engine is None:
            return
        try:
            self.server = make_server(self.queue, "127.0.0.1", settings.server_port, settings.server_key)
        except UserInputError as e:  # the port is taken, say: one line for the status bar
            self.serve_failed.emit(str(e))
            return
        threading.Thread(target=self.server.serve_forever, name="api", daemon=True).start()
        self.serving.emit(f"http://127.0.0.1:{self.server.server_address[1]}/v1")

    def close(self, timeout: float = 10.0) -> None:
        """Stop the API (thread-safe: shutdown() waits for the serving thread), then wait for the engine thread to
        end: jobs already queued finish (or skip, cancelled), so no event is emitted after this returns."""
        if self.server is not None:
            from assistant.server import stop_server

            stop_server(self.server)
        self.queue.close()
        self.queue.worker.join(timeout)

    def _emit(self, request: int, event: Event | None) -> None:
        if event is not None:  # None ends a job's stream
            self.event.emit(request, event)


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused while the models load, then what loading created frozen (gc.freeze).

    Importing torch and Whisper creates about a million objects; each full collection they trigger walks all of them
    with the GIL held, which stopped the window's event loop for 25-120 ms at a time (measured: three of them while
    loading). Frozen objects are skipped by later collections, so answering does not pay that walk either. Loading
    leaves little cyclic garbage, and what it leaves is kept: modules and weights live as long as the process anyway.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def real_engine(config, progress):
    """The real Engine (or RemoteEngine) for the settings' engine config."""
    from assistant.engine import create_engine

    return create_engine(config, progress=progress)
