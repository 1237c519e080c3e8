"""`python -m assistant.loadtest`: a bounded load test of the API on loopback, on the bundled models.

Starts the server in-process, then C clients each send R requests mixing text, image and audio parts (short
answers), and reports throughput, p50/p95 latency, errors, and whether the server still answers afterwards.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the load and print a JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m assistant.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=20, help="per client")
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args(argv)
    import openai

    from assistant.demo import sample_image, synthesize
    from assistant.engine import Engine, EngineConfig
    from assistant.server import make_server

    tmp = Path(tempfile.mkdtemp(prefix="omni-load-"))
    png = base64.b64encode(sample_image(tmp / "c.png").read_bytes()).decode()
    wav = base64.b64encode(synthesize("What is the capital of France?", tmp / "q.wav", "en-us+f3", 120)
                           .read_bytes()).decode()
    contents = [
        "What is the capital of France?",
        [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
         {"type": "text", "text": "What shape is this?"}],
        [{"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}],
    ]
    engine = Engine(EngineConfig())
    engine.preload(speech=True, vision=True)
    server = make_server(engine, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    latencies: dict[str, list[float]] = {"text": [], "image": [], "audio": []}
    errors: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        api = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
        for r in range(args.requests):
            kind = ("text", "image", "audio")[(c + r) % 3]
            start = time.perf_counter()
            try:
                stream = (c + r) % 2 == 0
                out = api.chat.completions.create(model=server.model_id, max_tokens=args.max_tokens, temperature=0,
                                                  stream=stream, messages=[{"role": "user", "content":
                                                                            contents[("text", "image", "audio")
                                                                                     .index(kind)]}])
                if stream:
                    "".join(ch.choices[0].delta.content or "" for ch in out if ch.choices)
                with lock:
                    latencies[kind].append(time.perf_counter() - start)
            except Exception as e:  # counted and reported, the load goes on
                with lock:
                    errors.append(f"{kind}: {type(e).__name__}: {e}")

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    done = [x for v in latencies.values() for x in v]
    healthy = openai.OpenAI(base_url=url, api_key="none", max_retries=0).models.list().data[0].id == server.model_id
    summary = {"clients": args.clients, "requests": args.clients * args.requests, "ok": len(done),
               "errors": len(errors), "wall_s": round(wall, 1), "requests_per_s": round(len(done) / wall, 2),
               "p50_s": round(statistics.median(done), 2) if done else None,
               "p95_s": round(sorted(done)[int(0.95 * (len(done) - 1))], 2) if done else None,
               "p50_by_kind_s": {k: round(statistics.median(v), 2) for k, v in latencies.items() if v},
               "healthy_after": healthy, "first_errors": errors[:3]}
    print(json.dumps(summary, indent=1))
    server.shutdown()
    return 0 if not errors and healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
