"""`python -m tools.bench --compare`: the decoder runtimes and model tiers side by side, on this machine, in one run.

For each (LLM, runtime) row: load time, first token of a short question, prefill of a ~310-token prompt, decode
speed over a long answer (greedy, cold caches, median of `repeats`), and the wall time and peak memory
of a cold `python -m assistant ask` process. The README's performance table is this command's output.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace

from assistant.conversation import Done, Error, Message
from assistant.engine import Engine, EngineConfig
from models.decoders.sampling import SamplingOptions
from models.weights.catalog import MissingWeightsError

SHORT_QUESTION = "What is the capital of Australia?"
LONG_ANSWER = "Write a 300-word story about a lighthouse keeper who finds a message in a bottle."
# About 310 tokens of prompt (the measurement): a paragraph repeated, then a question about it.
PARAGRAPH = ("The lighthouse stood on a rock at the edge of the bay. Every evening the keeper climbed its stairs, "
             "trimmed the wick, wound the clockwork that turned the lens, and wrote the weather in a log book. ")
LONG_PROMPT = PARAGRAPH * 8 + "In one sentence: what did the keeper do every evening?"


@dataclass(frozen=True)
class Row:
    """One configuration to measure."""

    label: str
    llm: str
    runtime: str
    quantize: str = "none"


ROWS = (
    Row("fast, llama.cpp (Q4_1 GGUF)", "fast", "llama.cpp"),
    Row("fast, torch fp32", "fast", "torch"),
    Row("fast, torch int8", "fast", "torch", "int8"),
    Row("qwen2.5-coder-0.5b, llama.cpp", "qwen2.5-coder-0.5b-instruct", "llama.cpp"),
    Row("quality (default), llama.cpp (Q4_K_M)", "quality", "llama.cpp"),
)


def _answer(engine: Engine, text: str, max_new_tokens: int) -> Done:
    engine.reset_cache()
    opts = SamplingOptions(temperature=0, max_new_tokens=max_new_tokens)
    last = [e for e in engine.respond([Message.user(text)], opts) if isinstance(e, (Done, Error))][-1]
    if isinstance(last, Error):
        raise RuntimeError(last.message)
    return last


# Runs `python -m assistant` as is and, at exit, prints the process's own peak memory. VmHWM belongs to the address
# space exec created; getrusage's ru_maxrss would include the bench process itself, which the child was forked from.
_PEAK = ("import atexit, runpy, sys\n"
         "atexit.register(lambda: print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')),"
         " file=sys.stderr))\n"
         "sys.argv[0] = 'assistant'\n"
         "runpy.run_module('assistant', run_name='__main__')")


def cold_ask(row: Row, question: str = "hi", max_new_tokens: int = 16) -> tuple[float, float]:
    """Wall seconds and peak resident MB of a fresh `python -m assistant ask` process answering a short question."""
    cmd = [sys.executable, "-c", _PEAK, "ask", question, "--llm", row.llm, "--runtime", row.runtime,
           "--quantize", row.quantize, "--max-new-tokens", str(max_new_tokens), "--temperature", "0"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[3:])} exited with {proc.returncode}: {proc.stderr[-300:]}")
    peak_kb = int(next(line for line in proc.stderr.splitlines() if line.startswith("VmHWM")).split()[1])
    return seconds, peak_kb / 1024


def measure(row: Row, config: EngineConfig, repeats: int = 3) -> dict:
    """The numbers of one row (raises MissingWeightsError when its model is not installed)."""
    engine = Engine(replace(config, llm=row.llm, runtime=row.runtime, quantize=row.quantize))
    engine.llm
    out = {"row": row.label, "load_s": round(engine.load_seconds["llm"], 2)}
    _answer(engine, "Hello", 8)  # warm-up
    runs = [_answer(engine, SHORT_QUESTION, 32) for _ in range(repeats)]
    out["short_ttft_ms"] = statistics.median(d.timings.ttft_ms for d in runs)
    runs = [_answer(engine, LONG_PROMPT, 8) for _ in range(repeats)]
    out["prompt_tokens"] = runs[0].timings.prompt_tokens
    out["prefill_ms"] = statistics.median(d.timings.ttft_ms for d in runs)
    runs = [_answer(engine, LONG_ANSWER, 128) for _ in range(repeats)]
    out["decode_tok_s"] = statistics.median(d.timings.tokens_per_s for d in runs)
    out["decode_tokens"] = runs[0].timings.tokens
    asks = [cold_ask(row) for _ in range(repeats)]
    out["cold_ask_s"] = round(statistics.median(s for s, _ in asks), 2)
    out["cold_ask_peak_mb"] = round(max(mb for _, mb in asks))
    return out


def compare(config: EngineConfig, rows: tuple[Row, ...] = ROWS, repeats: int = 3) -> list[dict]:
    """Measure every row whose model is installed; a missing one is reported, not fatal."""
    results = []
    for row in rows:
        try:
            results.append(measure(row, config, repeats))
        except MissingWeightsError as e:
            results.append({"row": row.label, "missing": str(e)})
        print(f"[bench] {results[-1]}", file=sys.stderr, flush=True)
    return results


def markdown(results: list[dict]) -> str:
    """The README's table."""
    head = ("| runtime, model | load s | first token, short question (ms) | prefill ~310 tokens (ms) | decode tok/s "
            "| cold `ask \"hi\"` s | its peak RSS MB |\n|---|---|---|---|---|---|---|")
    lines = [head]
    for r in results:
        if "missing" in r:
            lines.append(f"| {r['row']} | not installed | | | | | |")
            continue
        lines.append(f"| {r['row']} | {r['load_s']} | {r['short_ttft_ms']:.0f} | {r['prefill_ms']:.0f} "
                     f"({r['prompt_tokens']} tokens) | {r['decode_tok_s']} | {r['cold_ask_s']} "
                     f"| {r['cold_ask_peak_mb']} |")
    lines.append(f"\n{cpu_name()}, {os.cpu_count()} cores; greedy, cold caches, median of 3; "
                 f"load average {os.getloadavg()[0]:.2f} at the end.")
    return "\n".join(lines)


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()
