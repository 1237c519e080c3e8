"""`python -m tools.bench [--json]`: load time, first-token latency and decode speed on this machine.

Numbers, not pass/fail: the README's performance section is filled from this table. Where no trained adapter is
installed, image and native-voice rows use a randomly initialised adapter of the shipped shape, so their timings
are real while their answers are meaningless (marked "random adapter").
"""

from __future__ import annotations

import json
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from assistant.cli import Parser, run_command
from assistant.conversation import AudioPart, Done, Error, ImagePart, Message, TextPart
from assistant.engine import Engine, EngineConfig
from assistant.media import SAMPLE_RATE, load_audio, to_wav
from models.adapters.projector import AdapterConfig, Projector, save_adapter
from models.decoders.sampling import SamplingOptions
from models.flags import add_dataclass_flags, from_flags
from tools.demo import sample_image, synthesize

TEXT_QUESTION = "Explain in a few sentences why the sky is blue."
VOICE_TEXT = "What is the capital of France and why is it famous?"
OPTS = SamplingOptions(temperature=0, max_new_tokens=64)
SPEECH_STACK, ADAPTER_HIDDEN = 5, 1024


def wav_bytes(audio: np.ndarray, seconds: float) -> bytes:
    """16 kHz mono WAV of exactly `seconds` (padded with silence or cut)."""
    n = int(seconds * SAMPLE_RATE)
    return to_wav(np.pad(audio[:n], (0, max(0, n - len(audio)))))


def _run(engine: Engine, convo: list[Message], voice_mode: str = "cascade") -> Done:
    for event in engine.respond(convo, OPTS, voice_mode):
        if isinstance(event, Error):
            raise RuntimeError(event.message)
        if isinstance(event, Done):
            return event
    raise RuntimeError("no answer")


def _median_run(engine: Engine, make_convo, voice_mode: str = "cascade", repeats: int = 3) -> tuple[float, float]:
    """Median first-token ms and decode tokens/s, each run from cold caches (no reused prefix or media)."""
    ttft, tps = [], []
    for _ in range(repeats):
        engine.reset_cache()
        done = _run(engine, make_convo(), voice_mode)
        ttft.append(done.timings.ttft_ms)
        tps.append(done.timings.tokens_per_s)
    return statistics.median(ttft), statistics.median(tps)


def _random_adapters(config: EngineConfig, engine: Engine, tmp: Path) -> tuple[EngineConfig, list[str]]:
    """Point the config at random adapters where no trained one is installed (timing only)."""
    notes, llm = [], engine.llm
    for modality, field, encoder in (("image", "image_adapter", engine.vision),
                                     ("speech", "speech_adapter", engine.speech)):
        if engine.has_adapter(modality):
            continue
        stack = SPEECH_STACK if modality == "speech" else 1
        cfg = AdapterConfig(modality, encoder.name, llm.name, encoder.dim, llm.hidden_size, ADAPTER_HIDDEN, stack)
        save_adapter(Projector(cfg), tmp / modality)
        config = replace(config, **{field: str(tmp / modality)})
        notes.append(modality)
    return config, notes


def run_bench(config: EngineConfig) -> dict:
    """Measure everything; returns {metric: value} plus the hardware description."""
    results: dict = {"hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
                     "device": config.device, "quantize": config.quantize}
    engine = Engine(config)
    for role in ("llm", "whisper", "vision"):
        getattr(engine, {"llm": "llm", "whisper": "speech", "vision": "vision"}[role])
        results[f"load_{role}_s"] = round(engine.load_seconds[role], 2)
    if engine.placement.device.type == "cuda":
        results["hardware"] = torch.cuda.get_device_name()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config, random = _random_adapters(config, engine, tmp)
        engine.config = config
        results["random_adapters"] = random
        audio = load_audio(synthesize(VOICE_TEXT, tmp / "q.wav", speed=190))
        clip = wav_bytes(audio, 3.0)
        image = sample_image(tmp / "img.png")
        _run(engine, [Message.user("Hello")])  # warm-up

        results["text_ttft_ms"], results["text_tokens_per_s"] = _median_run(
            engine, lambda: [Message.user(TEXT_QUESTION)])
        results["image_ttft_ms"], results["image_tokens_per_s"] = _median_run(
            engine, lambda: [Message("user", (ImagePart(image), TextPart("What is in this picture?")))])
        for mode in ("cascade", "native"):
            results[f"voice_{mode}_ttft_ms"], results[f"voice_{mode}_tokens_per_s"] = _median_run(
                engine, lambda: [Message("user", (AudioPart(clip),))], mode)

        samples = load_audio(clip)
        for pad in (False, True):
            times = []
            for _ in range(3):
                start = time.perf_counter()
                engine.speech.encode(samples, pad_to_30s=pad)
                times.append((time.perf_counter() - start) * 1000)
            label = "padded_30s" if pad else "real_length"
            results[f"whisper_encoder_3s_{label}_ms"] = round(statistics.median(times), 1)

        results.update(_turn_latency(engine))
    return results


def _turn_latency(engine: Engine, repeats: int = 3) -> dict:
    """First-token latency at turn 1 and turn 10 of a conversation (median over `repeats` conversations)."""
    topics = ["red", "blue", "green", "round", "soft", "loud", "cold", "sweet", "old", "tall"]
    opts = SamplingOptions(temperature=0, max_new_tokens=24)
    ttft: dict[int, list[float]] = {1: [], 10: []}
    for _ in range(repeats):
        engine.reset_cache()
        convo: list[Message] = []
        for turn, topic in enumerate(topics, 1):
            convo.append(Message.user(f"Question {turn}: name one thing that is {topic}."))
            done = [e for e in engine.respond(convo, opts) if isinstance(e, (Done, Error))][-1]
            if isinstance(done, Error):
                raise RuntimeError(done.message)
            convo.append(Message.assistant(done.answer))
            if turn in ttft:
                ttft[turn].append(done.timings.ttft_ms)
    return {"turn1_ttft_ms": statistics.median(ttft[1]), "turn10_ttft_ms": statistics.median(ttft[10]),
            "turn10_prompt_tokens": done.timings.prompt_tokens,
            "turn10_reused_tokens": done.timings.reused_prompt_tokens}


def format_table(results: dict) -> str:
    """A two-column table of the results."""
    width = max(map(len, results))
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in results.items())


def main(argv: list[str] | None = None) -> int:
    """Print the table (or one JSON object)."""
    parser = Parser(prog="python -m tools.bench", description="measure load time, first-token latency and decode speed")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--compare", action="store_true",
                        help="the runtimes and tiers side by side (tools.bench_runtimes), as a Markdown table")
    add_dataclass_flags(parser, EngineConfig)
    args = parser.parse_args(argv)

    def bench() -> int:
        if args.compare:
            from tools.bench_runtimes import compare, markdown

            rows = compare(from_flags(EngineConfig, args))
            print(json.dumps(rows) if args.json else markdown(rows))
            return 0
        results = run_bench(from_flags(EngineConfig, args))
        print(json.dumps(results) if args.json else format_table(results))
        return 0

    return run_command(bench)


if __name__ == "__main__":
    raise SystemExit(main())
