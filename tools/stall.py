"""`python -m tools.stall`: how long the window's event loop stalls while the real models load and answer.

A 5 ms timer runs on the GUI thread; every gap beyond its interval is a stall the user could feel. The window is
real (offscreen unless a display is set), the engine is the real one on the bundled models.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer


class StallMeter(QObject):
    """Records event-loop gaps (ms) beyond a short timer's interval, per named phase."""

    def __init__(self, interval_ms: int = 5, parent=None):
        super().__init__(parent)
        self.interval = interval_ms
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self._tick)
        self.phase = "idle"
        self.gaps: dict[str, list[float]] = {}
        self.last = 0.0

    def start(self, phase: str) -> None:
        """Begin (or switch to) a phase."""
        self.phase = phase
        self.gaps.setdefault(phase, [])
        self.last = time.perf_counter()
        if not self.timer.isActive():
            self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps[self.phase].append(max(0.0, (now - self.last) * 1000 - self.interval))
        self.last = now

    def summary(self) -> dict:
        """Per phase: longest stall, 99th percentile and the count of stalls over 50 ms."""
        out = {}
        for phase, gaps in self.gaps.items():
            if gaps:
                ordered = sorted(gaps)
                out[phase] = {"max_ms": round(ordered[-1], 1), "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1),
                              "over_50ms": sum(g > 50 for g in gaps), "ticks": len(gaps)}
        return out


def wait_until(app, condition, timeout: float = 300, poll: float = 0.005) -> None:
    """Run the event loop until condition() holds (TimeoutError after `timeout` seconds)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(poll)


def main(argv: list[str] | None = None) -> int:
    """Load the bundled models and answer a text, an image and a spoken question, measuring stalls."""
    parser = argparse.ArgumentParser(prog="python -m tools.stall", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--settle", type=float, default=0.5, help="seconds between showing the window and loading")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="omni-stall-"))
    os.environ["ASSISTANT_DATA_DIR"], os.environ["ASSISTANT_CONFIG_DIR"] = str(tmp / "data"), str(tmp / "config")
    from tools.demo import sample_image, spoken_question
    from ui.app import build

    app, window = build([sys.argv[0]])
    meter = StallMeter()

    def wait(condition, timeout=600):
        wait_until(app, condition, timeout, poll=0.001)

    # The window's first layout and paint (fonts, styles) stall the loop with or without models: a phase of its own,
    # so "loading" measures what loading the models costs the event loop.
    meter.start("showing")
    window.show()
    shown = time.monotonic() + args.settle
    wait(lambda: time.monotonic() > shown)
    meter.start("loading")
    window.load_models()
    wait(lambda: window.ready or "Could not load" in window.status_text.text())
    if not window.ready:
        print(window.status_text.text(), file=sys.stderr)
        return 1
    questions = [("text", "Give me three tips for staying focused while studying.", None),
                 ("image", "What shape is this?", sample_image(tmp / "circle.png")),
                 ("voice", "", spoken_question(tmp / "q.wav"))]
    for name, text, attachment in questions:
        meter.start(f"answering ({name})")
        if attachment is not None:
            window.composer.add_files([attachment])
        window.composer.input.setPlainText(text)
        window.send()
        wait(lambda: not window.busy)
    summary = meter.summary()
    summary["answers"] = [m.text[:80] for m in window.messages.widgets() if m.role == "assistant"]
    return report(summary, args.json, window)


def report(summary: dict, json_path: Path | None, window) -> int:
    """Print the summary as JSON (and write it to json_path), close the measured window; the exit status."""
    from PySide6.QtWidgets import QApplication

    print(json.dumps(summary, indent=1, ensure_ascii=False))
    if json_path:
        json_path.write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    window.close()
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
