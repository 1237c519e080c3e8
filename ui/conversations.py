"""The sidebar: a new-conversation button, search, and the stored conversations (rename, export, delete)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QInputDialog, QLineEdit, QListWidget, QListWidgetItem, QMenu, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget)

from assistant.session import ChatSession


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
        self.list.itemDoubleClicked.connect(lambda item: self.rename(item.data(Qt.UserRole)))
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
        for info in self.session.history.conversations(self.search.text().strip()):
            item = QListWidgetItem(info.title)
            item.setData(Qt.UserRole, info.id)
            self.list.addItem(item)
            if info.id == self.session.conversation:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def _on_pick(self, item, _previous=None) -> None:
        if item is not None and item.data(Qt.UserRole) != self.session.conversation:
            self.picked.emit(item.data(Qt.UserRole))

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
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
            name, _ = QFileDialog.getSaveFileName(self, self.tr("Export"), str(Path.home() / "conversation.md"),
                                                  "Markdown (*.md)")
            if not name:
                return None
            path = Path(name)
        path.write_text(self.session.history.export_markdown(cid), encoding="utf-8")
        self.notice.emit(self.tr("Exported to %1").replace("%1", str(path)))
        return path
