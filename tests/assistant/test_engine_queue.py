"""The engine queue every caller shares (the window and the API): order, cancelling while queued, no engine."""

import queue

import pytest

from assistant.conversation import Done, Error, ErrorKind, Message
from assistant.engine_queue import EngineQueue, Job, QueueFull
from models.sampling import SamplingOptions
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
