"""python -m tools.evaluate_transcription: word error rate and time per clip of each transcription variant.

Compares the Transcriber under several TranscribeOptions (how long the encoder looks, timestamps, fallback) with
stock `whisper.transcribe` on the same weights, on human read speech that Debian ships
(models.training.data.real_speech: alsa-utils' channel names always; warzone2100's tutorial narration and ktuberling's
English object names when installed).
Numbers, not pass/fail: docs/EVALUATION.md and the README's Performance section are filled from this table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import whisper

from models.device import choose_placement
from models.encoders.speech import SpeechEncoder, TranscribeOptions, Transcriber, load_whisper
from models.training.data.real_speech import installed
from models.training.evaluate import word_error_rate
from models.weights.catalog import resolve

_DEFAULT = TranscribeOptions()
VARIANTS = {
    "default": _DEFAULT,
    "pad-30s": TranscribeOptions(pad_to=(30.0,)),
    "pad-30s-no-timestamps": TranscribeOptions(pad_to=(30.0,), timestamps=False),
    "pad-5/10/20/30s": TranscribeOptions(pad_to=(5.0, 10.0, 20.0, 30.0)),
    "pad-10/30s": TranscribeOptions(pad_to=(10.0, 30.0)),
    "real-length": TranscribeOptions(pad_to=()),
    "real-length-no-timestamps": TranscribeOptions(pad_to=(), timestamps=False),
    "real-length-no-timestamps-no-fallback": TranscribeOptions(pad_to=(), timestamps=False, temperatures=(0.0,)),
}


def run_variant(fn, clips: list[tuple[str, np.ndarray]]) -> dict:
    """WER over the clips and milliseconds per clip (after one warm-up clip) of transcriber fn(audio) -> text."""
    fn(clips[0][1])
    rows, times = [], []
    for text, audio in clips:
        start = time.perf_counter()
        got = fn(audio)
        times.append((time.perf_counter() - start) * 1000)
        rows.append((text, got, word_error_rate(text, got)))
    return {"wer": round(sum(r[2] for r in rows) / len(rows), 3), "median_ms": round(statistics.median(times)),
            "mean_ms": round(statistics.mean(times)), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    """Print one line per clip set and variant (WER, ms per clip); --json writes every transcript too."""
    parser = argparse.ArgumentParser(prog="python -m tools.evaluate_transcription")
    parser.add_argument("--whisper", default="whisper-base")
    parser.add_argument("--variants", default="stock,default,pad-30s,pad-5/10/20/30s,int8",
                        help="comma-separated: stock (whisper.transcribe), int8 (default options), " + ", ".join(VARIANTS))
    parser.add_argument("--clips", default="alsa,warzone,ktuberling")
    parser.add_argument("--limit", type=int, default=0, help="at most this many clips of each set (0: all)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 keeps torch's default)")
    parser.add_argument("--json", type=Path, help="also write every transcript here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    placement = choose_placement("auto")
    r = resolve(args.whisper, "whisper")
    encoder = SpeechEncoder(load_whisper(r.path, placement), r.name)
    fns = {"stock": lambda audio: whisper.transcribe(encoder.model, audio, language="en", fp16=False)["text"].strip(),
           "int8": Transcriber(encoder, int8=placement.device.type == "cpu")}
    fns.update({name: Transcriber(encoder, options=opts) for name, opts in VARIANTS.items()})
    hardware = f"{platform.processor() or platform.machine()}, {placement.device}, {torch.get_num_threads()} threads"
    results: dict = {"hardware": hardware, "options": {k: asdict(v) for k, v in VARIANTS.items()}}
    for set_name, clips in installed(args.clips.split(",")).items():
        clips = clips[: args.limit or None]
        seconds = sum(len(a) for _, a in clips) / 16000 / len(clips)
        print(f"{set_name}: {len(clips)} clips, {seconds:.1f} s each on average")
        for name in args.variants.split(","):
            res = results.setdefault(set_name, {})[name] = run_variant(fns[name], clips)
            print(f"  {name:40s} WER {res['wer']:.3f}  {res['median_ms']:6d} ms median  {res['mean_ms']:6d} ms mean",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
