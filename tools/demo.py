"""`python -m tools.demo`: a short tour of the engine on the bundled models: a text, an image (when an adapter
exists) and a voice question. Also the spoken question and the picture that the benchmark, load test, stall meter,
screenshots and tests ask about."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from assistant.cli import Parser, answer_once, run_command
from assistant.conversation import Message
from assistant.engine import Engine, EngineConfig
from assistant.media import UserInputError
from models.decoders.sampling import SamplingOptions
from models.flags import add_dataclass_flags, from_flags

# The spoken question of the demo, the tests, screenshots and load test. espeak-ng's "of France" is borderline for
# Whisper-base (stock whisper.transcribe hears "of friends"); this voice and question are heard right.
VOICE_QUESTION, VOICE, VOICE_SPEED, VOICE_ANSWER = "What is the capital of Japan?", "en-us+m3", 150, "Tokyo"


def synthesize(text: str, out: Path, voice: str = "en-us", speed: int = 140) -> Path:
    """Speak text to a WAV file with espeak-ng (used by the demo, the benchmark and the tests)."""
    if shutil.which("espeak-ng") is None:
        raise UserInputError("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text], check=True)
    return out


def spoken_question(out: Path) -> Path:
    """VOICE_QUESTION spoken to a WAV file."""
    return synthesize(VOICE_QUESTION, out, VOICE, VOICE_SPEED)


def sample_image(out: Path) -> Path:
    """A small picture drawn with Pillow: a red circle on a white background."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (224, 224), "white")
    ImageDraw.Draw(img).ellipse((40, 40, 184, 184), fill="red")
    img.save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Ask three questions and stream the answers; user errors print one line, as the product CLI does."""
    parser = Parser(prog="python -m tools.demo",
                    description="a short tour: a text, an image (if an adapter exists) and a voice question")
    add_dataclass_flags(parser, EngineConfig)
    args = parser.parse_args(argv)
    return run_command(lambda: _tour(Engine(from_flags(EngineConfig, args), progress=_progress)))


def _progress(stage: str) -> None:
    print(f"[{stage}]", file=sys.stderr)


def _tour(engine: Engine) -> int:
    """The three questions on a built engine."""
    opts = SamplingOptions(temperature=0, max_new_tokens=160)
    engine.preload(speech=True, vision=engine.has_adapter("image"))
    with tempfile.TemporaryDirectory() as tmp:
        questions = [("Text", Message.user("Give me three tips for staying focused while studying."), "cascade")]
        if engine.has_adapter("image"):
            questions.append(("Image", Message.user("What is in this picture?", [sample_image(Path(tmp) / "c.png")]),
                              "cascade"))
        else:
            print("(image question skipped: no image adapter is installed yet)")
        wav = spoken_question(Path(tmp) / "question.wav")
        questions.append(("Voice (cascade: Whisper, then the LLM)", Message.user(audio=wav), "cascade"))
        if engine.has_adapter("speech"):  # the speech adapter is shipped but not yet the default (docs/EVALUATION.md)
            questions.append(("Voice (native: speech adapter)", Message.user(audio=wav), "native"))
        for label, message, mode in questions:
            print(f"\n== {label} question: {message.text or '(spoken) ' + VOICE_QUESTION}")
            result = answer_once(engine, message, opts, mode, sys.stdout)
            if result["transcript"] is not None:
                print(f"\n   heard: {result['transcript']}")
            print(f"\n   [{result['ttft_ms']:.0f} ms to first token, {result['tokens_per_s']} tokens/s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
