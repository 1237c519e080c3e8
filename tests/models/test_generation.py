"""The streaming generation path on a tiny random Llama: cache correctness, sampling, stops, cancellation."""

import threading
from dataclasses import replace

import pytest
import torch
from transformers import AutoModelForCausalLM, DynamicCache

import numpy as np

from models.decoders.generation import TokenStream
from models.decoders.sampling import SamplingOptions, safe_length, sample_next

GREEDY = SamplingOptions(temperature=0, max_new_tokens=12, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def model(tiny_llm_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_llm_dir).eval()


def stream(model, ids, opts=GREEDY, cancel=None, eos=frozenset({-1}), decode=None):
    embeds = model.get_input_embeddings()(torch.tensor([ids]))
    decode = decode or (lambda toks: " ".join(f"t{t}" for t in toks))
    return TokenStream(opts, set(eos), decode, list(ids), cancel, model=model, embeds=embeds, cache=DynamicCache())


def test_cached_and_uncached_greedy_agree(model):
    ids = [5, 9, 12, 7]
    s = stream(model, ids)
    text = "".join(s)
    seq = list(ids)
    with torch.inference_mode():
        for _ in range(len(s.tokens)):
            seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
    assert s.tokens == seq[len(ids):] and s.finish_reason == "length"
    assert text == " ".join(f"t{t}" for t in s.tokens)
    assert s.cache.get_seq_length() == len(ids) + len(s.tokens) - 1  # the last token is never fed


def test_eos_stops_and_is_not_emitted(model):
    first = stream(model, [5, 9], replace(GREEDY, repetition_penalty=5.0))
    list(first)
    k = max(i for i, t in enumerate(first.tokens) if t not in first.tokens[:i])  # a token's first appearance
    assert k > 0
    s = stream(model, [5, 9], replace(GREEDY, repetition_penalty=5.0), eos={first.tokens[k]})
    list(s)
    assert s.finish_reason == "stop" and s.tokens == first.tokens[:k]


def test_stop_string_truncates_and_is_never_shown(model):
    base = stream(model, [3, 4])
    list(base)
    stop = f"t{base.tokens[3]}"
    s = stream(model, [3, 4], replace(GREEDY, stop=(stop,)))
    pieces = list(s)
    assert stop not in "".join(pieces) and s.finish_reason == "stop"


def test_cancel_stops_within_one_token(model):
    cancel = threading.Event()
    s = stream(model, [1, 2, 3], replace(GREEDY, max_new_tokens=200), cancel=cancel)
    seen = 0
    for _ in s:
        seen += 1
        if seen == 3:
            cancel.set()
    assert s.finish_reason == "cancelled" and len(s.tokens) == 3


def test_seeded_sampling_is_reproducible(model):
    opts = SamplingOptions(temperature=1.0, top_p=0.95, max_new_tokens=10, seed=7)
    a, b = stream(model, [4, 5], opts), stream(model, [4, 5], opts)
    list(a), list(b)
    assert a.tokens == b.tokens


def test_sample_next_rules():
    logits = np.array([1.0, 3.0, 2.0, -1.0], dtype=np.float32)
    none = np.array([], dtype=np.int64)
    assert sample_next(logits, GREEDY, none, None) == 1
    # A repetition penalty of 10 pushes the seen best token below the next one.
    assert sample_next(logits, replace(GREEDY, repetition_penalty=10.0), np.array([1]), None) == 2
    assert logits[1] == 3.0  # the caller's logits are left as they were
    nucleus = SamplingOptions(temperature=1.0, top_p=1e-6)  # keeps only the most likely token
    g = np.random.default_rng(0)
    assert all(sample_next(logits, nucleus, none, g) == 1 for _ in range(20))


def test_nucleus_over_a_large_vocabulary_samples_only_inside_top_p():
    # 50k tokens: the candidate shortcut (best 2k) and the full sort must keep the same nucleus.
    rng = np.random.default_rng(1)
    logits = rng.normal(size=50_000).astype(np.float32)
    logits[[7, 11, 13]] = [20.0, 19.5, 19.0]  # three tokens hold almost all the mass
    opts = SamplingOptions(temperature=1.0, top_p=0.8, repetition_penalty=1.0)
    picks = {sample_next(logits, opts, np.array([], dtype=np.int64), rng) for _ in range(200)}
    assert picks <= {7, 11} and len(picks) == 2
    flat = np.zeros(50_000, dtype=np.float32)  # no nucleus inside 2k candidates: falls back to the full sort
    picks = {sample_next(flat, replace(opts, top_p=0.5), np.array([], dtype=np.int64), rng) for _ in range(200)}
    assert len(picks) > 100


def test_invalid_options_are_refused():
    for bad in ({"temperature": -1}, {"top_p": 0}, {"max_new_tokens": 0}, {"repetition_penalty": 0}):
        with pytest.raises(ValueError):
            SamplingOptions(**bad)


def test_safe_length_holds_back_partial_stops_and_broken_characters():
    assert safe_length("hello wor", ("world",)) == len("hello ")
    assert safe_length("abc\ufffd", ()) == 3
    assert safe_length("plain", ("zzz",)) == 5


def _turns(runtime, prompts, opts=GREEDY):
    """Greedy answers of one TorchLLM to prompts in order (each may share a prefix with the last), with the
    prefix each reused."""
    out = []
    for ids in prompts:
        s = runtime.generate(ids, [-1] * len(ids), list(ids), None, opts)
        list(s)
        out.append((s.tokens, s.reused))
    return out


def _conversation(first_answer):
    """A first prompt, a follow-up that extends it (prefix reuse past the answer, long enough to regrow a small
    static cache), and one that shares only 3 positions (the cache is cropped back)."""
    first = [5, 9, 12, 7, 3]
    return [first, first + first_answer + [4, 6, 8, 10, 11, 13, 14, 15, 16, 17], first[:3] + [10, 11]]


@pytest.fixture(scope="module")
def tiny_llm(tiny_llm_dir):
    from models.decoders.llm import LLM
    from models.device import Placement

    return LLM.load("tiny", tiny_llm_dir, Placement(torch.device("cpu"), torch.float32))


def test_static_cache_decodes_the_same_tokens_as_the_dynamic_one_across_turns(tiny_llm, monkeypatch):
    from models.decoders import static_decode
    from models.decoders.generation import StaticTorchStream, TorchLLM, TorchStream

    monkeypatch.setattr(static_decode, "MIN_CAPACITY", 1)  # the second turn must regrow the cache
    dynamic, static = TorchLLM(tiny_llm), TorchLLM(tiny_llm, static=True, graphs=False)
    assert dynamic._static is None  # the CPU default stays on the DynamicCache
    first = _turns(dynamic, [[5, 9, 12, 7, 3]])[0][0]
    dynamic.reset()
    prompts = _conversation(first)
    expected, got = _turns(dynamic, prompts), _turns(static, prompts)
    assert got == expected
    assert [r for _, r in got] == [0, len(prompts[0]) + len(first) - 1, 3]  # the prefix was reused, then cropped
    assert static._static.capacity == 64 and static._static.graphs is False  # regrown from 32, no graphs on CPU
    assert isinstance(static.generate([1, 2], [-1, -1], [1, 2], None, GREEDY), StaticTorchStream)
    assert isinstance(dynamic.generate([1, 2], [-1, -1], [1, 2], None, GREEDY), TorchStream)


def test_static_cache_crop_forgets_what_followed_the_prefix(tiny_llm):
    from models.decoders.generation import TorchLLM

    static = TorchLLM(tiny_llm, static=True, graphs=False)
    _turns(static, [[5, 9, 12, 7, 3]])
    kv = static._static
    held = kv.length
    kv.crop(2)
    layer = kv.cache.layers[0]
    assert held > 2 and kv.length == 2
    assert not layer.keys[:, :, 2:].any() and layer.keys[:, :, :2].any()
    static.reset()
    assert kv.length == 0 and static._keys == []
    assert _turns(static, [[5, 9]])[0][1] == 0  # nothing reused after a reset


def test_capacity_is_a_power_of_two_within_the_context():
    from models.decoders.static_decode import MIN_CAPACITY, capacity_for

    assert capacity_for(10, 8192) == MIN_CAPACITY
    assert capacity_for(MIN_CAPACITY + 1, 8192) == 2 * MIN_CAPACITY
    assert capacity_for(5000, 8192) == 8192 and capacity_for(5000, 6000) == 6000


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graph_replay_decodes_the_same_tokens_as_eager(tiny_llm_dir):
    from models.decoders.generation import TorchLLM
    from models.decoders.llm import LLM
    from models.device import Placement

    llm = LLM.load("tiny", tiny_llm_dir, Placement(torch.device("cuda"), torch.float32))
    eager, graphed = TorchLLM(llm, graphs=False), TorchLLM(llm)
    assert graphed._static is not None and graphed._static.graphs
    first = _turns(eager, [[5, 9, 12, 7, 3]])[0][0]
    eager.reset()
    prompts = _conversation(first)
    assert _turns(graphed, prompts) == _turns(eager, prompts)
    assert graphed._static._graph is not None  # the steps really were replayed
