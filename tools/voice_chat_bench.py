"""`python -m tools.voice_chat_bench`: the hands-free voice chat on the real models, timed as a person feels it.

Spoken questions (six English ones read by piper's joe, flite and espeak-ng voices, and a Korean one) are played
into a PulseAudio virtual microphone while the real window runs its voice chat. For each: the time from the end of
the question's speech to the first spoken audio of the answer, measured outside the app on the sound server (the
last sound on the microphone's sink to the first on the headphones' sink: tools.virtual_mic.Monitor), the app's own
figure (from the moment voice detection placed the end of speech to a sentence starting to play), the engine's first
token (transcription included), whether the question was heard right, and the event loop's stalls while it listens
and thinks, and while the answer is spoken. Then a barge-in: talking over a long answer, from the start of that
speech to the answer's silence on the headphones. Then push-to-talk with read-aloud on: the first questions said
while F8 is held, let go RELEASE_S after their speech ends; from the release to the first audio.

The breakdown (`stages_s` per question, `breakdown_median_s`) places each stage on the same clock, from the end of
the question's speech on the monitor: the last pause before the end (the rehearsal is asked), the rehearsal's
transcript and its last token, the endpoint (the utterance is over), the answer's first token, the first spoken piece
synthesized, the player started, and the first audio on the headphones.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


# (language, question, voice: models.training.data.speech_data's "engine:voice"): seven English ones from three
# synthesizers' voices that whisper-base hears (espeak-ng's en-us voices mishear about half of such questions:
# "spider-pound"), and a Korean one (espeak-ng's Korean is the only Korean voice here; whisper-base does not hear it as
# Korean).
QUESTIONS = [("en", "What is the capital of Japan?", "piper:joe"),
             ("en", "How many legs does a spider have?", "flite:slt"),
             ("en", "What is the largest ocean on Earth?", "piper:joe"),
             ("en", "Who wrote Romeo and Juliet?", "flite:slt"),
             ("en", "What is the boiling point of water?", "espeak:en-gb"),
             ("en", "How many days are in a week?", "piper:joe"),
             ("en", "Which planet is closest to the sun?", "flite:slt"),
             ("ko", "한국의 수도는 어디입니까?", "espeak:ko")]
PUSH_TO_TALK = 4  # the first questions asked again holding F8, with read-aloud on
RELEASE_S = 0.2  # how long after the end of their speech the key is let go
LONG = ("en", "Tell me about the history of Paris in detail.", "piper:joe")
INTERRUPT = ("en", "Stop. What is two plus two?", "flite:slt")


def speak(text: str, voice: str, out: Path) -> Path:
    """The question read by a voice into a 16 kHz WAV (models.training.data.speech_data's synthesizers, at their own
    pace)."""
    from assistant.media import to_wav
    from models.training.data.speech_data import Utterance, synthesize

    out.write_bytes(to_wav(synthesize(Utterance(text, voice, 1.0, 50, float("inf"), 0.0))))
    return out


def heard_right(asked: str, heard: str) -> bool:
    """Whether the transcript has the question's words (case, punctuation and "colour" spelling aside)."""
    words = lambda t: re.sub(r"[^\w\s]", " ", t.lower().replace("colour", "color")).split()  # noqa: E731
    return words(asked) == words(heard)


class Stages:
    """Marks (time.monotonic(), stage) of the voice chat's work, from the window's signals and the engine's events
    (Engine.respond wrapped; a rehearsal is a request with SamplingOptions.ahead)."""

    def __init__(self, window):
        self.marks: list[tuple[float, str]] = []
        mark = lambda stage: lambda *_: self.marks.append((time.monotonic(), stage))  # noqa: E731
        window.voice_chat.ears.pausing.connect(mark("pause"))
        window.voice_chat.ears.heard.connect(mark("endpoint"))
        window.reader.ready.connect(mark("first piece synthesized"))
        window.reader.player.started.connect(mark("player started"))
        window.voice_chat.hush.connect(lambda on: self.marks.append((time.monotonic(), "hush" if on else "go on")))
        window.voice_chat.interrupt.connect(mark("interrupt"))
        engine = window.worker.engine
        respond = engine.respond

        def traced(conversation, options, **kw):
            from assistant.conversation import Done, TokenDelta, Transcript

            prefix, first = "rehearsal " if options.ahead else "", True
            for event in respond(conversation, options, **kw):
                if isinstance(event, Transcript):
                    self.marks.append((time.monotonic(), prefix + "transcript"))
                elif isinstance(event, TokenDelta) and first:
                    first = False
                    self.marks.append((time.monotonic(), prefix + "first token"))
                elif isinstance(event, Done):
                    self.marks.append((time.monotonic(), prefix + "last token"))
                yield event

        engine.respond = traced

    def of(self, started: float, end_of_speech: float, first_audio: float) -> dict[str, float]:
        """Seconds from the end of speech to each stage of the question asked at `started`: the rehearsal that
        ran last before the endpoint and the answer's stages after it."""
        marks = [(t, stage) for t, stage in self.marks if started < t <= first_audio]
        endpoint = next((t for t, stage in marks if stage == "endpoint"), first_audio)
        pauses = [t for t, stage in marks if stage == "pause" and t < endpoint]
        out = {}
        for t, stage in marks:  # the last pause and the last rehearsal's marks; the answer's first of each
            last = stage == "pause" or stage.startswith("rehearsal")
            if stage.startswith("rehearsal") and (not pauses or t < pauses[-1]):
                continue  # an earlier rehearsal's, called off when speech resumed
            if last or stage not in out:
                out[stage] = round(t - end_of_speech, 3)
        return out


def main(argv: list[str] | None = None) -> int:
    """Run the voice chat on the bundled models and print the timings as JSON."""
    parser = argparse.ArgumentParser(prog="python -m tools.voice_chat_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--quantize", choices=("none", "int8"), default="none",
                        help="the engine's precision setting (with the llama.cpp LLM, int8 changes Whisper's decoder)")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="omni-voice-bench-"))
    os.environ["ASSISTANT_DATA_DIR"], os.environ["ASSISTANT_CONFIG_DIR"] = str(tmp / "data"), str(tmp / "config")
    from tools.virtual_mic import HEADPHONES, SINK, Monitor, VirtualMicrophone

    with VirtualMicrophone() as mic, Monitor(SINK) as spoken, Monitor(HEADPHONES) as played:  # before Qt's devices
        return _run(args, tmp, mic, spoken, played)


def _run(args, tmp: Path, mic, spoken, played) -> int:
    """spoken: the microphone's sink (what the user says), played: the headphones (what the app says)."""
    from tools.stall import StallMeter, report, wait_until
    from ui.app import build

    app, window = build([sys.argv[0]])
    window.settings = replace(window.settings, microphone=mic.device_id,
                              engine=replace(window.settings.engine, quantize=args.quantize))
    meter = StallMeter()
    window.show()
    window.load_models()

    def wait(condition, timeout=300):
        wait_until(app, condition, timeout)  # the times come from the monitors, not from this polling

    wait(lambda: window.ready or "Could not load" in window.status_text.text(), 900)
    if not window.ready:
        print(window.status_text.text(), file=sys.stderr)
        return 1
    clips = {text: speak(text, voice, tmp / f"q{i}.wav")  # made before the meter runs
             for i, (_, text, voice) in enumerate([*QUESTIONS, LONG, INTERRUPT])}

    window.composer.converse_button.click()
    stages = Stages(window)
    meter.start("listening and thinking")
    settled = time.monotonic() + 2  # the voice loads on its thread (warm) before the first question
    wait(lambda: time.monotonic() > settled)

    def ask(language: str, text: str, voice: str) -> tuple[float, float, dict]:
        """Say the question; (end of its speech to the answer's first audio, as the monitors heard them; the app's
        own figure; the stages in between)."""
        asked, counted = len(window.session.messages()), len(window.voice_chat.first_audio)
        started = time.monotonic()
        mic.play(clips[text])
        wait(lambda: len(window.voice_chat.first_audio) > counted and played.first_loud(started + 0.05), 300)
        first = played.first_loud(started + 0.05)
        meter.start(f"speaking ({language})")
        assert len(window.session.messages()) > asked
        end = spoken.last_loud(started, first)
        return first - end, window.voice_chat.first_audio[-1], {**stages.of(started, end, first),
                                                                 "first audio": round(first - end, 3)}

    results = []
    for language, text, voice in QUESTIONS:
        outside, inside, breakdown = ask(language, text, voice)
        wait(lambda: not window.busy and not window.speaking, 300)
        meter.start("listening and thinking")
        messages = window.session.messages()
        heard = messages[-2].meta.get("transcript", "")
        results.append({"language": language, "voice": voice, "asked": text, "heard": heard,
                        "heard_right": heard_right(text, heard), "answer": messages[-1].text[:80],
                        "first_token_s": round(messages[-1].meta["ttft_ms"] / 1000, 2),
                        "end_of_speech_to_first_audio_s": round(outside, 2),
                        "app_measured_s": round(inside, 2), "stages_s": breakdown})
        pause = time.monotonic() + 0.5
        wait(lambda: time.monotonic() > pause)

    # Barge-in: talk over a long answer while it is spoken; from the start of that speech to the answer's silence.
    ask(*LONG)
    spoken_for = time.monotonic() + 1
    wait(lambda: time.monotonic() > spoken_for)
    before = len(window.session.messages())
    started = time.monotonic()
    mic.play(clips[INTERRUPT[1]])
    wait(lambda: not window.speaking, 60)
    settle = time.monotonic() + 0.3  # what was already handed to the sound server still arrives
    wait(lambda: time.monotonic() > settle)
    talked = spoken.first_loud(started)
    barge_in = played.last_loud(started) - talked
    barge_in_stages = [(stage, round(t - talked, 3)) for t, stage in stages.marks
                       if t > started and stage in ("hush", "go on", "interrupt")]
    wait(lambda: len(window.session.messages()) > before and not window.busy, 300)
    meter.start("listening and thinking")

    # Push-to-talk (F8) with read-aloud on: held while the question is said, let go a moment after it ends.
    window.composer.converse_button.click()
    meter.start("changing settings")  # the open conversation is shown again in the new settings
    window.apply_settings(replace(window.settings, read_aloud=True))
    meter.start("push-to-talk")
    push_to_talk = []
    for language, text, voice in QUESTIONS[:PUSH_TO_TALK]:
        wait(lambda: not window.busy and not window.speaking, 300)
        pause = time.monotonic() + 0.5
        wait(lambda: time.monotonic() > pause)
        window.composer.start_recording()
        started = time.monotonic()
        playing = mic.play(clips[text])
        wait(lambda: playing.poll() is not None)
        ended = spoken.last_loud(started) or time.monotonic()
        wait(lambda: time.monotonic() > ended + RELEASE_S)
        released = time.monotonic()
        window.composer.stop_recording()
        wait(lambda: played.first_loud(released) is not None, 300)
        push_to_talk.append(round(played.first_loud(released) - released, 2))
    wait(lambda: not window.busy and not window.speaking, 300)

    latencies = [r["end_of_speech_to_first_audio_s"] for r in results if r["language"] == "en"]
    summary = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "llm": window.settings.engine.llm, "quantize": args.quantize, "questions": results,
        "median_end_of_speech_to_first_audio_s": round(statistics.median(latencies), 2),
        "heard_right": {language: f"{sum(r['heard_right'] for r in results if r['language'] == language)} of "
                              f"{sum(r['language'] == language for r in results)}" for language in ("en", "ko")},
        "breakdown_median_s": {stage: round(statistics.median(times), 2) for stage, times in
                               _by_stage([r["stages_s"] for r in results if r["language"] == "en"]).items()},
        "barge_in_speech_to_silence_s": round(barge_in, 2),
        "barge_in_stages_s": barge_in_stages,
        "push_to_talk_release_to_first_audio_s": push_to_talk,
        "median_push_to_talk_release_to_first_audio_s": statistics.median(push_to_talk),
        "stalls": meter.summary(),
    }
    return report(summary, args.json, window)


def _by_stage(breakdowns: list[dict[str, float]]) -> dict[str, list[float]]:
    """Each stage's times over the questions, the stages in the order they happen."""
    out: dict[str, list[float]] = {}
    for breakdown in breakdowns:
        for stage, t in breakdown.items():
            out.setdefault(stage, []).append(t)
    return dict(sorted(out.items(), key=lambda item: statistics.median(item[1])))


if __name__ == "__main__":
    raise SystemExit(main())
