"""One queue in front of one engine for every caller (the window and the API alike), as llama.cpp's server hides its
slots behind one task queue. The engine is not reentrant, so one thread owns it; it answers up to `engine.parallel`
jobs at once by taking turns between them: each runs until its stream hands its next positions to the LLM's batcher
(models.decoders.sampling.Pending), then one step decodes every stream's together. The window's jobs go first and have a
slot beyond the API's, so a question typed in the window never waits behind the API's answers.

A job carries its cancel event and a sink for its events; the caller decides where the events go (Qt signals, an
asyncio queue)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from assistant.conversation import Backend, Done, Error, ErrorKind, Event, Message
from models.decoders.sampling import STEPPED, URGENT, Pending, SamplingOptions

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
    first: bool = False  # the desktop window's: answered before the API's, in a slot of its own


@dataclass
class _Running:
    job: Job
    events: Iterator
    began: float = field(default_factory=time.perf_counter)


class QueueFull(Exception):
    """A bounded caller's limit is reached; retry_after_s estimates when a place frees up."""

    def __init__(self, admitted: int, retry_after_s: int):
        super().__init__(f"{admitted} requests queued")
        self.admitted, self.retry_after_s = admitted, retry_after_s


class EngineQueue:
    """Jobs answered by one engine thread, `engine.parallel` at once (the window's first). `engine` may be swapped
    (a reload); None answers "not loaded"."""

    def __init__(self, engine: Backend | None = None):
        self.engine = engine
        self.waiting: list[Job] = []  # admitted, not started: the window's first, then first come, first served
        self.lock = threading.Condition()
        self.admitted = 0  # waiting or running
        self.mean_s = 1.0  # recent seconds per job, for Retry-After
        self._closed = False
        self.worker = threading.Thread(target=self._run, name="engine", daemon=True)
        self.worker.start()

    def submit(self, job: Job, limit: int | None = None) -> None:
        """Queue a job; with a limit (the API's max_queue), refuse it with QueueFull when that many are admitted."""
        with self.lock:
            if limit is not None and self.admitted >= limit:
                raise QueueFull(self.admitted, max(1, round(self.mean_s * self.admitted / self.parallel)))
            self.admitted += 1
            at = sum(1 for j in self.waiting if j.first) if job.first else len(self.waiting)
            self.waiting.insert(at, job)
            self.lock.notify()

    @property
    def parallel(self) -> int:
        """How many of the API's jobs run at once: the engine's (1 while none is loaded)."""
        return self.engine.parallel if self.engine is not None else 1

    def close(self) -> None:
        """Let the engine thread end once the jobs already queued are done (or skipped, if cancelled)."""
        with self.lock:
            self._closed = True
            self.lock.notify()

    def _run(self) -> None:
        STEPPED.set(True)  # this thread steps the LLM's batches itself (see models.decoders.sampling.Pending)
        running: list[_Running] = []
        while True:
            with self.lock:
                while not self.waiting and not running and not self._closed:
                    self.lock.wait()
                if not self.waiting and not running:
                    return
                started = self._start(running)
            running.extend(started)
            running.sort(key=lambda r: not r.job.first)
            steppers = {}
            for r in list(running):
                pending = self._advance(r)
                if pending is None:
                    running.remove(r)
                    self._finished(r)
                else:
                    steppers[id(pending.runtime)] = pending.runtime
            for runtime in steppers.values():
                runtime.step()

    def _start(self, running: list[_Running]) -> list[_Running]:
        """The waiting jobs that may start now: the API's while fewer than `parallel` run, and the window's one at a
        time beside them (its jobs follow each other: a rehearsal's answer serves the question asked after it)."""
        started = []
        for job in list(self.waiting):
            busy = running + started
            windows = sum(1 for r in busy if r.job.first)
            # One window job at a time and `parallel` of the API's: never more than parallel + 1 slots.
            if (windows > 0) if job.first else (len(busy) - windows >= self.parallel):
                continue
            self.waiting.remove(job)
            started.append(_Running(job, self._answer(job)))
        return started

    def _advance(self, r: _Running) -> Pending | None:
        """Run a job until its stream waits for a batched step (that Pending), or to its end (None)."""
        urgent = URGENT.set(r.job.first)  # the window's prompt is read ahead of the API's next step
        try:
            for event in r.events:
                if isinstance(event, Pending):
                    return event
                r.job.emit(event)
        except Exception as e:  # the engine thread must survive anything
            log.exception("request failed")
            r.job.emit(Error(f"internal error: {type(e).__name__}", ErrorKind.INTERNAL))
        finally:
            URGENT.reset(urgent)
        return None

    def _finished(self, r: _Running) -> None:
        r.job.emit(None)
        with self.lock:
            self.admitted -= 1
            self.mean_s = 0.8 * self.mean_s + 0.2 * (time.perf_counter() - r.began)

    def _answer(self, job: Job) -> Iterator:
        engine = self.engine  # read once: a reload may swap it while this job runs
        if job.cancel.is_set():  # stopped, or its client left, while queued: it costs nothing
            yield Done("", "cancelled")
            return
        if engine is None:
            yield Error("the models are not loaded yet", ErrorKind.UNAVAILABLE)
            return
        yield from engine.respond(job.conversation, job.options, voice_mode=job.voice_mode, cancel=job.cancel,
                                  leave_out_unreadable=job.leave_out_unreadable)
