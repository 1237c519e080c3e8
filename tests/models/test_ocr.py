"""Text in images: the cheap check for text, the crop it reads, the reading order of words, and Tesseract itself."""

import io

import numpy as np
import pytest
from PIL import Image

from models.encoders import ocr
from models.encoders.ocr import _HANGUL, Reader, TextArea, Word, find_text, layout, prepare
from tests.conftest import needs_tesseract, tesseract_installed
from tools.screenshot_set import HD, WINDOW, Shot


# A screenshot no evaluation holds: a planted sentence, a table and a button row in a window on a desktop.
PLANTED = Shot("planted", "test", "en", HD, ("The parcel code is QX-7315 for dock nine.",
                                            ("Item", "Count"), ("bolts", "240"), ("washers", "75"),
                                            ("Cancel", "Retry")), "", ())


def gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def w(text, left, top, right, bottom, confidence=0.9):
    return Word(text, left, top, right, bottom, confidence)


# ---- reading order -------------------------------------------------------------------------------------------
def test_words_become_rows_in_reading_order_with_cells_kept_apart():
    words = [w("143", 200, 52, 240, 70), w("Q3", 10, 50, 40, 70), w("Revenue", 200, 10, 300, 30),
             w("Quarter", 10, 10, 90, 30), w("of", 46, 52, 60, 70)]
    assert layout(words) == ["Quarter | Revenue", "Q3 of | 143"]


def test_a_word_set_a_little_lower_stays_on_its_row():
    assert layout([w("total", 0, 10, 50, 30), w("due", 60, 16, 90, 34)]) == ["total due"]


def test_hangul_pieces_set_close_are_one_word_and_latin_ones_are_not():
    row = [w("없습", 0, 0, 40, 20), w("니다", 44, 0, 80, 20), w("12", 100, 0, 120, 20), w("월", 122, 0, 140, 20),
           w("ab", 200, 0, 220, 20), w("cd", 223, 0, 243, 20)]
    assert layout(row) == ["없습니다 12월 | ab cd"]


def test_an_oddly_tall_box_does_not_stretch_a_rows_gaps():
    """Tesseract boxes some Hangul twice a row's height: the row's gaps are judged by its usual height."""
    row = [w("디스크", 0, 0, 60, 20), w("공간이", 70, 0, 130, 60), w("부족", 140, 0, 180, 20)]
    assert layout(row) == ["디스크 공간이 부족"]


def test_an_underscore_between_two_words_joins_them_and_a_space_does_not():
    """Tesseract reads a monospace "database_port" as two words: the gap's foot is inked across, a space's is not."""
    crop = np.full((40, 200), 255, np.uint8)
    crop[10:30, 10:60] = crop[10:30, 70:120] = crop[10:30, 130:180] = 0  # three "words", gaps alike
    crop[29:31, 58:72] = 0  # an underscore under the first gap
    words = [w("database", 10, 10, 60, 30), w("port", 70, 10, 120, 30), w("open", 130, 10, 180, 30)]
    assert [x.text for x in ocr.join_underscores(crop, words)] == ["database_port", "open"]


# ---- is there text, and where -------------------------------------------------------------------------------
def test_text_in_a_screenshot_is_found_and_cropped_around():
    image = PLANTED.image()
    area = find_text(gray(image))
    assert area is not None and 10 <= area.row_height <= 20
    # the window's text lies inside the crop, and the crop is a small part of the desktop
    panel = 40  # the desktop's dark top bar is not text
    box = Image.fromarray(gray(image)[panel:]).point(lambda v: 255 * (v < 60)).getbbox()  # the dark text's extent
    box = (box[0], box[1] + panel, box[2], box[3] + panel)
    assert area.left <= box[0] and area.top <= box[1] and area.right >= box[2] and area.bottom >= box[3]
    assert (area.right - area.left) * (area.bottom - area.top) < 0.2 * HD[0] * HD[1]


@pytest.mark.parametrize("text", ["배송 번호는 4417 입니다", "Disk almost full"])
def test_a_large_font_alone_is_found_where_its_letters_stand_apart(text):
    """At 20 px Hangul's syllables (and large Latin letters) do not close into words at the first scale."""
    shot = Shot("big", "test", "ko", WINDOW, (text,), "", (), px=20 if _HANGUL.search(text) else 40)
    assert find_text(gray(shot.image())) is not None


@pytest.mark.parametrize("picture", ["flat", "noise", "gradient", "texture", "tiny"])
def test_pictures_without_readable_text_are_not_read(picture):
    rng = np.random.default_rng(0)
    if picture == "flat":
        pixels = np.full((600, 800), 200, np.uint8)
    elif picture == "noise":
        pixels = rng.integers(0, 256, (600, 800)).astype(np.uint8)
    elif picture == "gradient":
        pixels = np.tile(np.linspace(0, 255, 800), (600, 1)).astype(np.uint8)
    elif picture == "texture":  # a photograph's smooth shading and grain
        from scipy import ndimage
        pixels = np.clip(ndimage.gaussian_filter(rng.normal(128, 60, (600, 800)), 3) * 4 - 384, 0, 255)
        pixels = (pixels + rng.normal(0, 4, pixels.shape)).clip(0, 255).astype(np.uint8)
    else:  # text too small to read: a thumbnail of a page
        pixels = gray(Shot("tiny", "test", "en", WINDOW, ("some words " * 8,) * 6, "", (), px=5).image())
    assert find_text(pixels) is None


def test_a_dark_theme_is_turned_dark_on_light_and_scaled_to_the_readers_height():
    pixels = np.full((100, 400), 20, np.uint8)
    pixels[40:52, 20:300:3] = 230  # light strokes on a dark ground
    crop, scale = prepare(pixels, TextArea(10, 30, 310, 62, 12.0))
    assert scale == pytest.approx(ocr.TARGET_HEIGHT / 12.0)
    assert crop.shape == (round(32 * scale), round(300 * scale)) and np.median(crop) > 200


def test_a_huge_crop_is_scaled_within_the_pixel_bound():
    crop, scale = prepare(np.full((4000, 6000), 255, np.uint8), TextArea(0, 0, 6000, 4000, 10.0))
    assert crop.size <= ocr.MAX_PIXELS * 1.01 and scale < 1


# ---- the reader ---------------------------------------------------------------------------------------------
class FakeEngine:
    def __init__(self, words):
        self.words_out, self.calls = words, 0

    def words(self, pixels, expected=0):
        self.calls += 1
        return self.words_out


def reader_with(engine) -> Reader:
    reader = Reader("tesseract")
    reader._engine = engine
    return reader


def test_the_reader_keeps_words_it_can_use_and_drops_marks():
    engine = FakeEngine([w("Invoice", 0, 0, 70, 20), w("4821", 80, 0, 120, 20, 0.2),  # unsure, but digits
                         w("~", 0, 40, 10, 60, 0.3), w("—", 20, 40, 30, 60, 0.9), w("a", 40, 40, 48, 60)])
    assert reader_with(engine).read(PLANTED.image()) == ["Invoice 4821"]  # "— a": no two letters in a row


def test_a_picture_without_text_never_reaches_the_engine():
    engine = FakeEngine([w("noise", 0, 0, 50, 20)])
    assert reader_with(engine).read(Image.new("RGB", (640, 480), (90, 140, 60))) == [] and engine.calls == 0


def test_an_unknown_engine_is_refused():
    for make in (ocr.load_engine, Reader):
        with pytest.raises(ValueError, match="tesseract"):
            make("paddle")


def test_a_photo_alone_never_loads_an_engine(monkeypatch):
    monkeypatch.setattr(ocr, "load_engine", lambda *a: pytest.fail("loaded an engine for a photo"))
    assert Reader("easyocr").read(Image.new("RGB", (640, 480), (90, 140, 60))) == []


@needs_tesseract
def test_tesseract_reads_a_planted_screenshot_with_its_rows_and_cells():
    lines = Reader("tesseract")(PLANTED.png())
    assert lines[0] == "The parcel code is QX-7315 for dock nine."
    assert lines[1:] == ["Item | Count", "bolts | 240", "washers | 75", "Cancel | Retry"]


@needs_tesseract
@pytest.mark.skipif(not tesseract_installed("kor"), reason="tesseract-ocr-kor is not installed")
def test_tesseract_reads_korean_in_its_second_pass():
    shot = Shot("ko", "test", "ko", WINDOW, ("배송 번호는 4417 입니다",), "", (), px=20)
    (line,) = Reader("tesseract").read(shot.image())
    assert "4417" in line and "배송" in line


@needs_tesseract
def test_a_worker_that_died_is_started_again():
    reader = Reader("tesseract")
    assert reader(PLANTED.png())
    reader.engine.process.kill()
    reader.engine.process.wait()
    assert reader(PLANTED.png())[0].startswith("The parcel code")


@needs_tesseract
def test_hostile_pictures_read_as_nothing_or_fail_cleanly():
    reader = Reader("tesseract")
    assert reader.read(Image.new("L", (1, 1))) == [] and reader.read(Image.new("RGB", (3, 20000))) == []
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "PNG")
    with pytest.raises(Exception):
        reader(buf.getvalue()[:30])  # a truncated PNG: PIL's error, which the engine reports in one line


def test_unsure_words_are_read_again_alone_and_kept_only_when_now_sure():
    """The second look replaces "23€" (0.69 among its neighbours) by "23C" read alone at 0.90, and keeps "Serial"
    when alone it reads "Senial" at 0.72 (surer than before, still unsure); the re-read sees the box alone."""
    class Worker(ocr.Tesseract):
        def __init__(self):
            self.passes, self.seen = ("eng",), []

        def _words(self, gray, which, mode):
            if mode != ocr.LINE:
                return [w("Seat", 0, 0, 40, 20, 0.97), w("23€", 50, 0, 80, 20, 0.69), w("Serial", 90, 0, 140, 20, 0.62)]
            self.seen.append(gray.shape)
            return [w("23C", 4, 4, 34, 24, 0.90)] if len(self.seen) == 2 else [w("Senial", 4, 4, 54, 24, 0.72)]

    worker = Worker()
    assert [x.text for x in worker.words(np.full((20, 150), 255, np.uint8))] == ["Seat", "23C", "Serial"]
    assert worker.seen == [(32, 62), (32, 42)]  # each box alone on a margin of a third of its height (min 4 px)
