"""Readers for dropped files: text, Markdown, code, CSV/TSV, JSON, PDF, DOCX, XLSX, images (OCR) and audio.

Every reader returns a Document: segments of text that each know where they came from ("page 3", "rows 2-51",
"lines 40-79"), plus, for tables, statistics computed here by code so the LLM never has to guess them. Bad input
(corrupt, encrypted, empty, truncated, mislabelled, enormous, deeply nested) raises UserInputError with one line.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.text_decoding import decode_text
from assistant.media import UserInputError, read_bytes
from models.encoders.ocr import CELL


@dataclass(frozen=True)
class Limits:
    """What a reader accepts; the app's settings set the first two."""

    max_bytes: int = 20 * 1024 * 1024
    max_pages: int = 300
    max_rows: int = 200_000
    max_json_depth: int = 64
    max_chars: int = 20 * 1024 * 1024  # text up to the file limit is read (retrieval's work is bounded)
    max_zip_ratio: int = 200  # uncompressed / compressed size of an Office file (zip bombs)


@dataclass(frozen=True)
class Segment:
    """A piece of a document and where it is."""

    text: str
    where: str  # "page 3", "lines 1-40", "rows 2-51", "sheet Sales rows 2-51", "paragraphs 1-12", ...


@dataclass(frozen=True)
class Table:
    """A table's cells as read (for the table-query step: assistant.table_query)."""

    label: str  # "sales.csv", "book.xlsx, sheet Sales"
    header: list[str]
    rows: list[list[str]]
    sums: tuple[str, ...] = ()  # a picture table's rows that sum up the others, as read ("TOTAL | 11.64")


@dataclass
class Document:
    """What a reader made of a file."""

    name: str
    kind: str  # text | markdown | code | table | json | pdf | docx | image | audio
    segments: list[Segment] = field(default_factory=list)
    language: str = ""  # source code language
    facts: str = ""  # statistics computed by code (tables)
    tables: list[Table] = field(default_factory=list)  # tables: their cells, one per sheet

    @property
    def text(self) -> str:
        """All segments joined."""
        return "\n".join(s.text for s in self.segments)


CODE_LANGUAGES = {
    ".py": "python", ".js": "javascript", ".mjs": "javascript", ".ts": "typescript", ".tsx": "tsx", ".jsx": "jsx",
    ".java": "java", ".kt": "kotlin", ".c": "c", ".h": "c", ".cpp": "cpp", ".cc": "cpp", ".hpp": "cpp",
    ".cs": "csharp", ".go": "go", ".rs": "rust", ".rb": "ruby", ".php": "php", ".swift": "swift", ".scala": "scala",
    ".sh": "bash", ".bash": "bash", ".ps1": "powershell", ".sql": "sql", ".r": "r", ".lua": "lua", ".pl": "perl",
    ".html": "html", ".css": "css", ".scss": "scss", ".xml": "xml", ".yaml": "yaml", ".yml": "yaml",
    ".toml": "toml", ".ini": "ini", ".dockerfile": "docker", ".m": "matlab", ".dart": "dart", ".hs": "haskell",
}
TEXT_SUFFIXES = {".txt", ".text", ".log", ".rst", ".cfg", ".conf", ""}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
AUDIO_SUFFIXES = {".wav", ".mp3", ".m4a", ".ogg", ".flac", ".opus", ".aac", ".webm"}
_MAGIC = [(b"%PDF", "a PDF"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
          (b"PK\x03\x04", "a ZIP archive (or Office file)"), (b"RIFF", "a RIFF (WAV/WebP) file"), (b"ID3", "an MP3 file"),
          (b"OggS", "an Ogg file"), (b"fLaC", "a FLAC file"), (b"\x1f\x8b", "a gzip archive"), (b"BM", "a BMP image"),
          (b"\x7fELF", "a program"), (b"MZ", "a Windows program")]
LINES_PER_SEGMENT = 40
ROWS_PER_SEGMENT = 50
# Statistics go into the prompt whole, so they are bounded: a 100,000-column CSV once gave 2.9 M prompt tokens.
FACT_COLUMNS = 40
FACT_LINE = 240


def looks_like(data: bytes) -> str:
    """What the first bytes say the file is ("" when they say nothing)."""
    return next((what for magic, what in _MAGIC if data.startswith(magic)), "")


_EXPECTED = {"pdf": "a PDF", "docx": "a ZIP", "xlsx": "a ZIP"}  # what the first bytes of these kinds must say


def mislabelled(kind: str, head: bytes) -> bool:
    """Whether a file's first bytes contradict the reader its name asks for (a text file that is a program, a
    .pdf that is not a PDF). Cheap: front ends check it when a file is attached, read() before reading."""
    seen = looks_like(head)
    if kind in _EXPECTED:
        return not seen.startswith(_EXPECTED[kind])
    return kind in ("text", "markdown", "code", "table", "json") and bool(seen) and not seen.startswith("a RIFF")


def attachable() -> dict[str, set[str]]:
    """File name suffixes by what an attachment is read as: images, audio, and documents (every reader's)."""
    documents = {".csv", ".tsv", ".json", ".pdf", ".docx", ".xlsx"} | MARKDOWN_SUFFIXES | set(CODE_LANGUAGES)
    return {"images": IMAGE_SUFFIXES, "audio": AUDIO_SUFFIXES, "documents": documents | (TEXT_SUFFIXES - {""})}


def kind_for(path: Path) -> str:
    """The reader a file name asks for."""
    s = path.suffix.lower()
    if s in (".csv", ".tsv"):
        return "table"
    if s == ".json":
        return "json"
    if s in (".pdf", ".docx", ".xlsx"):
        return s[1:]
    if s in IMAGE_SUFFIXES:
        return "image"
    if s in AUDIO_SUFFIXES:
        return "audio"
    if s in CODE_LANGUAGES:
        return "code"
    if s in MARKDOWN_SUFFIXES:
        return "markdown"
    return "text"


def read(path: Path, limits: Limits = Limits(), ocr: Callable[[bytes], list[str]] | None = None,
         transcribe: Callable[[bytes], str] | None = None, data: bytes | None = None, name: str = "") -> Document:
    """Read any supported file. `ocr(image bytes)` and `transcribe(audio bytes)` come from the engine; `data` is
    the file's content when the caller has already read it; `name` is the user's name for it (what errors and
    citations say: a stored copy may be named by its hash), else the file's own."""
    path = Path(path)
    name = name or path.name
    if data is None:
        if path.is_file() and path.stat().st_size > limits.max_bytes:
            raise UserInputError(f"{name}: {path.stat().st_size / 1e6:.1f} MB is over the "
                                 f"{limits.max_bytes / 1e6:.0f} MB file limit")
        data = read_bytes(path)
    if len(data) > limits.max_bytes:
        raise UserInputError(f"{name}: over the {limits.max_bytes / 1e6:.0f} MB file limit")
    kind = kind_for(path)
    seen = looks_like(data)
    if mislabelled(kind, data):
        if kind in _EXPECTED:
            raise UserInputError(f"{name} is not {_EXPECTED[kind].replace('a ZIP', 'an Office file')}"
                                 + (f" (it looks like {seen})" if seen else ""))
        raise UserInputError(f"{name}: this is {seen}, not a text file")
    readers = {"text": _read_text, "markdown": _read_text, "code": _read_text, "table": _read_table,
               "json": _read_json, "pdf": _read_pdf, "docx": _read_docx, "xlsx": _read_xlsx}
    if kind == "image":
        doc = _read_image(name, data, ocr)
    elif kind == "audio":
        doc = _read_audio(name, data, transcribe)
    else:
        doc = readers[kind](name, data, limits)
    doc.kind = doc.kind or kind
    if kind == "code":
        doc.language = CODE_LANGUAGES[path.suffix.lower()]
    if not doc.segments or not any(s.text.strip() for s in doc.segments):
        raise UserInputError(f"{name}: no text found" + (" (a scanned PDF needs OCR)" if kind == "pdf" else ""))
    return doc


# ---- text-like ----------------------------------------------------------------------------------------------
def _line_segments(text: str, label: str = "lines") -> list[Segment]:
    lines = text.splitlines()
    return [Segment("\n".join(lines[i : i + LINES_PER_SEGMENT]), f"{label} {i + 1}-{min(len(lines), i + LINES_PER_SEGMENT)}")
            for i in range(0, len(lines), LINES_PER_SEGMENT)]


def _decode(name: str, data: bytes, limits: Limits) -> str:
    text = decode_text(data, name)
    if len(text) > limits.max_chars:
        raise UserInputError(f"{name}: {len(text):,} characters is more than the {limits.max_chars:,} this app reads")
    return text


def _read_text(name: str, data: bytes, limits: Limits) -> Document:
    return Document(name, "", _line_segments(_decode(name, data, limits)))


def _read_json(name: str, data: bytes, limits: Limits) -> Document:
    text = _decode(name, data, limits)
    depth = max_depth = 0
    in_string = escaped = False
    for ch in text:  # bracket depth outside strings, before parsing (deep nesting would exhaust the stack)
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            max_depth = max(max_depth, depth)
        elif ch in "]}":
            depth -= 1
    if max_depth > limits.max_json_depth:
        raise UserInputError(f"{name}: JSON nested {max_depth} levels deep (the limit is {limits.max_json_depth})")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:  # ValueError also covers Python's limit on an integer's digits
        raise UserInputError(f"{name}: not valid JSON ({str(e).split(';')[0]})") from None
    doc = Document(name, "json", _line_segments(json.dumps(value, indent=2, ensure_ascii=False)))
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(k for v in value for k in v))
        rows = [[_cell(v.get(c)) for c in columns] for v in value]
        doc.facts = table_facts(name, columns, rows)
    return doc


def _cell(v) -> str:
    return "" if v is None else json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)


# ---- tables -------------------------------------------------------------------------------------------------
def number(s: str) -> float | None:
    t = s.strip().replace(",", "")
    if not t or len(t) > 40:
        return None
    try:
        x = float(t)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$")


GROUP_MAX = 12  # a text column with at most this many distinct values (each repeated or not) groups the numbers


def padded(rows: list[list[str]], width: int) -> list[list[str]]:
    """Every row as `width` stripped cells ("" where a row is short or a cell is None)."""
    return [[r[j].strip() if j < len(r) and r[j] is not None else "" for j in range(width)] for r in rows]


def is_numeric(values: list[str]) -> bool:
    """Whether a column holds numbers: some value, and every non-empty one a number."""
    return any(values) and all(number(v) is not None for v in values if v)


def table_facts(label: str, header: list[str], rows: list[list[str]]) -> str:
    """Exact statistics of a table: size; per column its type, missing values, and min/max/mean/total (with the row
    each extreme is in, named by the first text column) or top values; and each numeric column's totals by each
    category column (a text column of at most GROUP_MAX distinct values that repeat), largest first, so "which
    month had the highest revenue" is read, not added up by the model. At most FACT_COLUMNS columns are described;
    each line is at most FACT_LINE characters."""
    width = len(header)
    lines = [f"Table {label}: {len(rows)} data rows x {width} columns (computed exactly, not estimated)."]
    columns = [list(c) for c in zip(*padded(rows, width))] if rows else [[] for _ in range(width)]
    numeric = [j for j, values in enumerate(columns) if is_numeric(values)]
    text = [j for j in range(width) if j not in numeric and any(columns[j])
            and not all(_DATE.match(v) for v in columns[j] if v)]
    key = text[0] if text else None  # names a row: its first text column
    names = [col or f"column {j + 1}" for j, col in enumerate(header)]

    def where(j: int, value: float) -> str:
        if key is None:
            return ""
        hits = [columns[key][i] for i, v in enumerate(columns[j]) if v and number(v) == value]
        return f" ({names[key]} {', '.join(dict.fromkeys(hits))})" if 0 < len(set(hits)) <= 3 else ""

    for g in text[:FACT_COLUMNS]:
        groups = list(dict.fromkeys(v for v in columns[g] if v))
        if not 2 <= len(groups) <= GROUP_MAX or len(groups) == len([v for v in columns[g] if v]):
            continue  # one group, too many, or every row its own: nothing to total
        for j in numeric[:FACT_COLUMNS]:
            sums = {name: math.fsum(number(v) for v, c in zip(columns[j], columns[g]) if c == name and v)
                    for name in groups}
            ranked = sorted(sums.items(), key=lambda kv: -kv[1])
            (top, high), (bottom, low) = ranked[0], ranked[-1]
            lines.append(f"- {names[j]} summed per {names[g]}: highest {top} ({format_number(high)}), "
                         f"lowest {bottom} ({format_number(low)}); each: "
                         + ", ".join(f"{name} {format_number(total)}" for name, total in ranked))
    for j in range(min(width, FACT_COLUMNS)):
        values = columns[j]
        present = [v for v in values if v]
        missing = len(values) - len(present)
        if j in numeric:
            numbers = [number(v) for v in present]
            kind = "integer" if all(n.is_integer() for n in numbers) else "number"
            low, high = min(numbers), max(numbers)
            lines.append(f"- {names[j]}: {kind}, {missing} missing, smallest {format_number(low)}{where(j, low)}, "
                         f"largest {format_number(high)}{where(j, high)}, "
                         f"average {format_number(statistics.fmean(numbers))}, "
                         f"total {format_number(math.fsum(numbers))}")
        elif present and all(_DATE.match(v) for v in present):
            lines.append(f"- {names[j]}: date, {missing} missing, earliest {min(present)}, latest {max(present)}")
        else:
            counts: dict[str, int] = {}
            for v in present:
                counts[v] = counts.get(v, 0) + 1
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            lines.append(f"- {names[j]}: text, {missing} missing, {len(counts)} distinct"
                         + (", most common " + ", ".join(f"{v!r} ({n})" for v, n in top) if top else ""))
    if width > FACT_COLUMNS:
        lines.append(f"- ({width - FACT_COLUMNS:,} more columns are not described)")
    return "\n".join(line if len(line) <= FACT_LINE else line[: FACT_LINE - 3] + "..." for line in lines)


def format_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:.4g}"


def _row_segments(header: list[str], rows: list[list[str]], label: str = "") -> list[Segment]:
    out = []
    head = ",".join(header)
    for i in range(0, len(rows), ROWS_PER_SEGMENT):
        chunk = rows[i : i + ROWS_PER_SEGMENT]
        body = "\n".join(",".join(str(c) for c in r) for r in chunk)
        out.append(Segment(f"{head}\n{body}", f"{label}rows {i + 2}-{i + 1 + len(chunk)}"))  # row 1 is the header
    return out


def _read_table(name: str, data: bytes, limits: Limits) -> Document:
    text = _decode(name, data, limits)
    delimiter = "\t" if name.lower().endswith(".tsv") else ","
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
    except csv.Error:
        pass
    try:
        rows = []
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            rows.append(row)
            if len(rows) > limits.max_rows + 1:
                raise UserInputError(f"{name}: more than {limits.max_rows:,} rows")
    except csv.Error as e:
        raise UserInputError(f"{name}: not a readable table ({e})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise UserInputError(f"{name}: the table is empty")
    header, body = rows[0], rows[1:]
    return Document(name, "table", _row_segments(header, body), facts=table_facts(name, header, body),
                    tables=[Table(name, header, body)])


# ---- office and PDF -----------------------------------------------------------------------------------------
def _check_zip(name: str, data: bytes, limits: Limits, member: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
            total = sum(i.file_size for i in z.infolist())
    # NotImplementedError: a ZIP version or compression zipfile does not know (a damaged header can claim one)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as e:
        raise UserInputError(f"{name}: damaged or truncated file ({e})") from None
    if member not in names:
        raise UserInputError(f"{name}: a ZIP file, but not a {name.rsplit('.', 1)[-1].upper()} document")
    if total > max(len(data), 1) * limits.max_zip_ratio or total > 20 * limits.max_bytes:
        raise UserInputError(f"{name}: unpacks to {total / 1e6:.0f} MB, too large to read safely")


def _read_pdf(name: str, data: bytes, limits: Limits) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UserInputError(f"{name}: the PDF is encrypted with a password")
        pages = reader.pages
        if len(pages) > limits.max_pages:
            raise UserInputError(f"{name}: {len(pages)} pages is over the {limits.max_pages}-page limit")
        segments = []
        for i, page in enumerate(pages, 1):
            text = page.extract_text() or ""
            if text.strip():
                segments.append(Segment(text.strip(), f"page {i}"))
    except UserInputError:
        raise
    except LimitReachedError:  # pypdf's guard against decompression bombs; not a PdfReadError
        raise UserInputError(f"{name}: a compressed part of the PDF unpacks past the safe size limit") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError,
            AssertionError, ZeroDivisionError, NotImplementedError) as e:
        raise UserInputError(f"{name}: damaged or unreadable PDF ({type(e).__name__})") from None
    return Document(name, "pdf", segments)


def _read_docx(name: str, data: bytes, limits: Limits) -> Document:
    import docx

    _check_zip(name, data, limits, "word/document.xml")
    try:
        d = docx.Document(io.BytesIO(data))
        paragraphs = [p.text for p in d.paragraphs if p.text.strip()]
        for t, table in enumerate(d.tables, 1):
            rows = [[c.text.strip() for c in row.cells] for row in table.rows]
            if rows:
                paragraphs.append(f"[table {t}]\n" + "\n".join(" | ".join(r) for r in rows))
    except Exception as e:  # python-docx raises many kinds on damaged XML
        raise UserInputError(f"{name}: damaged or unreadable DOCX ({type(e).__name__})") from None
    step = 12
    return Document(name, "docx", [Segment("\n".join(paragraphs[i : i + step]),
                                           f"paragraphs {i + 1}-{min(len(paragraphs), i + step)}")
                                   for i in range(0, len(paragraphs), step)])


def _read_xlsx(name: str, data: bytes, limits: Limits) -> Document:
    import openpyxl

    _check_zip(name, data, limits, "xl/workbook.xml")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        segments, facts, tables = [], [], []
        for sheet in book.worksheets:
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append(["" if v is None else str(v) for v in row])
                if len(rows) > limits.max_rows + 1:
                    raise UserInputError(f"{name}: sheet {sheet.title} has more than {limits.max_rows:,} rows")
            rows = [r for r in rows if any(c.strip() for c in r)]
            if rows:
                segments += _row_segments(rows[0], rows[1:], f"sheet {sheet.title} ")
                facts.append(table_facts(f"{name} / sheet {sheet.title}", rows[0], rows[1:]))
                tables.append(Table(f"{name}, sheet {sheet.title}", rows[0], rows[1:]))  # cited as its rows are
        book.close()
    except UserInputError:
        raise
    except Exception as e:  # openpyxl raises many kinds on damaged files
        raise UserInputError(f"{name}: damaged or unreadable XLSX ({type(e).__name__})") from None
    return Document(name, "table", segments, facts="\n".join(facts), tables=tables)


# ---- media --------------------------------------------------------------------------------------------------
def _read_image(name: str, data: bytes, ocr) -> Document:
    from assistant.media import load_image

    load_image(data)  # refuses corrupt images and decompression bombs with one line
    return picture_document(name, ocr(data) if ocr is not None else []) or Document(
        name, "image", [Segment("(no printed text found in the image)", PICTURE_TEXT)])


PICTURE_TEXT = "text in the image"  # where a picture's text is cited from
PICTURE = "the picture"  # a picture without a name, where its text is quoted or its table cited


def picture_document(name: str, lines: list[str], statistics: bool = True) -> Document | None:
    """The text read from a picture, lines in reading order, as a document to quote, with the tables it shows (a
    receipt, a pasted spreadsheet: picture_tables) and, with `statistics`, their statistics; None when it shows
    none."""
    if not lines:
        return None
    tables = picture_tables(name, lines)
    facts = [table_facts(t.label, t.header, t.rows) + (f"\n- rows that sum up the others, left out of the figures "
                                                       f"above: {'; '.join(t.sums)}" if t.sums else "")
             for t in tables if statistics]
    return Document(name, "image", [Segment("\n".join(lines), PICTURE_TEXT)], tables=tables, facts="\n".join(facts))


# A row that sums up the others (a bill's total, tax, tip, change): kept out of a picture table's rows, or the
# "dearest item" would be the total and every sum would count the items twice.
_SUMMARY = re.compile(r"(sub\s*-?\s*total|grand total|total|tax|vat|gst|tip|gratuity|service charge|discount|change|"
                      r"cash|card|balance|amount due|due|paid|합계|총액|총합계|소계|부가세|세금|봉사료|할인|거스름돈|"
                      r"받은\s*금액|결제\s*금액)(\W|$)", re.I)
_MONEY = re.compile(r"^(-)?\s*[$€£¥₩]?\s*(-)?([\d,]*\.?\d+)\s*(원|円|%|[$€£¥₩])?$")


def picture_tables(name: str, lines: list[str]) -> list[Table]:
    """The tables in a picture's text: runs of lines with the same number (two or more) of OCR cells whose columns
    of numbers stay numbers, with at least two rows. A first line without numbers is the header; amounts lose their
    currency sign ("$9", "2,800원" are 9 and 2800) and rows that sum up the others (_SUMMARY) are left out."""
    rows = [[_amount(c) for c in line.split(CELL)] for line in lines]
    read = [[c.strip() for c in line.split(CELL)] for line in lines]
    found, i = [], 0
    while i < len(rows):
        width = len(rows[i])
        head = i + 1 < len(rows) and len(rows[i + 1]) == width and all(number(c) is None for c in rows[i])
        first = i + 1 if head else i
        numeric = [j for j in range(width) if first < len(rows) and len(rows[first]) == width
                   and number(rows[first][j]) is not None]
        end = first
        while end < len(rows) and len(rows[end]) == width and all(number(rows[end][j]) is not None for j in numeric):
            end += 1
        summing = {k for k in range(first, end) if _SUMMARY.match(read[k][0])}
        body = [rows[k] for k in range(first, end) if k not in summing]
        if width >= 2 and numeric and len(body) >= 2:
            sums = tuple(" ".join(read[k]) for k in sorted(summing))
            found.append((read[i] if head else _unnamed(width, numeric), body, sums))
        i = max(end, i + 1)
    labels = [name] if len(found) == 1 else [f"{name}, table {i}" for i in range(1, len(found) + 1)]
    return [Table(label, *table) for label, table in zip(labels, found)]


def _unnamed(width: int, numeric: list[int]) -> list[str]:
    """Names for a header-less picture table's columns, as a bill's are: the first text column "item", the numbers
    "amount" ("amount 1", "amount 2", ... when several), the rest by their place."""
    text = [j for j in range(width) if j not in numeric]
    return [("item" if text and j == text[0] else f"column {j + 1}") if j not in numeric
            else "amount" if len(numeric) == 1 else f"amount {numeric.index(j) + 1}" for j in range(width)]


def _amount(cell: str) -> str:
    """A cell as a plain number when it is an amount ("$1,275.00" -> "1275.00", "-€4" -> "-4"), else as read."""
    cell = cell.strip()
    m = _MONEY.match(cell)
    if m is None or number(m.group(3)) is None:
        return cell
    return ("-" if m.group(1) or m.group(2) else "") + m.group(3).replace(",", "")


def _read_audio(name: str, data: bytes, transcribe) -> Document:
    if transcribe is None:
        raise UserInputError(f"{name}: audio files need the speech model")
    return Document(name, "audio", [Segment(transcribe(data), "transcript")])
