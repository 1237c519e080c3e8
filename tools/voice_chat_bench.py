"""`python -m tools.voice_chat_bench`: the hands-free voice chat on the real models, timed as a person feels it.

Spoken questions (espeak-ng, English and Korean) are played into a PulseAudio virtual microphone while the real window
runs its voice chat. For each: the time from the end of the question's speech to the first spoken audio of the answer
(measured outside the app: from when the clip's last voiced sample is played to when the window starts playing the
answer; and the app's own figure, from the moment voice detection placed the end of speech), the engine's first token
(transcription included), and the event loop's stalls while it listens and thinks, and while the answer is spoken.
Then a barge-in: talking over a long answer, how long until the speech stops.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from assistant.media import load_audio

QUESTIONS = [("en", "What is the capital of Japan?", "en-us+m3"),
             ("en", "Name three colors of the rainbow.", "en-us+m3"),
             ("en", "How many legs does a spider have?", "en-us+m3"),
             ("ko", "한국의 수도는 어디입니까?", "ko")]
LONG = ("en", "Tell me about the history of Paris in detail.", "en-us+m3")
INTERRUPT = ("en", "Stop. What is two plus two?", "en-us+m3")


def speech_bounds(path: Path) -> tuple[float, float]:
    """Seconds into the clip of its first and last voiced sample (espeak-ng pads with silence)."""
    audio = load_audio(path)
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return loud[0] / 16000, loud[-1] / 16000


def main(argv: list[str] | None = None) -> int:
    """Run the voice chat on the bundled models and print the timings as JSON."""
    parser = argparse.ArgumentParser(prog="python -m tools.voice_chat_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="omni-voice-bench-"))
    os.environ["ASSISTANT_DATA_DIR"], os.environ["ASSISTANT_CONFIG_DIR"] = str(tmp / "data"), str(tmp / "config")
    from tools.virtual_mic import VirtualMicrophone

    with VirtualMicrophone() as mic:  # before Qt's first device query
        return _run(args, tmp, mic)


def _run(args, tmp: Path, mic) -> int:
    from tools.demo import synthesize
    from tools.stall import StallMeter, report, wait_until
    from ui.app import build

    app, window = build([sys.argv[0]])
    window.settings = replace(window.settings, microphone=mic.device_id)
    meter = StallMeter()
    window.show()
    window.load_models()

    def wait(condition, timeout=300):
        wait_until(app, condition, timeout, poll=0.001)

    wait(lambda: window.ready or "Could not load" in window.status_text.text(), 900)
    if not window.ready:
        print(window.status_text.text(), file=sys.stderr)
        return 1
    clips = {text: (wav, speech_bounds(wav)) for i, (_, text, voice) in enumerate([*QUESTIONS, LONG, INTERRUPT])
             for wav in [synthesize(text, tmp / f"q{i}.wav", voice, 150)]}  # made before the meter runs

    window.composer.converse_button.click()
    meter.start("listening and thinking")
    settled = time.monotonic() + 2  # the voice loads on its thread (warm) before the first question
    wait(lambda: time.monotonic() > settled)

    def ask(language: str, text: str, voice: str) -> tuple[float, float]:
        wav, (_, last) = clips[text]
        asked, spoken = len(window.session.messages()), len(window.voice_chat.first_audio)
        started = time.monotonic()
        mic.play(wav)
        wait(lambda: len(window.voice_chat.first_audio) > spoken and window.speaking, 300)
        outside = time.monotonic() - (started + last)
        meter.start(f"speaking ({language})")
        assert len(window.session.messages()) > asked
        return outside, window.voice_chat.first_audio[-1]

    results = []
    for language, text, voice in QUESTIONS:
        outside, inside = ask(language, text, voice)
        wait(lambda: not window.busy and not window.speaking and not window.spoken, 300)
        meter.start("listening and thinking")
        messages = window.session.messages()
        results.append({"language": language, "asked": text, "heard": messages[-2].meta.get("transcript", ""),
                        "answer": messages[-1].text[:80],
                        "first_token_s": round(messages[-1].meta["ttft_ms"] / 1000, 2),
                        "end_of_speech_to_first_audio_s": round(outside, 2),
                        "app_measured_s": round(inside, 2)})
        pause = time.monotonic() + 0.5
        wait(lambda: time.monotonic() > pause)

    # Barge-in: talk over a long answer while it is spoken.
    ask(*LONG)
    spoken_for = time.monotonic() + 1
    wait(lambda: time.monotonic() > spoken_for)
    wav, (first, _) = clips[INTERRUPT[1]]
    before = len(window.session.messages())
    started = time.monotonic()
    mic.play(wav)
    wait(lambda: not window.speaking, 60)
    barge_in = time.monotonic() - (started + first)
    wait(lambda: len(window.session.messages()) > before and not window.busy, 300)
    meter.start("listening and thinking")

    latencies = [r["end_of_speech_to_first_audio_s"] for r in results]
    summary = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "llm": window.settings.engine.llm, "questions": results,
        "median_end_of_speech_to_first_audio_s": round(statistics.median(latencies), 2),
        "barge_in_speech_to_silence_s": round(barge_in, 2),
        "stalls": meter.summary(),
    }
    return report(summary, args.json, window)


if __name__ == "__main__":
    raise SystemExit(main())
