"""Fixture files built by the tests themselves: PDF (hand-written, no PDF library), CSV, DOCX, XLSX, image, code."""

from __future__ import annotations

import csv
import io
import zlib
from pathlib import Path

PDF_PAGES = [
    "Quarterly report. This document describes the work of the northern office.",
    "Staffing. The office employs forty engineers and six designers across two floors.",
    "Budget. The approved budget for the lighthouse project is 7,300 euros, signed by Dr. Okafor.",
    "Outlook. Next year the team plans to open a second office in Lisbon.",
]
CSV_ROWS = [("city", "population", "area_km2", "founded"),
            ("Aldford", "1200", "3.5", "1850-04-01"), ("Brinmoor", "5400", "12.25", "1790-09-12"),
            ("Cresthaven", "", "7.0", "1902-01-30"), ("Dunmere", "800", "2.0", "1888-07-15")]


def _pdf_text(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one line of Helvetica text per page."""
    objects: list[bytes] = []
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    font = 3 + 2 * n
    for i, text in enumerate(pages):
        stream = f"BT /F1 11 Tf 40 780 Td ({_pdf_text(text)}) Tj ET".encode()
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode())
        objects.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return _assemble(objects)


def make_flate_bomb_pdf(inflated_bytes: int) -> bytes:
    """A one-page PDF whose content stream is a few KB of FlateDecode that inflates to `inflated_bytes` spaces."""
    stream = zlib.compress(b" " * inflated_bytes, 9)
    return _assemble([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                      b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents 4 0 R "
                      b"/Resources << /Font << /F1 5 0 R >> >> >>",  # without a font pypdf skips the stream
                      b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
                      b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def _assemble(objects: list[bytes]) -> bytes:
    """Numbered objects, a cross-reference table and a trailer (object 1 is the catalog)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def write_fixtures(folder: Path) -> dict[str, Path]:
    """Every fixture file, by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    paths["pdf"] = folder / "report.pdf"
    paths["pdf"].write_bytes(make_pdf(PDF_PAGES))
    paths["csv"] = folder / "towns.csv"
    with paths["csv"].open("w", newline="") as f:
        csv.writer(f).writerows(CSV_ROWS)
    import docx

    d = docx.Document()
    d.add_heading("Trip plan", 1)
    d.add_paragraph("We leave for Kyoto on the ninth of May.")
    d.add_paragraph("The hotel is called the Maple Inn.")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text, t.cell(1, 0).text, t.cell(1, 1).text = "item", "cost", "train", "140"
    paths["docx"] = folder / "trip.docx"
    d.save(paths["docx"])
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    for row in [("month", "units"), ("Jan", 10), ("Feb", 30), ("Mar", 20)]:
        ws.append(row)
    paths["xlsx"] = folder / "sales.xlsx"
    wb.save(paths["xlsx"])
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (640, 200), "white")
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 36)
    except OSError:
        font = ImageFont.load_default(36)
    draw.text((20, 30), "Invoice number 4821", fill="black", font=font)
    draw.text((20, 110), "Total due: 96 euros", fill="black", font=font)
    paths["image"] = folder / "invoice.png"
    img.save(paths["image"])
    paths["code"] = folder / "fib.py"
    paths["code"].write_text("def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n"
                             "    return a\n")
    paths["json"] = folder / "people.json"
    paths["json"].write_text('[{"name": "Ana", "age": 31}, {"name": "Bo", "age": 45}, {"name": "Cy"}]')
    paths["markdown"] = folder / "notes.md"
    paths["markdown"].write_text("# Notes\n\nThe launch moves to 14 April.\n")
    return paths
