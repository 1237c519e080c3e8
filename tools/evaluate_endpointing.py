"""`python -m tools.evaluate_endpointing`: how often the voice chat's endpointing cuts a speaker off, on real speech.

Each clip of human speech (models.training.data.real_speech: alsa-utils always, warzone2100's narration and ktuberling's
words when installed) goes through the voice chat's Listener (Silero VAD, the app's VadOptions) in 50 ms blocks, as
the microphone delivers it, then 2 s of silence. At each pause the utterance so far is transcribed by the app's
Transcriber, and when it sounds finished (assistant.vad.sounds_finished) the pause may end the utterance sooner
(hurry), as in the app; here the transcript counts as arriving at once, the most eager case.

A clip is cut off when it becomes more than one utterance: an utterance ended while its speaker had more to say.
Printed per set and rule (the fixed pause alone, and with hurry): clips, clips cut off, the median silence from the
last speech to the end of the utterance (what the endpoint adds to every answer's latency), clips hurried, and the
pauses a speaker talked on after (each a chance to cut them off).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant.vad import Listener, Pause, Resumed, Utterance, VadOptions, sounds_finished

BLOCK = 800  # samples per microphone read: 50 ms, ui.recorder's poll
TAIL_S = 2.0  # silence after each clip: any pause the rules allow ends within it


@dataclass
class Endpointed:
    """One clip through the Listener: its utterances' trailing silence (s) and transcripts at each hurry."""

    trailing: list[float] = field(default_factory=list)
    hurried: list[str] = field(default_factory=list)  # transcripts that made a pause end sooner
    resumed: int = 0  # pauses the speaker talked on after: where a cut-off could have happened

    @property
    def cut_off(self) -> bool:
        """The clip became more than one utterance."""
        return len(self.trailing) > 1


def endpoint(audio: np.ndarray, transcribe=None, listener: Listener | None = None) -> Endpointed:
    """Feed a clip and TAIL_S of silence to a fresh Listener (the app's, unless one is given); with
    transcribe(audio) -> text, each Pause whose words sound finished hurries the listener, as the voice chat does."""
    listener, out = listener or Listener(VadOptions()), Endpointed()
    samples = np.concatenate([audio.astype(np.float32), np.zeros(int(TAIL_S * 16000), np.float32)])
    for start in range(0, len(samples), BLOCK):
        for event in listener.feed(samples[start : start + BLOCK]):
            if isinstance(event, Pause) and transcribe is not None:
                text = transcribe(event.audio)
                if sounds_finished(text):
                    out.hurried.append(text)
                    listener.hurry(event.number)
            elif isinstance(event, Resumed):
                out.resumed += 1
            elif isinstance(event, Utterance):
                out.trailing.append(event.trailing_s)
    return out


def summarize(results: list[tuple[str, Endpointed]]) -> dict:
    """Clips, how many were cut off (and which), and the median trailing silence of the utterances."""
    heard = [r for _, r in results if r.trailing]
    return {"clips": len(results), "heard": len(heard), "cut_off": sum(r.cut_off for _, r in results),
            "cut_off_rate": round(sum(r.cut_off for _, r in results) / max(1, len(heard)), 3),
            "median_endpoint_s": round(statistics.median(t for r in heard for t in r.trailing), 3) if heard else None,
            "hurried": sum(bool(r.hurried) for _, r in results), "pauses_talked_on": sum(r.resumed for _, r in results),
            "cut_clips": [text for text, r in results if r.cut_off]}


def main(argv: list[str] | None = None) -> int:
    """Print one line per clip set and rule; --json writes the details."""
    import torch

    from models.device import choose_placement
    from models.encoders.speech import SpeechEncoder, Transcriber, load_whisper
    from models.training.data.real_speech import installed
    from models.weights.catalog import resolve

    parser = argparse.ArgumentParser(prog="python -m tools.evaluate_endpointing", description=__doc__.splitlines()[0])
    parser.add_argument("--whisper", default="whisper-base")
    parser.add_argument("--clips", default="alsa,warzone,ktuberling")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    placement = choose_placement("auto")
    r = resolve(args.whisper, "whisper")
    transcriber = Transcriber(SpeechEncoder(load_whisper(r.path, placement), r.name))
    summary: dict = {"hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
                     "options": asdict(VadOptions())}
    for name, clips in installed(args.clips.split(",")).items():
        for rule, transcribe in (("fixed pause", None), ("with hurry", transcriber)):
            row = summary.setdefault(name, {})[rule] = summarize([(text, endpoint(audio, transcribe))
                                                                  for text, audio in clips])
            print(f"{name:10s} {rule:12s} {row['cut_off']:3d} of {row['heard']:3d} cut off "
                  f"({row['cut_off_rate']:.1%}), median endpoint {row['median_endpoint_s']} s, "
                  f"hurried {row['hurried']}, pauses talked on {row['pauses_talked_on']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
