"""The llama.cpp runtime's slots on the bundled fast tier: streams stepped together share each llama_decode, a new
slot takes a prefix another holds, a stopped stream is dropped at the next step, stop strings and soft tokens work
per slot, and the window's conversation comes back from an aside. Nothing here depends on a kernel's rounding:
batched and solo logits are compared within a tolerance, never token by token (llama.cpp's logits for a sequence
decoded beside others differ from its logits alone by up to ~3% of their range: a near-tie may flip, as it does in
llama.cpp's own server)."""

import numpy as np
import pytest

from models.decoders.llama_slots import PREFILL_CHUNK
from models.decoders.sampling import STEPPED, URGENT, Pending, SamplingOptions
from models.weights.catalog import MissingWeightsError, resolve_gguf


def _fast():
    try:
        return resolve_gguf("fast")
    except MissingWeightsError:
        return None


pytestmark = [pytest.mark.weights, pytest.mark.skipif(_fast() is None, reason="the fast tier is not installed")]
GREEDY = SamplingOptions(temperature=0, max_new_tokens=6, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def llm():
    from models.decoders.llama_cpp_runtime import LlamaCppLLM

    return LlamaCppLLM("smollm2-135m-instruct", _fast(), slots=3)


@pytest.fixture
def stepped():
    token = STEPPED.set(True)
    yield
    STEPPED.reset(token)


def _close(got: np.ndarray, want: np.ndarray) -> bool:
    """Logits alike within llama.cpp's batching rounding: within 5% of their range, the same best few tokens. A
    sequence reading another's cache is off by more than half the range."""
    best = set(np.argsort(-want)[:5])
    return float(np.abs(got - want).max()) <= 0.05 * float(np.abs(want).max()) and \
        best <= set(np.argsort(-got)[:10])


def _prompt(llm, text):
    ids, index = llm.prompt_ids([{"role": "user", "content": text}], [])
    return ids, index


def _drive(streams) -> tuple[list[str], list[int]]:
    """Step the streams (or their iterators) as the engine queue does: each runs to its next Pending, then one step
    for all. Returns their texts and, per step, how many streams had handed something over."""
    texts, live = [""] * len(streams), {i: iter(s) for i, s in enumerate(streams)}
    together = []
    while live:
        runtime = None
        for i, it in list(live.items()):
            for item in it:
                if isinstance(item, Pending):
                    runtime = item.runtime
                    break
                texts[i] += item
            else:
                del live[i]
        if runtime is not None:
            together.append(runtime.waiting)
            runtime.step()
    return texts, together


def test_streams_stepped_together_share_each_decode(llm, stepped):
    llm.reset()
    questions = ["What is the capital of France?", "Name a colour.", "What is two plus two?"]
    streams = [llm.generate(*_prompt(llm, q), _prompt(llm, q)[0], None, GREEDY) for q in questions]
    texts, together = _drive(streams)
    assert all(texts) and all(s.finish_reason in ("stop", "length") for s in streams)
    tokens = sum(len(s.tokens) for s in streams)
    assert len(together) < tokens  # steps were shared: fewer than one per token
    assert max(together) == 3  # the three were decoded in one llama_decode
    assert all(not slot.busy for slot in llm.batcher.slots)  # each freed its slot when it ended


def test_a_stream_joins_another_between_its_steps(llm, stepped):
    llm.reset()
    first = iter(llm.generate(*_prompt(llm, "Tell me a story."), _prompt(llm, "Tell me a story.")[0], None, GREEDY))
    pending = next(first)
    llm.batcher.step()  # its prompt
    assert pending.done and next(first) is not None  # its first piece, or its next Pending
    joining = llm.generate(*_prompt(llm, "Name a colour."), _prompt(llm, "Name a colour.")[0], None, GREEDY)
    texts, together = _drive([first, joining])
    assert texts[1] and joining.finish_reason in ("stop", "length")
    assert together[0] == 2  # the newcomer's prompt went in the same decode as the first one's next token
    assert all(not slot.busy for slot in llm.batcher.slots)


def test_a_sequence_decoded_beside_others_reads_only_its_own_cache(llm, stepped):
    ids, index = _prompt(llm, "What is the capital of France?")

    def beside(text: str) -> np.ndarray:
        llm.reset()
        mine = iter(llm.generate(ids, index, ids, None, GREEDY))
        other = iter(llm.generate(*_prompt(llm, text), _prompt(llm, text)[0], None, GREEDY))
        pending = next(mine)
        next(other)
        llm.batcher.step()
        mine.close()
        other.close()
        return pending.logits

    poem, empire = beside("Write a poem."), beside("Tell me about the history of the Roman empire, in detail.")
    llm.reset()
    token = STEPPED.set(False)
    solo = llm.feed(ids, index, None, 0)
    STEPPED.reset(token)
    assert _close(poem, solo) and _close(empire, solo) and _close(poem, empire)
    assert all(not slot.busy for slot in llm.batcher.slots)


def test_a_new_slot_copies_the_prefix_another_slot_holds(llm):
    llm.reset()
    ids, index = _prompt(llm, "What is the capital of France?")
    "".join(llm.generate(ids, index, ids, None, GREEDY))
    busy, _ = llm.batcher.claim(ids + [1])  # holds the prompt, and is in use
    try:
        again = llm.generate(ids, index, ids, None, GREEDY)
        "".join(again)
        assert again._slot is not busy and again.reused == len(ids) - 1  # copied from the busy slot
    finally:
        llm.batcher.release(busy)


def test_a_stopped_stream_is_dropped_at_the_next_step_and_the_other_goes_on(llm, stepped):
    import threading

    llm.reset()
    cancel = threading.Event()
    long = SamplingOptions(temperature=0, max_new_tokens=40, repetition_penalty=1.0)
    stopped = llm.generate(*_prompt(llm, "Tell me a story."), _prompt(llm, "Tell me a story.")[0], None, long, cancel)
    going = llm.generate(*_prompt(llm, "Tell me a joke."), _prompt(llm, "Tell me a joke.")[0], None, long)
    a, b = iter(stopped), iter(going)
    pending = next(a)
    next(b)
    cancel.set()
    llm.batcher.step()  # the stopped one's prefill is not decoded
    assert pending.done and pending.logits.size == 0
    assert list(a) == [] and stopped.finish_reason == "cancelled" and not stopped._slot.busy
    (text,), _ = _drive([b])
    assert text and going.finish_reason in ("stop", "length")


def test_stop_strings_are_per_stream(llm, stepped):
    llm.reset()
    ids, index = _prompt(llm, "Write three sentences about the sea.")
    spaced = SamplingOptions(temperature=0, max_new_tokens=12, repetition_penalty=1.0, stop=(" ",))
    plain = SamplingOptions(temperature=0, max_new_tokens=12, repetition_penalty=1.0)
    cut, whole = llm.generate(ids, index, ids, None, spaced), llm.generate(ids, index, ids, None, plain)
    (short, full), _ = _drive([cut, whole])
    assert " " not in short and cut.finish_reason == "stop"
    assert " " in full.strip() and len(whole.tokens) > len(cut.tokens)


def test_soft_tokens_in_a_slot_read_as_the_tokens_they_stand_for(llm, stepped):
    """A media run fed as an embedding batch, stepped beside another stream's text, gives the logits feeding its
    tokens gives (the same kernels after the lookup)."""
    ids, _ = _prompt(llm, "What is the capital of France? Answer in one word.")
    index = [-1] * 5 + [0] * 7 + [-1] * (len(ids) - 12)
    rows = llm.vocab()[ids[5:12]].numpy()
    llm.reset()
    keys = ids[:5] + [("m", i) for i in range(7)] + ids[12:]
    media = llm.generate(ids, index, keys, rows, GREEDY)
    other = llm.generate(*_prompt(llm, "Write a poem."), _prompt(llm, "Write a poem.")[0], None, GREEDY)
    m, o = iter(media), iter(other)
    pending = next(m)
    next(o)
    while not pending.done:
        llm.batcher.step()
    from_embeddings = pending.logits
    m.close()
    o.close()
    llm.reset()
    token = STEPPED.set(False)
    from_tokens = llm.feed(ids, [-1] * len(ids), None, 0)
    STEPPED.reset(token)
    assert _close(from_embeddings, from_tokens)


def test_a_long_prompt_is_read_in_chunks_while_another_stream_waits(llm, stepped):
    llm.reset()
    short = iter(llm.generate(*_prompt(llm, "Hi."), _prompt(llm, "Hi.")[0], None, GREEDY))
    words = " ".join(f"word{i}" for i in range(60))
    ids, index = _prompt(llm, f"Count these: {words}")
    long = iter(llm.generate(ids, index, ids, None, GREEDY))
    assert len(ids) > PREFILL_CHUNK + 10
    quick, slow = next(short), next(long)
    llm.batcher.step()
    assert quick.done and not slow.done  # the long prompt got PREFILL_CHUNK positions, the short one all of its
    short.close()
    llm.batcher.step()  # alone now, it is read to the end
    assert slow.done
    long.close()


def test_the_windows_prompt_is_read_alone_and_whole_ahead_of_the_others(llm, stepped):
    llm.reset()
    api = iter(llm.generate(*_prompt(llm, "Hi."), _prompt(llm, "Hi.")[0], None, GREEDY))
    ids, index = _prompt(llm, "Count these: " + " ".join(f"word{i}" for i in range(60)))
    assert len(ids) > PREFILL_CHUNK + 10
    waiting = next(api)
    token = URGENT.set(True)
    window = iter(llm.generate(ids, index, ids, None, GREEDY))
    urgent = next(window)
    URGENT.reset(token)
    llm.batcher.step()
    assert urgent.done and not waiting.done  # the window's whole prompt, alone
    llm.batcher.step()
    assert waiting.done
    window.close()
    api.close()


@pytest.mark.parametrize("slots", [1, 3])
def test_the_conversation_comes_back_from_an_aside(slots):
    """Something generated aside (the table-query writer) leaves the conversation's cache as it was, with one slot
    or several: the next answer reuses the whole prompt and says what it said before."""
    from models.decoders.llama_cpp_runtime import LlamaCppLLM

    llm = LlamaCppLLM("smollm2-135m-instruct", _fast(), slots=slots)

    def answer(text):
        ids, index = _prompt(llm, text)
        stream = llm.generate(ids, index, ids, None, GREEDY)
        return "".join(stream), stream.reused, len(ids)

    answer("What is the capital of France?")
    before, reused, n = answer("What is the capital of France?")
    with llm.aside():
        answer("Write a SQL query that counts the rows of a table.")
    after, reused_after, _ = answer("What is the capital of France?")
    assert reused_after == reused == n - 1 and after == before
