"""The sidebar: a new-conversation button, search, and the stored conversations (rename, export, delete)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QInputDialog, QLineEdit, QListWidget, QListWidgetItem, QMenu, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget)

from assistant.session import ChatSession, file_name


def date_group(updated: float, now: float) -> str:
    """Which group of the list a conversation last changed at `updated` falls in, by local calendar day."""
    days = (dt.date.fromtimestamp(now) - dt.date.fromtimestamp(updated)).days
    return "today" if days <= 0 else "yesterday" if days == 1 else "week" if days < 7 else "earlier"


class ConversationList(QWidget):
    """Lists the session's history, newest first, with the open conversation selected."""

    new_requested = Signal()
    picked = Signal(int)  # a conversation to open
    renamed = Signal(int)
    deleted = Signal(int)
    notice = Signal(str)  # a line for the status bar

    def __init__(self, session: ChatSession, parent=None):
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        self.new_button = QPushButton()
        self.new_button.clicked.connect(self.new_requested)
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        self.list = QListWidget()
        self.list.setTextElideMode(Qt.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.currentItemChanged.connect(self._on_pick)
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemDoubleClicked.connect(
            lambda item: item.data(Qt.UserRole) is not None and self.rename(item.data(Qt.UserRole)))
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.list)

    def retranslate(self) -> None:
        """Every visible string, in the current language."""
        self.new_button.setText(self.tr("New conversation"))
        self.search.setPlaceholderText(self.tr("Search conversations"))

    def refresh(self) -> None:
        """Reload the list (filtered by the search box)."""
        self.list.blockSignals(True)
        self.list.clear()
        names = {"today": self.tr("Today"), "yesterday": self.tr("Yesterday"), "week": self.tr("Previous 7 days"),
                 "earlier": self.tr("Earlier")}
        now, group = time.time(), None
        for info in self.session.history.conversations(self.search.text().strip()):  # newest first
            if (day := date_group(info.updated, now)) != group:
                group = day
                header = QListWidgetItem(names[group])
                header.setFlags(Qt.NoItemFlags)  # a label: not selectable, skipped by the arrow keys
                font = header.font()
                font.setBold(True)
                header.setFont(font)
                self.list.addItem(header)
            item = QListWidgetItem(info.title)
            item.setData(Qt.UserRole, info.id)
            item.setToolTip(f"{info.title}\n{dt.datetime.fromtimestamp(info.updated):%Y-%m-%d %H:%M}")
            self.list.addItem(item)
            if info.id == self.session.conversation:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def entries(self) -> list[tuple[int, str]]:
        """(id, title) of the listed conversations, in order (the date headers left out)."""
        items = (self.list.item(i) for i in range(self.list.count()))
        return [(item.data(Qt.UserRole), item.text()) for item in items if item.data(Qt.UserRole) is not None]

    def _on_pick(self, item, _previous=None) -> None:
        if item is not None and item.data(Qt.UserRole) != self.session.conversation:
            self.picked.emit(item.data(Qt.UserRole))

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None or item.data(Qt.UserRole) is None:  # nothing, or a date header
            return
        cid = item.data(Qt.UserRole)
        menu = QMenu(self)
        menu.addAction(self.tr("Rename"), lambda: self.rename(cid))
        menu.addAction(self.tr("Export to Markdown"), lambda: self.export(cid))
        menu.addAction(self.tr("Delete"), lambda: self.delete(cid))
        menu.exec(self.list.mapToGlobal(pos))

    def rename(self, conversation_id: int, title: str | None = None) -> None:
        """Rename (asks for the title unless given)."""
        if title is None:
            title, ok = QInputDialog.getText(self, self.tr("Rename"), self.tr("Title:"),
                                             text=self.session.history.info(conversation_id).title)
            if not ok:
                return
        if title.strip():
            self.session.history.rename(conversation_id, title)
            self.refresh()
            self.renamed.emit(conversation_id)

    def delete(self, conversation_id: int, confirm: bool = True) -> None:
        """Delete after confirmation (not the conversation being answered)."""
        if self.session.busy and conversation_id == self.session.conversation:
            return
        if confirm and QMessageBox.question(self, self.tr("Delete"), self.tr("Delete this conversation?"),
                                            QMessageBox.Yes | QMessageBox.No, QMessageBox.No) != QMessageBox.Yes:
            return
        if self.session.delete(conversation_id):
            self.deleted.emit(conversation_id)
            self.refresh()

    def export(self, conversation_id: int | None = None, path: Path | None = None) -> Path | None:
        """Write a conversation, by default the open one, as Markdown (asks where unless given)."""
        cid = conversation_id or self.session.conversation
        if cid is None:
            return None
        if path is None:
            suggested = Path.home() / f"{file_name(self.session.history.info(cid).title)}.md"
            name, _ = QFileDialog.getSaveFileName(self, self.tr("Export"), str(suggested), "Markdown (*.md)")
            if not name:
                return None
            path = Path(name)
        path.write_text(self.session.history.export_markdown(cid), encoding="utf-8")
        self.notice.emit(self.tr("Exported to %1").replace("%1", str(path)))
        return path
