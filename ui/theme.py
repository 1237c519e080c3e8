"""Light and dark themes: a Fusion palette plus a small style sheet."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

COLOURS = {
    "light": {"window": "#f7f7f8", "base": "#ffffff", "text": "#1f2328", "button": "#eceef1", "accent": "#2563eb",
              "user": "#e8f0fe", "assistant": "#ffffff", "muted": "#6b7280", "border": "#d0d4da"},
    "dark": {"window": "#1e1f22", "base": "#2b2d31", "text": "#e6e6e6", "button": "#383a40", "accent": "#5b8def",
             "user": "#2f3b52", "assistant": "#2b2d31", "muted": "#9ca3af", "border": "#44474f"},
}


def apply_theme(app: QApplication, name: str) -> dict:
    """Switch the whole application to the light or dark theme; returns its colours."""
    c = COLOURS.get(name, COLOURS["light"])
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
        QLabel#meta {{ color: {c['muted']}; font-size: 11px; }}
        QFrame#chip {{ border: 1px solid {c['border']}; border-radius: 8px; background: {c['base']}; }}
        QFrame#chip[bad="true"] {{ border: 2px solid #dc2626; }}
        QPushButton#send {{ background: {c['accent']}; color: white; border-radius: 6px; padding: 6px 14px; }}
        QPushButton#talk:pressed, QPushButton#talk[recording="true"] {{ background: #dc2626; color: white; }}
        QTextBrowser {{ background: transparent; }}
    """)
    return c
