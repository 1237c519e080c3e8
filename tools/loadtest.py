"""`python -m tools.loadtest`: a bounded load test of the API on loopback, on the bundled models.

Starts the server in-process, then C clients each send R requests mixing text, image and audio parts (short
answers), and reports throughput, p50/p95 latency, errors, and whether the server still answers afterwards.
`--burst N` then opens N clients at the same instant, one request each: every one must be answered or refused
with a proper HTTP status (503 + Retry-After past the queue bound), none reset or dropped.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

KINDS = ("text", "image", "audio")


def _contents(tmp: Path) -> list:
    from tools.demo import sample_image, spoken_question

    png = base64.b64encode(sample_image(tmp / "c.png").read_bytes()).decode()
    wav = base64.b64encode(spoken_question(tmp / "q.wav").read_bytes()).decode()
    return ["What is the capital of France?",
            [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
             {"type": "text", "text": "What shape is this?"}],
            [{"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}]]


def _load(url: str, model: str, contents: list, clients: int, requests: int, max_tokens: int) -> dict:
    """C clients x R requests, half streamed; latencies by kind and the errors."""
    import openai

    latencies: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        api = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
        for r in range(requests):
            kind, stream, start = KINDS[(c + r) % 3], (c + r) % 2 == 0, time.perf_counter()
            try:
                out = api.chat.completions.create(model=model, max_tokens=max_tokens, temperature=0, stream=stream,
                                                  messages=[{"role": "user", "content": contents[KINDS.index(kind)]}])
                if stream:
                    "".join(ch.choices[0].delta.content or "" for ch in out if ch.choices)
                with lock:
                    latencies[kind].append(time.perf_counter() - start)
            except Exception as e:  # counted and reported, the load goes on
                with lock:
                    errors.append(f"{kind}: {type(e).__name__}: {e}")

    began = time.perf_counter()
    _together([threading.Thread(target=client, args=(c,)) for c in range(clients)])
    wall = time.perf_counter() - began
    done = [x for v in latencies.values() for x in v]
    return {"clients": clients, "requests": clients * requests, "ok": len(done), "errors": len(errors),
            "wall_s": round(wall, 1), "requests_per_s": round(len(done) / wall, 2),
            "p50_s": round(statistics.median(done), 2) if done else None,
            "p95_s": round(sorted(done)[int(0.95 * (len(done) - 1))], 2) if done else None,
            "p50_by_kind_s": {k: round(statistics.median(v), 2) for k, v in latencies.items() if v},
            "first_errors": errors[:3]}


def _burst(url: str, model: str, contents: list, n: int, max_tokens: int) -> dict:
    """N clients released at once, one request each: outcomes by HTTP status, or by the transport error."""
    import openai

    barrier, outcomes, lock = threading.Barrier(n), collections.Counter(), threading.Lock()
    retry_after: list[str] = []

    def client(c: int) -> None:
        api = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
        barrier.wait()
        try:
            api.chat.completions.create(model=model, max_tokens=max_tokens, temperature=0,
                                        messages=[{"role": "user", "content": contents[c % 3]}])
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
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=20, help="per client")
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--burst", type=int, default=0, help="then N simultaneous clients, one request each")
    args = parser.parse_args(argv)
    import openai

    from assistant.engine import Engine, EngineConfig
    from assistant.server import make_server, stop_server

    contents = _contents(Path(tempfile.mkdtemp(prefix="omni-load-")))
    engine = Engine(EngineConfig())
    engine.preload(speech=True, vision=True)
    server = make_server(engine, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    summary = {"load": _load(url, server.model_id, contents, args.clients, args.requests, args.max_tokens)}
    if args.burst:
        summary["burst"] = _burst(url, server.model_id, contents, args.burst, args.max_tokens)
    summary["healthy_after"] = (openai.OpenAI(base_url=url, api_key="none", max_retries=0).models.list().data[0].id
                                == server.model_id)
    print(json.dumps(summary, indent=1))
    stop_server(server)
    burst_ok = not args.burst or set(summary["burst"]["outcomes"]) <= {"200", "503"}
    return 0 if not summary["load"]["errors"] and burst_ok and summary["healthy_after"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
