"""`python -m tools.loadtest`: a bounded load test of the API on loopback, on the bundled models.

Starts the server in-process and reports, as JSON:
- `decode`: one streamed answer's tokens/s served over HTTP against the same engine answering in-process;
- `load`: for each client count (--clients 1,4,8), C clients each sending R requests that mix text, image and audio
  parts (half streamed): generated tokens/s in all, p50/p95 latency, errors;
- `window`: the desktop window's first token (a job on the same queue, ahead of the API's) idle and while
  8 API answers stream;
- `peer` (--peer): the same text load on llama-cpp-python's own server over the same GGUF, when its extras
  (`pip install 'llama-cpp-python[server]'`) are installed;
- `burst` (--burst N): N clients released at once, one request each: every one must be answered or refused with a
  proper HTTP status (503 + Retry-After past the queue bound), none reset or dropped.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import json
import math
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

from assistant.engine import Engine, EngineConfig
from models.decoders.llama_cpp_runtime import cpu_threads
from models.flags import add_dataclass_flags, from_flags
from models.weights.catalog import resolve_gguf
from tools.bench_runtimes import cpu_name

KINDS = ("text", "image", "audio")
PLACES = ("France", "Italy", "Spain", "Japan", "Peru", "Kenya", "Norway", "Chile", "Egypt", "Canada")
LONG = "Tell me a long story about a lighthouse keeper."  # an answer that goes on past any max_tokens used here


def _client(url: str, timeout: float = 600):
    """An OpenAI client of the server at url that never retries (a refusal is counted, not hidden)."""
    import openai

    return openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=timeout)


def _contents(tmp: Path) -> dict:
    """A question of each kind, each asking for a story: answers that go on to max_tokens, so every request decodes
    as many tokens as the next."""
    from tools.demo import sample_image, spoken_question

    png = base64.b64encode(sample_image(tmp / "c.png").read_bytes()).decode()
    wav = base64.b64encode(spoken_question(tmp / "q.wav").read_bytes()).decode()
    return {"text": "Tell me a long story about Paris.",
            "image": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
                      {"type": "text", "text": "Tell me a long story about this picture."}],
            "audio": [{"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}},
                      {"type": "text", "text": "Answer, then tell me a long story about it."}]}


def _ask(api, model: str, content, max_tokens: int, stream: bool) -> int:
    """One request; the tokens it generated: from the usage, or for a stream without one (llama-cpp-python's
    server sends none), its chunks with text (each holds one token there)."""
    out = api.chat.completions.create(model=model, max_tokens=max_tokens, temperature=0, stream=stream,
                                      messages=[{"role": "user", "content": content}],
                                      **({"stream_options": {"include_usage": True}} if stream else {}))
    if not stream:
        return out.usage.completion_tokens
    pieces, used = 0, None
    for chunk in out:
        pieces += any(c.delta.content for c in chunk.choices)
        used = chunk.usage.completion_tokens if chunk.usage is not None else used
    return used if used is not None else pieces


def _load(url: str, model: str, contents: dict, clients: int, requests: int, max_tokens: int) -> dict:
    """C clients x R requests, half streamed, the kinds in turn; tokens/s in all, latencies by kind, the errors."""
    kinds = list(contents)
    latencies: dict[str, list[float]] = {k: [] for k in kinds}
    errors: list[str] = []
    tokens = [0]
    lock = threading.Lock()

    def client(c: int) -> None:
        api = _client(url)
        for r in range(requests):
            kind, stream, start = kinds[(c + r) % len(kinds)], (c + r) % 2 == 0, time.perf_counter()
            try:
                n = _ask(api, model, contents[kind], max_tokens, stream)
                with lock:
                    latencies[kind].append(time.perf_counter() - start)
                    tokens[0] += n
            except Exception as e:  # counted and reported, the load goes on
                with lock:
                    errors.append(f"{kind}: {type(e).__name__}: {e}")

    began = time.perf_counter()
    _together([threading.Thread(target=client, args=(c,)) for c in range(clients)])
    wall = time.perf_counter() - began
    done = [x for v in latencies.values() for x in v]
    return {"clients": clients, "requests": clients * requests, "ok": len(done), "errors": len(errors),
            "wall_s": round(wall, 1), "requests_per_s": round(len(done) / wall, 2),
            "tokens": tokens[0], "tokens_per_s": round(tokens[0] / wall, 1),
            "p50_s": round(statistics.median(done), 2) if done else None,
            "p95_s": round(sorted(done)[math.ceil(0.95 * len(done)) - 1], 2) if done else None,
            "p50_by_kind_s": {k: round(statistics.median(v), 2) for k, v in latencies.items() if v},
            "first_errors": errors[:3]}


def _decode(engine, url: str, model: str, tokens: int, rounds: int = 3) -> dict:
    """The same greedy answer's decode tokens/s in-process (Engine.respond on this thread) and served (streamed over
    HTTP, first to last token), in turns; the best of each."""
    from assistant.conversation import Done, Message
    from models.decoders.sampling import SamplingOptions

    api = _client(url)
    options = SamplingOptions(temperature=0, max_new_tokens=tokens)
    inproc, served = [], []
    for _ in range(rounds):
        done = [e for e in engine.respond([Message.user(LONG)], options) if isinstance(e, Done)][0]
        inproc.append(done.timings.tokens_per_s)
        times = [time.perf_counter() for ch in api.chat.completions.create(
            model=model, max_tokens=tokens, temperature=0, stream=True,
            messages=[{"role": "user", "content": LONG}]) if ch.choices and ch.choices[0].delta.content]
        served.append(round((len(times) - 1) / (times[-1] - times[0]), 1) if len(times) > 1 else 0.0)
    return {"tokens": tokens, "in_process_tokens_per_s": max(inproc), "served_tokens_per_s": max(served),
            "served_vs_in_process": round(max(served) / max(inproc), 2), "runs": {"in_process": inproc,
                                                                                "served": served}}


def _window(server, url: str, model: str, streams: int, rounds: int = 3) -> dict:
    """The window's first token (its job on the server's queue, as the desktop window submits it), idle and while
    `streams` API answers are streaming; the median of each."""
    from assistant.conversation import Message, TokenDelta
    from assistant.engine_queue import Job
    from models.decoders.sampling import SamplingOptions

    asked = iter(f"What is the capital of {place}?" for place in PLACES)  # a new question each time: no cached answer

    def first_token() -> float:
        events: queue.Queue = queue.Queue()
        start = time.perf_counter()
        server.engines.submit(Job([Message.user(next(asked))],
                                  SamplingOptions(temperature=0, max_new_tokens=4), "cascade", events.put, first=True))
        took = None
        while (event := events.get()) is not None:
            if took is None and isinstance(event, TokenDelta):
                took = time.perf_counter() - start
        return took

    idle = statistics.median(first_token() for _ in range(rounds))
    busy = []
    for _ in range(rounds):
        started = threading.Barrier(streams + 1)

        def client() -> None:
            api = _client(url)
            out = api.chat.completions.create(model=model, max_tokens=48, temperature=0, stream=True,
                                              messages=[{"role": "user", "content": LONG}])
            for i, _ in enumerate(out):
                if i == 2:  # streaming
                    started.wait()

        threads = [threading.Thread(target=client) for _ in range(streams)]
        for t in threads:
            t.start()
        started.wait()
        busy.append(first_token())
        for t in threads:
            t.join()
    return {"idle_first_token_s": round(idle, 2), "busy_first_token_s": round(statistics.median(busy), 2),
            "api_streams": streams, "busy_vs_idle": round(statistics.median(busy) / idle, 2)}


@contextlib.contextmanager
def llama_cpp_server(gguf: Path, threads: int, context: int = 4096) -> Iterator[tuple[str, str]]:
    """llama-cpp-python's own OpenAI-compatible server on the GGUF, on a free loopback port, for as long as the
    block lasts: (base URL, model id). Needs its extras (`pip install 'llama-cpp-python[server]'`): ImportError
    without them, RuntimeError when it does not answer within a minute."""
    import importlib.util

    import openai

    from assistant.server_http import listen

    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("sse_starlette") is None:
        raise ImportError("llama-cpp-python's server extras are not installed: pip install 'llama-cpp-python[server]'")
    sock = listen("127.0.0.1", 0, 16)
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--port", str(port),
                             "--n_threads", str(threads), "--n_ctx", str(context),
                             "--interrupt_requests", "False"],  # its default cuts a stream short for the next request
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        api = _client(url, timeout=5)
        for _ in range(120):
            try:
                model = api.models.list().data[0].id
                break
            except openai.APIConnectionError:
                if proc.poll() is not None:
                    raise RuntimeError(f"llama_cpp.server exited with status {proc.returncode}") from None
                time.sleep(0.5)
        else:
            raise RuntimeError("llama_cpp.server did not answer within 60 s")
        yield url, model
    finally:
        proc.terminate()
        proc.wait(30)


def _peer(gguf: Path, contents: dict, clients: list[int], requests: int, max_tokens: int, threads: int) -> dict:
    """The text load on llama-cpp-python's own server over the same GGUF (one process, one lock around its model)."""
    try:
        with llama_cpp_server(gguf, threads) as (url, model):
            return {"load": [_load(url, model, {"text": contents["text"]}, c, requests, max_tokens) for c in clients]}
    except (ImportError, RuntimeError) as e:
        return {"skipped": str(e)}


def _burst(url: str, model: str, contents: dict, n: int, max_tokens: int) -> dict:
    """N clients released at once, one request each: outcomes by HTTP status, or by the transport error."""
    import openai

    barrier, outcomes, lock = threading.Barrier(n), collections.Counter(), threading.Lock()
    asked = list(contents.values())
    retry_after: list[str] = []

    def client(c: int) -> None:
        api = _client(url)
        barrier.wait()
        try:
            api.chat.completions.create(model=model, max_tokens=max_tokens, temperature=0,
                                        messages=[{"role": "user", "content": asked[c % len(asked)]}])
            outcome = "200"
        except openai.APIStatusError as e:
            outcome = str(e.status_code)
            with lock:
                retry_after.append(e.response.headers.get("retry-after", "none"))
        except Exception as e:  # a reset or a dropped connection: what must not happen
            outcome = type(e).__name__
        with lock:
            outcomes[outcome] += 1

    began = time.perf_counter()
    _together([threading.Thread(target=client, args=(c,)) for c in range(n)])
    return {"clients": n, "outcomes": dict(outcomes), "retry_after_s": sorted(set(retry_after)),
            "wall_s": round(time.perf_counter() - began, 1)}


def _together(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main(argv: list[str] | None = None) -> int:
    """Run the load (and the burst, if asked) and print a JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m tools.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4,8", help="client counts, one load each")
    parser.add_argument("--requests", type=int, default=4, help="per client")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--kinds", default=",".join(KINDS), help="what the requests ask about, in turn")
    parser.add_argument("--decode-tokens", type=int, default=128, help="the served vs in-process answer's length")
    parser.add_argument("--peer", action="store_true", help="the same text load on llama-cpp-python's server")
    parser.add_argument("--burst", type=int, default=0, help="then N simultaneous clients, one request each")
    add_dataclass_flags(parser, EngineConfig)
    args = parser.parse_args(argv)

    from assistant.server import make_server, stop_server

    clients = [int(c) for c in args.clients.split(",")]
    everything = _contents(Path(tempfile.mkdtemp(prefix="omni-load-")))
    contents = {k: everything[k] for k in args.kinds.split(",")}
    config = from_flags(EngineConfig, args)
    engine = Engine(config)
    engine.preload(speech="audio" in contents, vision="image" in contents)
    server = make_server(engine, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    summary = {"cpu": f"{cpu_name()}, {cpu_threads()} cores", "llm": server.model_id, "parallel": config.parallel,
               "decode": _decode(engine, url, server.model_id, args.decode_tokens),
               "load": [_load(url, server.model_id, contents, c, args.requests, args.max_tokens) for c in clients],
               "window": _window(server, url, server.model_id, max(clients))}
    one = next((r for r in summary["load"] if r["clients"] == 1), None)
    if one and one["tokens_per_s"]:
        summary["aggregate_vs_one_client"] = {r["clients"]: round(r["tokens_per_s"] / one["tokens_per_s"], 2)
                                              for r in summary["load"]}
    if args.peer:
        summary["peer"] = _peer(resolve_gguf(config.llm), contents, clients, args.requests, args.max_tokens,
                                engine.llm.threads)
    if args.burst:
        summary["burst"] = _burst(url, server.model_id, contents, args.burst, args.max_tokens)
    summary["healthy_after"] = (_client(url).models.list().data[0].id
                                == server.model_id)
    print(json.dumps(summary, indent=1))
    stop_server(server)
    burst_ok = not args.burst or set(summary["burst"]["outcomes"]) <= {"200", "503"}
    return 0 if not any(r["errors"] for r in summary["load"]) and burst_ok and summary["healthy_after"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
