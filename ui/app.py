"""`python -m ui`: start the desktop assistant. The window appears at once; models load in the background."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from assistant.history import History
from assistant.settings import Settings, config_dir, data_dir
from ui.i18n import install_language
from ui.window import MainWindow
from ui.worker import real_engine


def build(argv: list[str], engine_factory=real_engine, settings_path: Path | None = None):
    """(app, window) without entering the event loop (tests and screenshots use this)."""
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("Omni Assistant")
    app.setOrganizationName("omni-assistant")
    settings_path = settings_path or config_dir() / "settings.json"
    settings = Settings.load(settings_path)
    install_language(app, settings.language)
    history = History(data_dir())
    window = MainWindow(settings, history, engine_factory, settings_path)
    return app, window


def main(argv: list[str] | None = None) -> int:
    """Run the app until its window closes."""
    parser = argparse.ArgumentParser(prog="python -m ui", description=__doc__.splitlines()[0])
    parser.add_argument("--no-load", action="store_true", help="do not load models (look at the window only)")
    args, qt_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app, window = build([sys.argv[0], *qt_args])
    window.show()
    if not args.no_load:
        window.load_models()
    code = app.exec()
    window.history.close()
    return code
