"""Light and dark themes (or the system's), a Fusion palette plus a small style sheet, and the text size."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_DEFAULT_POINTS: list[float] = []  # the platform's own text size, remembered before the first change

COLOURS = {
    "light": {"window": "#f7f7f8", "base": "#ffffff", "text": "#1f2328", "button": "#eceef1", "accent": "#2563eb",
              "user": "#e8f0fe", "assistant": "#ffffff", "muted": "#6b7280", "border": "#d0d4da"},
    "dark": {"window": "#1e1f22", "base": "#2b2d31", "text": "#e6e6e6", "button": "#383a40", "accent": "#5b8def",
             "user": "#2f3b52", "assistant": "#2b2d31", "muted": "#9ca3af", "border": "#44474f"},
}


def resolve_theme(name: str, scheme: Qt.ColorScheme | None = None) -> str:
    """ "light" or "dark": a named theme, or the desktop's colour scheme for "system" (light when it says none)."""
    if name != "system":
        return name if name in COLOURS else "light"
    scheme = QGuiApplication.styleHints().colorScheme() if scheme is None else scheme
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication, name: str, font_size: int = 0) -> dict:
    """Switch the whole application to a theme (system, light or dark) and a text size in points (0: the system's);
    returns the theme's colours."""
    if not _DEFAULT_POINTS:
        _DEFAULT_POINTS.append(app.font().pointSizeF())
    font = QFont(app.font())
    font.setPointSizeF(font_size or _DEFAULT_POINTS[0])
    app.setFont(font)
    c = COLOURS[resolve_theme(name)]
    app.setStyle("Fusion")
    pal = QPalette()
    for role, key in [(QPalette.Window, "window"), (QPalette.Base, "base"), (QPalette.AlternateBase, "window"),
                      (QPalette.Text, "text"), (QPalette.WindowText, "text"), (QPalette.Button, "button"),
                      (QPalette.ButtonText, "text"), (QPalette.Highlight, "accent"), (QPalette.ToolTipBase, "base"),
                      (QPalette.ToolTipText, "text"), (QPalette.PlaceholderText, "muted"), (QPalette.Link, "accent")]:
        pal.setColor(role, QColor(c[key]))
    pal.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    app.setPalette(pal)
    app.setStyleSheet(f"""
        QFrame#message[role="user"] {{ background: {c['user']}; border-radius: 10px; }}
        QFrame#message[role="assistant"] {{ background: {c['assistant']}; border: 1px solid {c['border']};
                                            border-radius: 10px; }}
        QLabel#meta, QLabel#text_read {{ color: {c['muted']}; font-size: 11px; }}
        QFrame#chip {{ border: 1px solid {c['border']}; border-radius: 8px; background: {c['base']}; }}
        QFrame#chip[bad="true"] {{ border: 2px solid #dc2626; }}
        QPushButton#send {{ background: {c['accent']}; color: white; border-radius: 6px; padding: 6px 14px; }}
        QPushButton#talk:pressed, QPushButton#talk[recording="true"] {{ background: #dc2626; color: white; }}
        QPushButton#converse:checked {{ background: #dc2626; color: white; }}
        QTextBrowser {{ background: transparent; }}
    """)
    return c
