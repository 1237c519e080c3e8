"""The engine queue every caller shares (the window and the API): order, cancelling while queued, no engine, jobs
answered together through batched steps, the window's first."""

import queue
import threading

import numpy as np
import pytest

from assistant.conversation import Done, Error, ErrorKind, Message, TokenDelta
from assistant.engine_queue import EngineQueue, Job, QueueFull
from models.decoders.sampling import STEPPED, URGENT, Pending, SamplingOptions
from tests.assistant.server_fixtures import FakeEngine


def _job(text: str) -> tuple[Job, queue.Queue]:
    events: queue.Queue = queue.Queue()
    return Job([Message.user(text)], SamplingOptions(), "cascade", events.put), events


def _drain(events: queue.Queue) -> list:
    out = []
    while (event := events.get(timeout=10)) is not None:
        out.append(event)
    return out


def test_jobs_are_answered_in_order_and_one_stopped_while_queued_costs_nothing():
    engine = FakeEngine()
    engines = EngineQueue(engine)
    (first, first_events), (second, second_events) = _job("hold"), _job("stopped")
    engines.submit(first)
    engines.submit(second)
    second.cancel.set()
    engine.gate.set()
    assert isinstance(_drain(first_events)[-1], Done)
    assert _drain(second_events) == [Done("", "cancelled")]  # the window finishes it as stopped
    assert engine.texts() == ["hold"] and engines.admitted == 0
    engines.close()


def test_a_bounded_caller_is_refused_and_no_engine_is_unavailable():
    engines = EngineQueue()
    job, events = _job("hi")
    engines.submit(job)
    [error] = _drain(events)
    assert isinstance(error, Error) and error.kind is ErrorKind.UNAVAILABLE
    engines.engine = FakeEngine()
    held, _ = _job("hold")
    engines.submit(held)
    with pytest.raises(QueueFull) as refused:
        engines.submit(_job("hi")[0], limit=1)  # the API's bound; the window submits without one
    assert refused.value.admitted == 1 and refused.value.retry_after_s >= 1
    engines.engine.gate.set()
    engines.close()


class Steps:
    """A batching runtime's stand-in: step() decodes every Pending handed over since the last one, and records
    whose they were."""

    def __init__(self):
        self.waiting: list[tuple[str, Pending]] = []
        self.batches: list[list[str]] = []

    def step(self) -> None:
        self.batches.append(sorted(name for name, _ in self.waiting))
        for _, pending in self.waiting:
            pending.logits = np.zeros(1)
        self.waiting = []


class SteppedEngine:
    """Answers "<text>0 <text>1 ..." (`tokens` words), waiting for a batched step before each word, as the llama.cpp
    runtime's streams do when the caller steps them; "crash" raises after its first word."""

    def __init__(self, parallel: int, tokens: int = 3):
        self.parallel, self.tokens, self.steps = parallel, tokens, Steps()
        self.started: list[str] = []
        self.stepped: list[bool] = []
        self.urgent: dict[str, bool] = {}

    def model_names(self):
        return {"llm": "stepped"}

    def respond(self, conversation, options, voice_mode="cascade", cancel=None, leave_out_unreadable=False):
        text = conversation[-1].text
        self.started.append(text)
        self.stepped.append(STEPPED.get())
        self.urgent[text] = URGENT.get()
        for i in range(self.tokens):
            pending = Pending(self.steps)
            self.steps.waiting.append((text, pending))
            while not pending.done:
                yield pending
            if text == "crash" and i == 1:
                raise RuntimeError("a bug")
            yield TokenDelta(f"{text}{i} ")
        yield Done(" ".join(f"{text}{i}" for i in range(self.tokens)), "stop")


def _answers(*jobs) -> list[list]:
    return [_drain(events) for _, events in jobs]


def test_parallel_jobs_decode_together_and_the_rest_wait_for_a_slot():
    engine = SteppedEngine(parallel=2)
    engines = EngineQueue(engine)
    jobs = [_job(name) for name in ("a", "b", "c")]
    for job, _ in jobs:
        engines.submit(job)
    answers = _answers(*jobs)
    assert all(isinstance(a[-1], Done) for a in answers)
    assert engine.steps.batches[:3] == [["a", "b"]] * 3  # one step for both, each of their three words
    assert ["c"] in engine.steps.batches and ["a", "b", "c"] not in engine.steps.batches
    assert engine.stepped == [True] * 3  # the queue's thread steps the batches itself
    engines.close()


def test_the_windows_job_starts_at_once_beside_a_full_set_of_api_jobs():
    engine = SteppedEngine(parallel=2, tokens=4)
    engines = EngineQueue(engine)
    engine_free = threading.Event()
    blocker = Job([Message.user("hold")], SamplingOptions(), "cascade", lambda e: engine_free.wait(10))
    engines.submit(blocker)  # the engine is busy with it while the rest are queued
    api = [_job(name) for name in ("a", "b", "c")]
    for job, _ in api:
        engines.submit(job, limit=32)
    window, window_events = _job("w")
    window.first = True
    engines.submit(window)
    engine_free.set()
    _answers(*api, (window, window_events))
    assert engine.started.index("w") < engine.started.index("c")  # ahead of the API job that waited
    assert engine.urgent == {"hold": False, "a": False, "b": False, "c": False, "w": True}  # its prompt is read first
    assert any("w" in batch and "c" not in batch and len(batch) == 3 for batch in engine.steps.batches)
    engines.close()


def test_a_job_that_fails_mid_answer_leaves_the_others_answering():
    engine = SteppedEngine(parallel=2)
    engines = EngineQueue(engine)
    crash, fine = _job("crash"), _job("fine")
    engines.submit(crash[0])
    engines.submit(fine[0])
    crashed, answered = _answers(crash, fine)
    assert isinstance(crashed[-1], Error) and crashed[-1].kind is ErrorKind.INTERNAL
    assert isinstance(answered[-1], Done) and answered[-1].answer == "fine0 fine1 fine2"
    assert engines.admitted == 0
    engines.close()


def test_the_windows_jobs_follow_each_other():
    """A rehearsal and the question after it: the second starts when the first is done, so that the rehearsal's
    answer serves it (Engine: answer ahead), whatever the API has running."""
    engine = SteppedEngine(parallel=4)
    engines = EngineQueue(engine)
    rehearsal, question = _job("r"), _job("q")
    rehearsal[0].first = question[0].first = True
    engines.submit(rehearsal[0])
    engines.submit(question[0])
    _answers(rehearsal, question)
    assert not any("r" in batch and "q" in batch for batch in engine.steps.batches)
    engines.close()


def test_parallel_is_checked_when_the_config_is_made():
    from assistant.engine import EngineConfig

    for bad in (0, 65):
        with pytest.raises(ValueError, match="parallel"):
            EngineConfig(parallel=bad)
    assert EngineConfig(parallel=8).parallel == 8
