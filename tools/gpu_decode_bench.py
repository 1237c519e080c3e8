"""`python -m tools.gpu_decode_bench`: greedy decode speed of the torch runtime's paths on one prompt, side by side.

Rows: the DynamicCache TokenStream (the torch path before static caches), the static cache stepped eagerly, the static
cache with each step replayed as a CUDA graph (what TorchLLM runs on a GPU), and HF generate() with a static cache
(which torch.compiles its step on a GPU). Each row: prefill ms, decode tok/s (median of --repeats after one warm-up
that pays graph capture or compilation), and how many leading tokens agree with the dynamic path.

Runs on a CPU too (graphs are skipped there). --weights random builds the model's exact shape with random weights:
the speed is the same, and a GPU machine that has no converted weights can run it (see /work/shared/GPU.md). The end
of sequence is ignored, so every run decodes exactly --tokens tokens.

On a lent GPU machine (torch and transformers are installed there; nothing else is needed), one call:
    python3 -m tools.gpu_decode_bench --weights random --json $OUT/gpu_decode.json 2>&1 | tee $OUT/gpu_decode.txt
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM, DynamicCache, PreTrainedModel
from transformers.generation.streamers import BaseStreamer

from models.decoders.generation import StaticStream, TokenStream
from models.decoders.sampling import Decoding, SamplingOptions
from models.decoders.static_decode import StaticKV
from models.device import choose_placement

# The exported configs' shapes (smollm2: its HF export's config.json; qwen2.5-coder-1.5b: its GGUF's metadata, which
# has a separate output matrix), so a machine without the converted weights builds the same model.
SHAPES = {
    "smollm2-135m-instruct": dict(
        model_type="llama", hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
        num_key_value_heads=3, head_dim=64, vocab_size=49152, max_position_embeddings=8192, rope_theta=100000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2),
    "qwen2.5-coder-1.5b-instruct": dict(
        model_type="qwen2", hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, rope_theta=1000000.0,
        rms_norm_eps=1e-6, tie_word_embeddings=False, use_sliding_window=False, eos_token_id=151645,
        pad_token_id=151643),
}
ALIASES = {"fast": "smollm2-135m-instruct", "quality": "qwen2.5-coder-1.5b-instruct"}


@dataclass
class Row:
    """One path's result on one model."""

    path: str
    prefill_ms: float
    tok_s: float
    agree: int  # leading tokens equal to the dynamic path's (bf16 kernels differ: near-ties may part early)
    agree_static: int  # leading tokens equal to the eager static path's (a graph replays the same kernels)
    runs: list[float]
    error: str = ""  # a path that failed is reported, and the others still run

    def line(self, before: float) -> str:
        """The row as the table prints it (before: the dynamic path's tok/s)."""
        if self.error:
            return f"  {self.path:46} failed: {self.error}"
        return (f"  {self.path:46} {self.prefill_ms:>10} {self.tok_s:>8} {self.tok_s / before:>8.2f} {self.agree:>5} "
                f"{self.agree_static:>7}  {self.runs}")


def load(name: str, weights: str, placement) -> tuple[PreTrainedModel, str]:
    """The model and where its weights came from: the converted bundled weights (real), or its shape with random
    weights (random; auto falls back to it when the weights are not installed here)."""
    if weights != "random":
        try:
            from models.weights.catalog import MissingWeightsError, resolve

            path = resolve(name, "llm").path
        except (ImportError, MissingWeightsError) as e:
            if weights == "real":
                raise
            print(f"{name}: no converted weights here ({type(e).__name__}); random weights of its shape")
        else:
            model = AutoModelForCausalLM.from_pretrained(path, dtype=placement.dtype)
            return model.to(placement.device).eval().requires_grad_(False), f"real ({path})"
    shape = dict(SHAPES[name])
    config = AutoConfig.for_model(shape.pop("model_type"), **shape)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=placement.dtype)
    return model.to(placement.device).eval().requires_grad_(False), "random weights of the exported shape"


def _timed(stream: Decoding) -> tuple[float, float, list[int]]:
    """(prefill ms, decode tok/s, tokens) of draining a stream: the first token's delay, then the rate of the rest."""
    start = time.perf_counter()
    first = None
    for _ in stream:
        first = first or time.perf_counter()
    end = time.perf_counter()
    n = len(stream.tokens)
    return (first - start) * 1000, (n - 1) / (end - first), stream.tokens


class _Clock(BaseStreamer):
    """Timestamps generate()'s first new token and its end (put() gets the prompt first, then each new token)."""

    def __init__(self):
        self.puts: list[float] = []

    def put(self, value):
        self.puts.append(time.perf_counter())

    def end(self):
        self.puts.append(time.perf_counter())


def _hf_generate(model: PreTrainedModel, ids: list[int], n: int) -> tuple[float, float, list[int]]:
    input_ids = torch.tensor([ids], device=model.device)
    clock = _Clock()
    start = time.perf_counter()
    out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=n,
                         min_new_tokens=n, do_sample=False, temperature=None, top_p=None, top_k=None,
                         cache_implementation="static", streamer=clock, pad_token_id=model.config.pad_token_id)
    first, end = clock.puts[1], clock.puts[-1]
    return (first - start) * 1000, (n - 1) / (end - first), out[0, len(ids) :].tolist()


def bench_model(model: PreTrainedModel, ids: list[int], n: int, repeats: int) -> Iterator[Row]:
    """Every path on one model and prompt, one row as each finishes: one warm-up each, then the median of
    `repeats`."""
    opts = SamplingOptions(temperature=0, max_new_tokens=n, repetition_penalty=1.0)
    embeds = model.get_input_embeddings()(torch.tensor([ids], device=model.device)).detach()  # (1, L, H)
    common = (opts, set(), lambda toks: "x" * len(toks), list(ids), None)  # never stops early; trivial detokenizer

    def dynamic():
        return _timed(TokenStream(*common, model=model, embeds=embeds, cache=DynamicCache()))

    def static_path(graphs: bool):
        kv = StaticKV(model, model.config.max_position_embeddings, graphs)
        kv.reserve(len(ids) + n)

        def run():
            kv.crop(0)  # as TorchLLM.reset(): the cache and its graph stay, the positions go
            return _timed(StaticStream(*common, kv=kv, embeds=embeds))
        return run

    paths = {"dynamic TokenStream (before)": dynamic, "static cache, eager": static_path(False)}
    if model.device.type == "cuda":
        paths["static cache + CUDA graph (TorchLLM on GPU)"] = static_path(True)
    paths["HF generate(), static cache"] = lambda: _hf_generate(model, ids, n)
    tokens: list[list[int]] = []
    for name, run in paths.items():
        try:
            run()  # warm-up: graph capture, torch.compile, allocator
            results = [run() for _ in range(repeats)]
        except Exception as e:  # noqa: BLE001 - one failing path must not hide the others' numbers
            yield Row(name, 0.0, 0.0, 0, 0, [], f"{type(e).__name__}: {e}"[:300])
            continue
        tokens.append(results[-1][2])
        yield Row(name, round(statistics.median(r[0] for r in results), 1),
                  round(statistics.median(r[1] for r in results), 1), _agree(tokens[-1], tokens[0]),
                  _agree(tokens[-1], tokens[min(1, len(tokens) - 1)]), [round(r[1], 1) for r in results])


def _agree(a: list[int], b: list[int]) -> int:
    """How many leading tokens a and b share."""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def main(argv: list[str] | None = None) -> None:
    """Parse flags, run every path on every model, print a table (and write JSON with --json)."""
    parser = argparse.ArgumentParser(prog="python -m tools.gpu_decode_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--llm", nargs="+", default=list(SHAPES), help="models or tiers (fast, quality)")
    parser.add_argument("--weights", choices=("auto", "real", "random"), default="auto")
    parser.add_argument("--tokens", type=int, default=128, help="new tokens per run")
    parser.add_argument("--prompt-tokens", type=int, default=312)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    placement = choose_placement(args.device)
    card = torch.cuda.get_device_name() if placement.device.type == "cuda" else platform.processor() or "cpu"
    print(f"device: {card} ({placement.device}, {placement.dtype}); torch {torch.__version__}, "
          f"transformers {__import__('transformers').__version__}; prompt {args.prompt_tokens} tokens, "
          f"{args.tokens} greedy new tokens, median of {args.repeats}")
    report = {"device": card, "torch": torch.__version__, "models": {}}
    for name in (ALIASES.get(n, n) for n in args.llm):
        model, source = load(name, args.weights, placement)
        ids = np.random.default_rng(0).integers(100, model.config.vocab_size, args.prompt_tokens).tolist()
        print(f"\n{name}: {source}")
        print(f"  {'path':46} {'prefill ms':>10} {'tok/s':>8} {'x before':>8} {'=dyn':>5} {'=static':>7}  runs")
        rows = report["models"].setdefault(name, {"weights": source, "rows": []})["rows"]
        for row in bench_model(model, ids, args.tokens, args.repeats):
            rows.append(asdict(row))
            print(row.line(rows[0]["tok_s"] or float("nan")), flush=True)
            if args.json:  # after every row: a run cut off by its time limit still leaves what it measured
                Path(args.json).write_text(json.dumps(report, indent=1))
        del model
        if placement.device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
