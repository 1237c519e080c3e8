"""Korean and English UI through Qt's translation tooling (pyside6-lupdate -> .ts -> pyside6-lrelease -> .qm).

`python -m ui.i18n` refreshes ui/i18n/omni_ko.ts from the sources (keeping existing translations) and compiles
the .qm next to it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

HERE = Path(__file__).resolve().parent / "i18n"
LANGUAGES = {"en": "English", "ko": "한국어"}
_installed: list[QTranslator] = []


def install_language(app, language: str) -> bool:
    """Switch the application's language; English needs no catalogue. Returns whether a catalogue loaded."""
    for t in _installed:
        app.removeTranslator(t)
    _installed.clear()
    QLocale.setDefault(QLocale(QLocale.Korean if language == "ko" else QLocale.English))
    if language == "en":
        return True
    ours = QTranslator(app)
    if not ours.load(str(HERE / f"omni_{language}.qm")):
        return False
    qt = QTranslator(app)  # Qt's own strings (OK/Cancel, ...)
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.TranslationsPath)):
        app.installTranslator(qt)
        _installed.append(qt)
    app.installTranslator(ours)
    _installed.append(ours)
    return True


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(f"pyside6-{name}"))


def main() -> int:
    """Refresh the .ts from the sources and compile the .qm."""
    sources = sorted(str(p) for p in Path(__file__).resolve().parent.glob("*.py"))
    ts = HERE / "omni_ko.ts"
    subprocess.run([_tool("lupdate"), *sources, "-ts", str(ts)], check=True)
    subprocess.run([_tool("lrelease"), str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
