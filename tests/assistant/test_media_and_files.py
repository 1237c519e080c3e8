"""Bad input gets a clear one-line error: images, audio and documents."""

import io
import shutil

import numpy as np
import pytest
from PIL import Image

from assistant.documents import Limits, read
from assistant.prompt import MAX_PROMPT_CHARS
from assistant.text_decoding import decode_text
from assistant.retrieval import quote_file
from assistant.media import UserInputError, load_audio, load_image
from tests.conftest import tone, wav_bytes


def png_bytes(size=(16, 16)) -> bytes:
    buf = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(noise).save(buf, "PNG")
    return buf.getvalue()


def test_image_loads_as_rgb(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes())
    assert load_image(tmp_path / "a.png").mode == "RGB"


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"not an image at all", "not an image"),
    (png_bytes((64, 64))[:2000], "corrupt"),
])
def test_bad_images(tmp_path, data, message):
    (tmp_path / "x.png").write_bytes(data)
    with pytest.raises(UserInputError, match=message) as e:
        load_image(tmp_path / "x.png")
    assert "\n" not in str(e.value) and "x.png" in str(e.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UserInputError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(UserInputError, match="directory"):
        load_audio(tmp_path)


def test_decompression_bomb_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr("assistant.media.MAX_IMAGE_PIXELS", 100)
    (tmp_path / "big.png").write_bytes(png_bytes((64, 64)))
    with pytest.raises(UserInputError, match="too large"):
        load_image(tmp_path / "big.png")


def test_wav_fast_path_reads_pcm16():
    audio = load_audio(wav_bytes(tone(0.5)))
    assert audio.dtype == np.float32 and len(audio) == 8000 and abs(audio).max() == pytest.approx(0.3, abs=1e-3)
    stereo = load_audio(wav_bytes(np.repeat(tone(0.5), 2), channels=2))
    assert len(stereo) == 8000


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is installed by the README's set-up")
def test_ffmpeg_resamples_other_rates_and_refuses_non_audio(tmp_path):
    audio = load_audio(wav_bytes(tone(1.0, rate=22050), rate=22050))
    assert abs(len(audio) - 16000) < 50
    (tmp_path / "fake.mp3").write_bytes(b"this is text, not audio" * 10)
    with pytest.raises(UserInputError, match="not a readable audio file"):
        load_audio(tmp_path / "fake.mp3")


def test_too_short_audio():
    with pytest.raises(UserInputError, match="shorter than 0.1 s"):
        load_audio(wav_bytes(tone(0.01)))


def test_text_encodings():
    assert decode_text("héllo".encode("utf-8"), "a") == "héllo"
    assert decode_text("héllo".encode("utf-16"), "a") == "héllo"
    assert decode_text("안녕하세요 반갑습니다".encode("cp949"), "a") == "안녕하세요 반갑습니다"
    with pytest.raises(UserInputError, match="binary"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "img.txt")


def test_documents_are_quoted_and_truncated(tmp_path):
    (tmp_path / "notes.txt").write_text("x" * (MAX_PROMPT_CHARS + 10))
    quoted, sources = quote_file(tmp_path / "notes.txt", "notes.txt", "", MAX_PROMPT_CHARS)
    assert quoted.startswith('<document name="notes.txt"') and "</document>" in quoted
    assert "truncated" in quoted and sources == ["notes.txt, lines 1-1"]


def test_huge_document_is_refused(tmp_path):
    (tmp_path / "big.txt").write_text("y" * 100)
    with pytest.raises(UserInputError, match="file limit"):
        read(tmp_path / "big.txt", Limits(max_bytes=10))
