"""The screenshot evaluation set: 39 pictures of text as people paste them into an assistant (errors, dialogs,
tables, code, receipts, tickets, settings pages, Korean screens, phone screens, and three real screenshots of this
project's own window), each with a question answerable only from its text and the regexes an answer must match.
Rendered here, deterministically, with fonts Debian ships (DejaVu Sans and Sans Mono from fonts-dejavu-core, Noto
Sans CJK KR from fonts-noto-cjk).

It is an evaluation set: nothing is trained or tuned on it. `python -m tools.screenshot_set OUTDIR` writes every
picture as OUTDIR/<name>.png with its true lines in <name>.txt and the questions in questions.json.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONTS = {"sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "mono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
         "ko": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"}
THEMES = {  # page, text, desktop
    "light": ((255, 255, 255), (30, 30, 30), (58, 110, 165)),
    "dark": ((30, 30, 30), (225, 225, 225), (40, 44, 52)),
    "terminal": ((12, 12, 12), (204, 204, 204), (70, 70, 90)),
    "paper": ((250, 248, 240), (20, 20, 20), (120, 120, 120)),
    "blue": ((232, 240, 254), (20, 40, 90), (90, 90, 110)),
}
HD, PHONE, WINDOW = (1920, 1080), (1080, 2340), (800, 500)
ROOT = Path(__file__).resolve().parents[1]


def _font(kind: str, size: int) -> ImageFont.FreeTypeFont:
    path = FONTS[kind]
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} is missing: apt-get install fonts-dejavu-core fonts-noto-cjk")
    return ImageFont.truetype(path, size, index=1 if kind == "ko" else 0)  # face 1 of the .ttc: KR


@dataclass(frozen=True)
class Shot:
    """One picture: its text (rows; a table row's cells as a tuple), how it is drawn, and its question."""

    name: str
    kind: str
    lang: str
    size: tuple[int, int]
    rows: tuple  # each a str, or a tuple of cells drawn in columns
    question: str
    answers: tuple[str, ...]
    theme: str = "light"
    font: str = "sans"
    px: int = 14
    file: str = ""  # a real screenshot instead (the project's own window, docs/screenshots): no true lines kept

    @property
    def lines(self) -> tuple[str, ...]:
        """The true text, one line per row, cells joined by two spaces."""
        return tuple(r if isinstance(r, str) else "  ".join(r) for r in self.rows)

    def image(self) -> Image.Image:
        """The picture (RGB): a window on a desktop, a phone screen, or a window alone."""
        if self.file:
            return Image.open(ROOT / self.file).convert("RGB")
        page, ink, desktop = THEMES[self.theme]
        img = Image.new("RGB", self.size, page if self.size != HD else desktop)
        draw = ImageDraw.Draw(img)
        font = _font("ko" if self.lang == "ko" else self.font, self.px)
        step = round(self.px * 1.6)
        width = max(self._width(draw, font, r) for r in self.rows) + 80
        if self.size == HD:  # a window somewhere on the desktop, under a plain top bar
            draw.rectangle((0, 0, HD[0], 28), fill=(20, 20, 24))
            x0, y0 = 260 + (len(self.name) * 37) % 500, 150 + (len(self.name) * 53) % 300
            draw.rectangle((x0, y0, x0 + width, y0 + 60 + step * len(self.rows)), fill=page, outline=(90, 90, 90))
            draw.rectangle((x0, y0, x0 + width, y0 + 24), fill=tuple(max(0, c - 25) for c in page))
            x, y = x0 + 40, y0 + 44
        else:
            x, y = (60, 160) if self.size == PHONE else (30, 30)
        for row in self.rows:
            if isinstance(row, str):
                draw.text((x, y), row, font=font, fill=ink)
            else:
                cx = x
                for cell, w in zip(row, self._columns(draw, font)):
                    draw.text((cx, y), cell, font=font, fill=ink)
                    cx += w
            y += step
        return img

    def _columns(self, draw, font) -> list[int]:
        cells = [r for r in self.rows if not isinstance(r, str)]
        n = max(len(r) for r in cells)
        return [max(draw.textlength(r[i], font=font) for r in cells if i < len(r)) + 3 * self.px for i in range(n)]

    def _width(self, draw, font, row) -> int:
        return int(draw.textlength(row, font=font) if isinstance(row, str) else sum(self._columns(draw, font)))

    def png(self) -> bytes:
        """The picture as PNG bytes."""
        buf = io.BytesIO()
        self.image().save(buf, "PNG")
        return buf.getvalue()


def shots() -> list[Shot]:
    """The whole set, in a fixed order."""
    S = Shot
    return [
        S("error-typeerror", "error", "en", HD, ("Traceback (most recent call last):",
          '  File "/home/dana/report.py", line 41, in <module>', "    total = count + label",
          "TypeError: unsupported operand type(s) for +: 'int' and 'str'"), "What does this error mean, and on which "
          "line did it happen?", (r"\b41\b",), "terminal", "mono"),
        S("error-keyerror", "error", "en", HD, ("$ python3 load.py", "Traceback (most recent call last):",
          '  File "load.py", line 9, in main', "    port = config['database_port']", "KeyError: 'database_port'"),
          "Which key is missing?", (r"database_port",), "terminal", "mono", 15),
        S("error-java", "error", "en", HD, ('Exception in thread "main" java.lang.NullPointerException',
          "    at com.shop.Cart.total(Cart.java:88)", "    at com.shop.Main.main(Main.java:17)"),
          "In which file and line was the exception thrown first?", (r"Cart\.java.{0,5}88|88.{0,30}Cart",),
          "dark", "mono"),
        S("error-npm", "error", "en", HD, ("npm ERR! code ERESOLVE", "npm ERR! ERESOLVE unable to resolve dependency tree",
          "npm ERR! Found: react@17.0.2", "npm ERR! Could not resolve dependency: peer react@^18.2.0"),
          "Which React version was found?", (r"17\.0\.2",), "terminal", "mono"),
        S("error-disk", "error", "en", WINDOW, ("Disk full", "There is not enough space on Backup Drive.",
          "You need 3.7 GB more to copy 214 items.", ("Skip", "Try again")),
          "How much more space is needed?", (r"3\.7",), px=15),
        S("error-404", "error", "en", WINDOW, ("404 Not Found", "The page /pricing/teams-2025 could not be found.",
          "Request ID: 7F3A-22C9"), "What is the request ID?", (r"7F3A-22C9",), px=16),
        S("dialog-unsaved", "dialog", "en", HD, ("Save changes to budget_q3.xlsx before closing?",
          "Your changes will be lost if you don't save them.", ("Save", "Don't Save", "Cancel")),
          "Which file has unsaved changes?", (r"budget_q3",)),
        S("dialog-update", "dialog", "en", HD, ("Software Update", "Version 12.4.7 is available. You have 12.3.1.",
          "Size: 486 MB", ("Install Now", "Later")), "Which version is available?", (r"12\.4\.7",), px=13),
        S("dialog-permission", "dialog", "en", WINDOW, ('"Photo Booth" would like to access the camera.',
          ("Don't Allow", "OK")), "Which app wants camera access?", (r"photo booth",), px=15),
        S("dialog-login", "dialog", "en", HD, ("Sign in failed", "The password for m.okafor@example.org is incorrect.",
          "Attempts left: 2"), "How many attempts are left?", (r"\b2\b|two",), "blue"),
        S("table-revenue", "table", "en", HD, (("Quarter", "Revenue", "Costs"), ("Q1", "118", "97"),
          ("Q2", "126", "101"), ("Q3", "143", "109"), ("Q4", "151", "120")), "What was the revenue in Q3?",
          (r"\b143\b",)),
        S("table-sheet", "table", "en", HD, (("Name", "Team", "City", "Start", "Badge"),
          ("Ava Lind", "Design", "Oslo", "2021", "D-114"), ("Ben Osei", "Sales", "Accra", "2019", "S-207"),
          ("Chen Wu", "Support", "Taipei", "2022", "T-330")), "Which city is Ben Osei in?", (r"accra",), px=13),
        S("table-prices", "table", "en", WINDOW, (("Plan", "Monthly", "Yearly"), ("Starter", "$9", "$90"),
          ("Team", "$29", "$290"), ("Business", "$79", "$790")), "How much is the Team plan per year?",
          (r"\$?290\b",)),
        S("table-timetable", "table", "en", HD, (("Route", "Departs", "Platform"), ("Leeds", "08:14", "3"),
          ("York", "08:32", "5"), ("Hull", "09:05", "1")), "When does the train to York depart?", (r"08:32|8:32",)),
        S("table-leaderboard", "table", "en", WINDOW, (("Rank", "Player", "Points"), ("1", "zephyr", "9820"),
          ("2", "mossy_k", "9415"), ("3", "tidepool", "8870")), "How many points does mossy_k have?", (r"9,?415",)),
        S("code-function", "code", "en", HD, ("def shipping_cost(weight_kg):", "    if weight_kg <= 2:",
          "        return 4.5", "    return 4.5 + (weight_kg - 2) * 1.25"),
          "What is the name of the function?", (r"shipping_cost",), "dark", "mono"),
        S("code-js", "code", "en", HD, ("const RETRY_LIMIT = 7;", "async function fetchOrders(client) {",
          "  return client.get('/v2/orders');", "}"), "What is the retry limit?", (r"\b7\b|seven",), "light", "mono"),
        S("code-sql", "code", "en", WINDOW, ("SELECT region, SUM(amount)", "FROM invoices", "WHERE year = 2024",
          "GROUP BY region;"), "Which table does the query read from?", (r"invoices",), "dark", "mono", 15),
        S("code-config", "code", "en", WINDOW, ("server:", "  host: 0.0.0.0", "  port: 8443", "  workers: 6"),
          "Which port is configured?", (r"8443",), "light", "mono", 15),
        S("receipt-grocery", "receipt", "en", WINDOW, ("GREENLEAF MARKET", ("Oat milk", "3.49"),
          ("Sourdough", "5.20"), ("Apples 1kg", "2.95"), ("TOTAL", "11.64")), "What is the total?",
          (r"11\.64",), "paper", "mono", 15),
        S("receipt-cafe", "receipt", "en", WINDOW, ("Blue Door Cafe", ("Flat white", "4.10"), ("Croissant", "3.25"),
          ("Tip", "1.50"), ("TOTAL", "8.85")), "How much was the croissant?", (r"3\.25",), "paper", "mono", 15),
        S("receipt-hardware", "receipt", "en", HD, ("Order #48213 - Fixit Hardware", ("Drill bits", "12.99"),
          ("Wood glue", "6.49"), ("Total", "19.48")), "What is the order number?", (r"48213",), "paper", "mono"),
        S("ticket-flight", "ticket", "en", HD, ("BOARDING PASS", ("Flight", "Gate", "Seat"), ("KL1043", "D7", "23C"),
          "Amsterdam to Dublin, boarding 14:25"), "What is my seat?", (r"23C",)),
        S("ticket-train", "ticket", "en", WINDOW, ("Rail ticket", "Munich Hbf to Vienna Hbf", ("Coach", "Seat"),
          ("9", "61")), "Which coach am I in?", (r"\b9\b|nine",), px=16),
        S("ticket-concert", "ticket", "en", WINDOW, ("The Night Owls - Live", "Doors open 19:30",
          "Section B, Row 12"), "Which row is the ticket for?", (r"\b12\b|twelve",), "dark", px=16),
        S("settings-toggle", "settings", "en", HD, ("Privacy settings", ("Location services", "Off"),
          ("Crash reports", "On"), ("Personalised ads", "Off")), "Are crash reports on or off?", (r"\bon\b",)),
        S("settings-about", "settings", "en", WINDOW, ("About this device", ("Model", "Nimbus X2"),
          ("Firmware", "5.18.2"), ("Serial", "NX2-88410")), "What firmware version is installed?", (r"5\.18\.2",)),
        S("settings-language", "settings", "en", HD, ("Preferences", ("Language", "Portuguese"),
          ("Time zone", "UTC+09:00"), ("Units", "Metric")), "Which language is selected?", (r"portugu",), "dark", px=13),
        S("korean-error", "korean", "ko", HD, ("파일을 저장할 수 없습니다", "디스크 공간이 부족합니다",
          "오류 코드: 5127"), "오류 코드가 무엇입니까?", (r"5127",), px=16),
        S("korean-table", "korean", "ko", HD, (("지점", "매출"), ("서울", "820"), ("부산", "455"), ("대구", "390")),
          "부산 지점의 매출은 얼마입니까?", (r"455",), px=16),
        S("korean-receipt", "korean", "ko", WINDOW, ("행복 마트", ("우유", "2,800원"), ("계란", "6,500원"),
          ("합계", "9,300원")), "합계는 얼마입니까?", (r"9,?300",), "paper", px=16),
        S("korean-settings", "korean", "ko", WINDOW, ("설정", ("화면 밝기", "70%"), ("글자 크기", "크게")),
          "화면 밝기는 몇 퍼센트입니까?", (r"70",), px=16),
        S("korean-notice", "korean", "ko", HD, ("공지사항", "정기 점검: 12월 14일 02시부터 06시까지",
          "문의: 1588-2046"), "문의 전화번호는 무엇입니까?", (r"1588-?2046",), "blue", px=16),
        S("phone-chat", "phone", "en", PHONE, ("Mia", "Running late, meet at", "Platform 6 at 18:40?", "Sure, see you"),
          "Which platform are we meeting at?", (r"\b6\b|six",), px=44),
        S("phone-transfer", "phone", "en", PHONE, ("Transfer complete", "You sent $1,275.00", "to Jordan Reyes",
          "Reference: RENT-MARCH"), "How much money was sent?", (r"1,?275",), px=44),
        S("phone-code", "phone", "en", PHONE, ("Messages now", "Your Lumio sign-in code is 604918.",
          "It expires in 10 minutes."), "What is the sign-in code?", (r"604918",), "dark", px=42),
        # The app's own window, as tools.screenshots renders it for the README (whole windows: much more text).
        S("window-settings", "window", "en", (680, 500), (), "Which speech model is selected?", (r"whisper-base",),
          file="docs/screenshots/07-settings.png"),
        S("window-code", "window", "en", (1200, 820), (), "What is the function in the answer called?",
          (r"add_numbers",), file="docs/screenshots/03-code-answer.png"),
        S("window-korean", "window", "ko", (1200, 820), (), "According to the answer on screen, when is the launch?",
          (r"14 April|April 14",), file="docs/screenshots/08-korean.png"),
    ]


def main(argv: list[str]) -> int:
    """Write the set to a folder."""
    if len(argv) != 1:
        print("usage: python -m tools.screenshot_set OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    items = shots()
    for shot in items:
        shot.image().save(out / f"{shot.name}.png")
        (out / f"{shot.name}.txt").write_text("\n".join(shot.lines) + "\n")
    (out / "questions.json").write_text(json.dumps(
        [{"name": s.name, "question": s.question, "answers": s.answers} for s in items], ensure_ascii=False, indent=1))
    print(f"{len(items)} pictures in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
