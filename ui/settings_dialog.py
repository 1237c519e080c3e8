"""The settings dialog: models, voice, generation, templates, privacy, appearance."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QPlainTextEdit, QPushButton, QSpinBox,
                               QTabWidget, QVBoxLayout, QWidget)

from assistant.settings import Settings
from assistant.templates import PromptTemplate
from models.weights.catalog import BUNDLED, TIERS, installed
from ui.i18n import LANGUAGES
from ui.recorder import microphones


def bundled(kind: str) -> list[tuple[str, str]]:
    """(name, label) of the bundled models of a kind (llm, whisper, vision)."""
    return [(name, name) for name, spec in BUNDLED.items() if spec.kind == kind]


def llm_choices(short: bool = False) -> list[tuple[str, str]]:
    """The LLMs to pick from: the two tiers by what they are for (short: without their model's name, and only the
    installed ones), then every bundled one."""
    fast, quality = QCoreApplication.translate("Choices", "Fast"), QCoreApplication.translate("Choices", "Quality")
    if short:  # the chat bar: what can answer now, each model once (a tier's model is not listed again by name)
        return [*((tier, label) for tier, label in (("fast", fast), ("quality", quality)) if installed(tier)),
                *((name, label) for name, label in bundled("llm") if name not in TIERS.values() and installed(name))]
    missing = " · " + QCoreApplication.translate("Choices", "not installed")
    return [(value, label + ("" if installed(value) else missing)) for value, label in
            [("fast", f"{fast} ({TIERS['fast']})"), ("quality", f"{quality} ({TIERS['quality']})"), *bundled("llm")]]


def voice_choices(short: bool = False) -> list[tuple[str, str]]:
    """The two ways a spoken question reaches the LLM (short: for the bar above the chat)."""
    if short:
        return [("cascade", QCoreApplication.translate("Choices", "Voice: transcribe")),
                ("native", QCoreApplication.translate("Choices", "Voice: native"))]
    return [("cascade", QCoreApplication.translate("Choices", "Transcribe first (Whisper)")),
            ("native", QCoreApplication.translate("Choices", "Native (speech adapter)"))]


def _combo(values: list[tuple[str, str]], current: str, editable: bool = False) -> QComboBox:
    box = QComboBox()
    box.setEditable(editable)
    for data, label in values:
        box.addItem(label, data)
    index = box.findData(current)
    if index >= 0:
        box.setCurrentIndex(index)
    elif editable:
        box.setEditText(current)
    return box


def _spin(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


def _value(box: QComboBox) -> str:
    if box.isEditable() and box.currentText() != box.itemText(box.currentIndex()):
        return box.currentText().strip()
    return box.currentData()


def _examples_text(t: PromptTemplate) -> str:
    return "\n".join(f"Q: {q}\nA: {a}" for q, a in t.examples)


def _parse_examples(text: str) -> tuple[tuple[str, str], ...]:
    """'Q: ...' / 'A: ...' lines -> pairs (a question without an answer is dropped)."""
    pairs, question = [], None
    for line in text.splitlines():
        if line.startswith("Q:"):
            question = line[2:].strip()
        elif line.startswith("A:") and question is not None:
            pairs.append((question, line[2:].strip()))
            question = None
    return tuple(pairs)


class SettingsDialog(QDialog):
    """Edits a copy of the settings; `result_settings()` after OK."""

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.resize(620, 480)
        self.original = settings
        self.templates = list(settings.templates)
        tabs = QTabWidget()
        self.tabs = tabs

        engine = settings.engine
        models = QWidget()
        form = QFormLayout(models)
        self.llm = _combo(llm_choices(), engine.llm, editable=True)
        self.whisper = _combo(bundled("whisper"), engine.whisper, editable=True)
        self.vision = _combo(bundled("vision"), engine.vision, editable=True)
        for box in (self.llm, self.whisper, self.vision):
            box.setToolTip(self.tr("A bundled model, a Hugging Face id or a local path"))
        self.device = _combo([("auto", self.tr("Automatic")), ("cpu", "CPU"), ("cuda", "GPU (CUDA)")],
                             engine.device)
        self.quantize = _combo([("none", self.tr("Full precision")), ("int8", self.tr("int8 (faster on CPU)"))],
                               engine.quantize)
        self.runtime = _combo([("auto", self.tr("Automatic")), ("llama.cpp", "llama.cpp"), ("torch", "PyTorch")],
                              engine.runtime)
        self.runtime.setToolTip(self.tr("Automatic: llama.cpp for the bundled models on the CPU, PyTorch on a GPU"))
        form.addRow(self.tr("Language model"), self.llm)
        form.addRow(self.tr("Speech model"), self.whisper)
        form.addRow(self.tr("Vision model"), self.vision)
        form.addRow(self.tr("Device"), self.device)
        form.addRow(self.tr("Runtime"), self.runtime)
        form.addRow(self.tr("Precision"), self.quantize)
        self.remote_url = QLineEdit(engine.remote_url)
        self.remote_url.setPlaceholderText(self.tr("empty: answer with the local models; or e.g. http://gpu-box:8000/v1"))
        self.remote_model = QLineEdit(engine.remote_model)
        self.remote_model.setPlaceholderText(self.tr("empty: the first model the endpoint lists"))
        self.remote_key = QLineEdit(engine.remote_key)
        self.remote_key.setEchoMode(QLineEdit.Password)
        form.addRow(self.tr("Remote endpoint (OpenAI-compatible)"), self.remote_url)
        form.addRow(self.tr("Remote model"), self.remote_model)
        form.addRow(self.tr("Remote API key"), self.remote_key)
        tabs.addTab(models, self.tr("Models"))

        api = QWidget()
        form = QFormLayout(api)
        self.server_enabled = QCheckBox(self.tr("Serve the local models as an OpenAI-compatible API on this computer"))
        self.server_enabled.setChecked(settings.server_enabled)
        self.server_port = _spin(1024, 65535, settings.server_port)
        self.server_key = QLineEdit(settings.server_key)
        self.server_key.setEchoMode(QLineEdit.Password)
        self.server_key.setPlaceholderText(self.tr("optional on this computer (127.0.0.1)"))
        form.addRow(self.tr("API server"), self.server_enabled)
        form.addRow(self.tr("Port"), self.server_port)
        form.addRow(self.tr("API key"), self.server_key)
        self.key_storage = QLabel(self.key_storage_note())
        self.key_storage.setWordWrap(True)
        form.addRow("", self.key_storage)
        tabs.addTab(api, self.tr("API"))

        voice = QWidget()
        form = QFormLayout(voice)
        self.voice_mode = _combo(voice_choices(), settings.voice_mode)
        mics = microphones()
        self.microphone = _combo([("", self.tr("System default"))] + mics, settings.microphone)
        if not mics:
            self.microphone.setToolTip(self.tr("No microphone was found"))
        self.read_aloud = QCheckBox(self.tr("Read answers aloud as they are written"))
        self.read_aloud.setChecked(settings.read_aloud)
        form.addRow(self.tr("Voice mode"), self.voice_mode)
        form.addRow(self.tr("Microphone"), self.microphone)
        form.addRow(self.tr("Read aloud"), self.read_aloud)
        self.barge_in = QCheckBox(self.tr("Talking over a spoken answer stops it"))
        self.barge_in.setToolTip(self.tr("Needs headphones or echo cancellation: on loudspeakers the assistant may "
                                         "hear itself. Off: it does not listen while it speaks."))
        self.barge_in.setChecked(settings.barge_in)
        form.addRow(self.tr("Voice chat"), self.barge_in)
        tabs.addTab(voice, self.tr("Voice"))

        gen = QWidget()
        form = QFormLayout(gen)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(settings.temperature)
        self.max_tokens = _spin(1, 8192, settings.max_tokens)
        self.system_prompt = QPlainTextEdit(settings.system_prompt)
        self.system_prompt.setPlaceholderText(self.tr("Instructions the assistant follows in every conversation"))
        form.addRow(self.tr("Temperature"), self.temperature)
        form.addRow(self.tr("Max tokens"), self.max_tokens)
        form.addRow(self.tr("System prompt"), self.system_prompt)
        tabs.addTab(gen, self.tr("Generation"))

        tpl = QWidget()
        row = QHBoxLayout(tpl)
        left = QVBoxLayout()
        self.template_list = QListWidget()
        self.template_list.addItems([t.name for t in self.templates])
        self.template_list.currentRowChanged.connect(self._show_template)
        add, remove = QPushButton(self.tr("Add")), QPushButton(self.tr("Remove"))
        add.clicked.connect(self._add_template)
        remove.clicked.connect(self._remove_template)
        left.addWidget(self.template_list)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        left.addLayout(buttons)
        right = QFormLayout()
        self.template_name = QLineEdit()
        self.template_system = QPlainTextEdit()
        self.template_examples = QPlainTextEdit()
        self.template_examples.setPlaceholderText(self.tr("Q: an example question\nA: the answer you want"))
        for w in (self.template_name, self.template_system, self.template_examples):
            (w.textChanged if isinstance(w, QLineEdit) else w.textChanged).connect(self._store_template)
        right.addRow(self.tr("Name"), self.template_name)
        right.addRow(self.tr("Instruction"), self.template_system)
        right.addRow(self.tr("Examples"), self.template_examples)
        self.default_template = _combo([("", self.tr("None"))] + [(t.name, t.name) for t in self.templates],
                                       settings.template)
        right.addRow(self.tr("New conversations use"), self.default_template)
        row.addLayout(left, 1)
        row.addLayout(right, 2)
        tabs.addTab(tpl, self.tr("Templates"))

        look = QWidget()
        form = QFormLayout(look)
        self.pii_guard = QCheckBox(self.tr("Hide e-mail addresses, phone, card and ID numbers in answers"))
        self.pii_guard.setChecked(settings.pii_guard)
        self.language = _combo(list(LANGUAGES.items()), settings.language)
        self.theme = _combo([("system", self.tr("Follow the system")), ("light", self.tr("Light")),
                             ("dark", self.tr("Dark"))], settings.theme)
        self.font_size = _spin(5, 28, settings.font_size or 5)
        self.font_size.setSpecialValueText(self.tr("System"))  # the lowest value stands for "the system's size"
        self.font_size.setSuffix(" pt")
        self.max_file_mb = _spin(1, 2048, engine.max_file_mb)
        self.max_pdf_pages = _spin(1, 100000, engine.max_pdf_pages)
        form.addRow(self.tr("Personal data"), self.pii_guard)
        form.addRow(self.tr("Language"), self.language)
        form.addRow(self.tr("Theme"), self.theme)
        form.addRow(self.tr("Text size"), self.font_size)
        form.addRow(self.tr("Largest file (MB)"), self.max_file_mb)
        form.addRow(self.tr("Most PDF pages"), self.max_pdf_pages)
        tabs.addTab(look, self.tr("General"))

        box = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(box)
        if self.templates:
            self.template_list.setCurrentRow(0)

    def _show_template(self, row: int) -> None:
        self._loading = True
        t = self.templates[row] if 0 <= row < len(self.templates) else PromptTemplate("")
        self.template_name.setText(t.name)
        self.template_system.setPlainText(t.system)
        self.template_examples.setPlainText(_examples_text(t))
        self._loading = False

    def _store_template(self, *_) -> None:
        row = self.template_list.currentRow()
        if getattr(self, "_loading", False) or not 0 <= row < len(self.templates):
            return
        name = self.template_name.text().strip() or self.templates[row].name
        self.templates[row] = PromptTemplate(name, self.template_system.toPlainText().strip(),
                                             _parse_examples(self.template_examples.toPlainText()))
        self.template_list.item(row).setText(name)

    def _add_template(self) -> None:
        self.templates.append(PromptTemplate(self.tr("New template")))
        self.template_list.addItem(self.templates[-1].name)
        self.template_list.setCurrentRow(len(self.templates) - 1)

    def _remove_template(self) -> None:
        row = self.template_list.currentRow()
        if 0 <= row < len(self.templates):
            del self.templates[row]
            self.template_list.takeItem(row)

    def key_storage_note(self) -> str:
        """Where the API keys (this tab's and the remote endpoint's) are kept."""
        from assistant.keys import where

        backend = where()
        return (self.tr("API keys are kept in the desktop keyring (%1).").replace("%1", backend) if backend else
                self.tr("No desktop keyring is running: API keys are kept in settings.json, which only you can read."))

    def result_settings(self) -> Settings:
        """The edited settings."""
        names = {t.name for t in self.templates}
        engine = dataclasses.replace(
            self.original.engine, llm=_value(self.llm), whisper=_value(self.whisper), vision=_value(self.vision),
            device=_value(self.device), runtime=_value(self.runtime), quantize=_value(self.quantize), max_file_mb=self.max_file_mb.value(),
            max_pdf_pages=self.max_pdf_pages.value(), remote_url=self.remote_url.text().strip(),
            remote_model=self.remote_model.text().strip(), remote_key=self.remote_key.text().strip())
        return dataclasses.replace(
            self.original, engine=engine, voice_mode=_value(self.voice_mode),
            microphone=_value(self.microphone), read_aloud=self.read_aloud.isChecked(),
            barge_in=self.barge_in.isChecked(),
            temperature=self.temperature.value(),
            max_tokens=self.max_tokens.value(), system_prompt=self.system_prompt.toPlainText().strip(),
            templates=list(self.templates),
            template=_value(self.default_template) if _value(self.default_template) in names else "",
            pii_guard=self.pii_guard.isChecked(), language=_value(self.language), theme=_value(self.theme),
            font_size=self.font_size.value() if self.font_size.value() > 5 else 0,
            server_enabled=self.server_enabled.isChecked(), server_port=self.server_port.value(),
            server_key=self.server_key.text().strip())
