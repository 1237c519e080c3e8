"""One queue in front of one engine for every caller (the window and the API alike), as llama.cpp's server hides its
slots behind one task queue: the engine is not reentrant, so one thread owns it and answers jobs first come, first
served. A job carries its cancel event and a sink for its events; the caller decides where the events go (Qt
signals, an asyncio queue)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from assistant.conversation import Backend, Done, Error, ErrorKind, Event, Message
from models.sampling import SamplingOptions

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One request for the engine; `emit` is called on the engine thread with each event, then with None."""

    conversation: list[Message]
    options: SamplingOptions
    voice_mode: str
    emit: Callable[[Event | None], None]
    cancel: threading.Event = field(default_factory=threading.Event)
    leave_out_unreadable: bool = False  # the desktop chat: a damaged attachment is left out, not an error


class QueueFull(Exception):
    """A bounded caller's limit is reached; retry_after_s estimates when a place frees up."""

    def __init__(self, admitted: int, retry_after_s: int):
        super().__init__(f"{admitted} requests queued")
        self.admitted, self.retry_after_s = admitted, retry_after_s


class EngineQueue:
    """A FIFO of jobs served by one engine thread. `engine` may be swapped (a reload); None answers "not loaded"."""

    def __init__(self, engine: Backend | None = None):
        self.engine = engine
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.lock = threading.Lock()
        self.admitted = 0  # queued or running
        self.mean_s = 1.0  # recent seconds per job, for Retry-After
        self.worker = threading.Thread(target=self._run, name="engine", daemon=True)
        self.worker.start()

    def submit(self, job: Job, limit: int | None = None) -> None:
        """Queue a job; with a limit (the API's max_queue), refuse it with QueueFull when that many are admitted."""
        with self.lock:
            if limit is not None and self.admitted >= limit:
                raise QueueFull(self.admitted, max(1, round(self.mean_s * self.admitted)))
            self.admitted += 1
        self.jobs.put(job)

    def close(self) -> None:
        """Let the engine thread end once the jobs already queued are done (or skipped, if cancelled)."""
        self.jobs.put(None)

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            start = time.perf_counter()
            try:
                self._answer(job)
            except Exception as e:  # the engine thread must survive anything
                log.exception("request failed")
                job.emit(Error(f"internal error: {type(e).__name__}", ErrorKind.INTERNAL))
            finally:
                job.emit(None)
                with self.lock:
                    self.admitted -= 1
                    self.mean_s = 0.8 * self.mean_s + 0.2 * (time.perf_counter() - start)

    def _answer(self, job: Job) -> None:
        engine = self.engine  # read once: a reload may swap it while this job runs
        if job.cancel.is_set():  # stopped, or its client left, while queued: it costs nothing
            job.emit(Done("", "cancelled"))
            return
        if engine is None:
            job.emit(Error("the models are not loaded yet", ErrorKind.UNAVAILABLE))
            return
        for event in engine.respond(job.conversation, job.options, voice_mode=job.voice_mode, cancel=job.cancel,
                                    leave_out_unreadable=job.leave_out_unreadable):
            job.emit(event)
