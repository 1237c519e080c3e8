"""The remote backend against a real third-party OpenAI-compatible server: llama-cpp-python's own (`llama_cpp.server`,
its [server] extras are in requirements.txt) serving the default GGUF, as a user who outgrew one machine would point
the app at vLLM. Text, streaming, a stop string, and the window's events."""

import pytest

from assistant.conversation import Done, Message, TokenDelta
from assistant.remote import RemoteEngine
from models.decoders.llama_cpp_runtime import cpu_threads
from models.decoders.sampling import SamplingOptions
from models.weights.catalog import DEFAULTS, MissingWeightsError, resolve_gguf


def _gguf():
    try:
        return resolve_gguf(DEFAULTS["llm"])
    except MissingWeightsError:
        return None


pytestmark = [pytest.mark.weights, pytest.mark.skipif(_gguf() is None, reason="the default LLM is not installed")]


@pytest.fixture(scope="module")
def remote():
    pytest.importorskip("fastapi", reason="llama-cpp-python's server extras are not installed")
    from tools.loadtest import llama_cpp_server

    with llama_cpp_server(_gguf(), cpu_threads(), context=2048) as (url, model):
        engine = RemoteEngine(url)
        engine.preload()  # finds the model the server lists
        assert engine.model == model
        yield engine


def test_a_streamed_answer_comes_back_as_the_engines_events(remote):
    events = list(remote.respond([Message.user("What is the capital of France? Answer in one sentence.")],
                                 SamplingOptions(temperature=0, max_new_tokens=24)))
    deltas, done = [e for e in events if isinstance(e, TokenDelta)], events[-1]
    assert isinstance(done, Done) and "Paris" in done.answer
    assert len(deltas) > 1 and "".join(d.text for d in deltas) == done.answer  # streamed, piece by piece
    assert done.timings.tokens > 1 and done.finish_reason in ("stop", "length")


def test_a_stop_string_ends_the_remote_answer(remote):
    done = list(remote.respond([Message.user("Count from one to ten in words, separated by commas.")],
                               SamplingOptions(temperature=0, max_new_tokens=40, stop=(",",))))[-1]
    assert isinstance(done, Done) and done.answer.strip() and "," not in done.answer
