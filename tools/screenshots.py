"""`python -m tools.screenshots OUTDIR`: screenshots of the real window on the bundled models.

Runs under Xvfb (started through xvfb-run when no display is set) with its own temporary data and config
directories, so the user's history is never touched. Voice goes through a PulseAudio virtual microphone when
PulseAudio is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tools.screenshot_set import HD, Shot

# A terminal screenshot to paste (not one of the evaluation set's pictures).
PASTED = Shot("readme-error", "error", "en", HD, ("$ python3 invoice.py", "Traceback (most recent call last):",
              '  File "invoice.py", line 12, in <module>', "    share = total / people",
              "ZeroDivisionError: division by zero"), "", (), "terminal", "mono")


def _settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


PHOTO = "windmill11.webp"  # a held-out gcompris photograph of a kind ImageNet lacks


def _held_out_photo(name: str) -> Path | None:
    """The held-out gcompris photograph of that file name, or None where the photographs are not extracted."""
    from models.training.data.gcompris import photos

    try:
        return next(p.path for p in photos() if p.path.name == name and p.held_out)
    except (FileNotFoundError, StopIteration):
        return None


def take(out: Path) -> list[Path]:
    """Drive the real window through each scene and save PNGs into out."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent, QImage

    from tools.demo import sample_image, spoken_question
    from ui.app import build
    from ui.i18n import install_language
    from ui.settings_dialog import SettingsDialog
    from tools.stall import wait_until
    from tools.virtual_mic import VirtualMicrophone

    tmp = Path(tempfile.mkdtemp(prefix="omni-shots-"))
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    app, window = build([sys.argv[0]])
    window.resize(1200, 820)
    window.show()

    def shot(name: str, widget=None) -> None:
        _settle(app)
        path = out / f"{name}.png"
        (widget or window).grab().save(str(path))
        saved.append(path)
        print(f"wrote {path}", flush=True)

    window.load_models()
    shot("01-empty-window")  # the window is up while the models are still loading
    wait_until(app, lambda: window.ready or window.progress.value() >= 50, 900)
    if not window.ready:  # a later loading step, with its percentage
        shot("12-loading")
    wait_until(app, lambda: window.ready or "Could not" in window.status_text.text(), 900)
    if not window.ready:
        raise RuntimeError(window.status_text.text())

    def ask(text: str, attachment: Path | None = None) -> None:
        if attachment is not None:
            window.composer.add_files([attachment])
        window.composer.input.setPlainText(text)
        window.send()
        wait_until(app, lambda: not window.busy)

    window.settings = replace(window.settings, temperature=0.0)
    ask("What shape is this?", sample_image(tmp / "circle.png"))
    shot("02-image-question")
    photo = _held_out_photo(PHOTO)
    if photo is not None:  # a real photograph the image adapter never saw (gcompris-qt-data, installed by set-up)
        window.new_conversation()
        ask("What is in this picture?", photo)
        shot("10-photo-question")
    window.new_conversation()
    ask("Write a Python function that adds two numbers.")
    shot("03-code-answer")
    window.settings = replace(window.settings, temperature=0.8)  # another answer, kept beside the first
    window.regenerate()
    wait_until(app, lambda: not window.busy)
    window.settings = replace(window.settings, temperature=0.0)
    shot("11-versions")

    window.new_conversation()
    speech = spoken_question(tmp / "question.wav")
    if VirtualMicrophone.available():
        with VirtualMicrophone() as mic:
            window.settings = replace(window.settings, microphone=mic.device_id)
            window.composer.start_recording()
            player = mic.play(speech)
            _settle(app, 1.2)
            shot("04-recording")
            wait_until(app, lambda: player.poll() is not None, 60)  # keep the event loop (and the recorder) running
            _settle(app, 0.5)
            window.composer.stop_recording()
            wait_until(app, lambda: not window.busy)
            shot("05-voice-answer")
            window.new_conversation()  # the hands-free voice chat: it hears the question, answers aloud
            window.composer.converse_button.click()
            _settle(app, 2.0)
            mic.play(speech)
            wait_until(app, lambda: window.speaking, 120)
            _settle(app, 1.0)
            shot("14-voice-chat")
            wait_until(app, lambda: not window.busy and not window.speaking, 120)
            window.composer.converse_button.click()
    else:  # no PulseAudio: the same question as an audio file
        ask("", speech)
        shot("05-voice-answer")

    window.new_conversation()  # a screenshot pasted from the clipboard, answered from its text
    pasted = QMimeData()
    pasted.setImageData(QImage.fromData(PASTED.png()))
    window.composer.input.insertFromMimeData(pasted)
    ask("What does this error mean?")
    shot("15-pasted-screenshot")

    window.new_conversation()
    doc = tmp / "meeting-notes.md"
    doc.write_text("# Team meeting, 3 March\n\n- The launch moves to 14 April.\n- Mina owns the release notes.\n"
                   "- Budget for the beta: 12,000 euros.\n", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(doc))])
    window.dropEvent(QDropEvent(QPointF(400, 400), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    window.composer.input.setPlainText("When is the launch?")
    shot("06-dropped-document")
    window.send()
    wait_until(app, lambda: not window.busy)
    fake_pdf = tmp / "budget.pdf"  # named a PDF, but text inside: marked on its chip, left out when sent
    fake_pdf.write_text("not really a PDF", encoding="utf-8")
    window.composer.add_files([fake_pdf, doc])
    window.composer.input.setPlainText("Summarize these.")
    shot("13-bad-file")
    window.composer.discard()
    window.composer.input.clear()

    dialog = SettingsDialog(window.settings, window)
    dialog.resize(680, 500)
    dialog.show()
    shot("07-settings", dialog)
    dialog.close()

    install_language(app, "ko")
    window.apply_settings(replace(window.settings, language="ko"))
    window.open_conversation(window.history.conversations()[0].id)
    shot("08-korean")
    install_language(app, "en")
    window.apply_settings(replace(window.settings, language="en", theme="dark"))
    window.open_conversation(window.history.conversations()[-1].id)
    shot("09-dark-theme")
    window.close()
    window.history.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return saved


def main(argv: list[str] | None = None) -> int:
    """Re-run under xvfb-run when there is no display; otherwise take the screenshots."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tools.screenshots OUTDIR", file=sys.stderr)
        return 2
    if not os.environ.get("DISPLAY") and not os.environ.get("OMNI_UNDER_XVFB"):
        if shutil.which("xvfb-run") is None:
            print("no display and no xvfb-run (apt-get install xvfb)", file=sys.stderr)
            return 1
        env = {**os.environ, "OMNI_UNDER_XVFB": "1"}
        return subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1400x1000x24", sys.executable, "-m",
                               "tools.screenshots", *argv], env=env, check=False).returncode
    tmp = Path(tempfile.mkdtemp(prefix="omni-shots-home-"))
    os.environ["ASSISTANT_DATA_DIR"], os.environ["ASSISTANT_CONFIG_DIR"] = str(tmp / "data"), str(tmp / "config")
    take(Path(argv[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
