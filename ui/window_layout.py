"""The main window's layout: the conversation list beside the chat (title bar, messages, composer), the status bar,
and the window's shortcuts, each wired to the window's actions. A part of MainWindow."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QVBoxLayout,
                               QWidget)

from ui.composer import Composer
from ui.conversations import ConversationList
from ui.messages import MessageView
from ui.theme import resolve_theme
from ui.widgets import ElidedLabel

VOICE_CHAT_KEY = Qt.Key_F9
MIN_WIDTH, MIN_HEIGHT = 860, 500  # the smallest window whose every control fits without scrolling sideways


class WindowLayout:
    """MainWindow's widgets and shortcuts (mixed into the window: _build runs once, from its constructor)."""

    def _build(self, colours: dict) -> None:
        self.resize(1100, 760)
        self.setAcceptDrops(True)
        self.sidebar = ConversationList(self.session)
        self.sidebar.new_requested.connect(self.new_conversation)
        self.sidebar.picked.connect(self.open_conversation)
        self.sidebar.renamed.connect(self._show_title)
        self.sidebar.deleted.connect(self._on_deleted)

        chat = QWidget()
        chat_layout = QVBoxLayout(chat)
        top = QHBoxLayout()
        self.title = ElidedLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 15px")
        self.template_box = QComboBox()
        self.template_box.activated.connect(lambda i: self.session.set_template(self.template_box.itemData(i)))
        self.export_button = QPushButton()
        self.export_button.clicked.connect(lambda: self.sidebar.export())
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(self.open_settings)
        top.addWidget(self.title, 1)
        self.model_box, self.voice_box = QComboBox(), QComboBox()  # switched from the chat, saved as settings
        self.model_box.activated.connect(self._switch_model)
        self.voice_box.activated.connect(
            lambda i: self.apply_settings(replace(self.settings, voice_mode=self.voice_box.itemData(i))))
        top.addWidget(self.model_box)
        top.addWidget(self.voice_box)
        for box in (self.model_box, self.template_box):  # long names shrink with the window
            box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(9)
        self.voice_box.setSizeAdjustPolicy(QComboBox.AdjustToContents)  # two short labels: always whole
        self.template_label = QLabel()
        top.addWidget(self.template_label)
        top.addWidget(self.template_box)
        top.addWidget(self.export_button)
        top.addWidget(self.settings_button)
        chat_layout.addLayout(top)

        self.messages = MessageView(colours["muted"])
        self.messages.dark = resolve_theme(self.settings.theme) == "dark"
        self.messages.regenerate.connect(self.regenerate)
        self.messages.continue_answer.connect(self.continue_answer)
        self.messages.read_aloud.connect(self.read_aloud)
        self.messages.version_requested.connect(self.show_version)
        self.messages.edit.connect(self.edit_question)
        self.messages.play.connect(self.play_audio)
        chat_layout.addWidget(self.messages, 1)
        self.composer = Composer(self.session)
        self.composer.submit.connect(self.send)
        self.composer.stop.connect(self.stop)
        self.composer.play.connect(self.play_audio)
        self.composer.folder_chosen.connect(self._remember_folder)
        self.composer.converse_button.toggled.connect(self.set_voice_chat)
        self.voice_chat.level.connect(lambda v: self.composer.level.setValue(int(v * 100)))
        self.voice_chat.status.connect(lambda text: self.status_text.setText(text))
        for view in (self.messages, self.sidebar, self.composer):
            view.notice.connect(lambda text: self.status_text.setText(text))
        chat_layout.addWidget(self.composer)

        split = QSplitter()
        split.addWidget(self.sidebar)
        split.addWidget(chat)
        split.setSizes([260, 840])
        split.setStretchFactor(1, 1)  # resizing the window resizes the chat; the sidebar keeps its width
        split.setCollapsible(1, False)
        self.sidebar.setMinimumWidth(160)
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)
        self.setCentralWidget(split)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.status_text = ElidedLabel()  # a long error never widens the window
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.find_action = self._shortcut(QKeySequence.Find, self.sidebar.search.setFocus)
        self.stop_action = self._shortcut(QKeySequence(Qt.Key_Escape), self.stop)
        self.new_action = self._shortcut(QKeySequence.New, self.new_conversation)
        self.settings_action = self._shortcut(QKeySequence("Ctrl+,"), self.open_settings)
        self.voice_chat_action = self._shortcut(QKeySequence(VOICE_CHAT_KEY), self.composer.converse_button.click)

    def _shortcut(self, keys: QKeySequence, slot) -> QAction:
        action = QAction(self)
        action.setShortcut(keys)
        action.triggered.connect(lambda: slot())  # a lambda: the slot looks up the method when triggered
        self.addAction(action)
        return action
