"""A fake engine with the real one's interface, and a window built on it with its own data directory."""

import time
from pathlib import Path

import pytest

from assistant.conversation import AudioPart, Done, Error, Timings, TokenDelta, Transcript
from assistant.history import History
from assistant.settings import Settings


class FakeEngine:
    """Streams a scripted answer word by word; records every conversation it was asked to answer (`seen`), and
    apart from them the voice chat's rehearsals (`rehearsed`: an utterance not yet stored, as WAV bytes)."""

    def __init__(self, answer="Hello there, friend.", delay=0.0, error=None, load_delay=0.0, finish="stop",
                 left_out=(), resume=None):
        self.answer, self.delay, self.error, self.load_delay, self.finish = answer, delay, error, load_delay, finish
        self.resume = resume  # a threading.Event: at each sentence's end the answer waits until it is set (<= 30 s)
        self.left_out = left_out  # what Done reports as unreadable attachments
        self.seen = []
        self.rehearsed = []
        self.lenient = []  # per request: whether an unreadable attachment was to be left out, not an error
        self.preloaded = False
        self.config = None  # the EngineConfig the worker built this engine from

    def preload(self, speech=False, vision=False):
        time.sleep(self.load_delay)
        self.preloaded = True

    parallel = 1

    def model_names(self):
        return {"llm": "fake-llm", "whisper": "fake-whisper", "vision": "fake-vision"}

    def respond(self, conversation, options, voice_mode="cascade", cancel=None, leave_out_unreadable=False):
        if any(isinstance(p, AudioPart) and isinstance(p.source, bytes) for p in conversation[-1].parts):
            self.rehearsed.append((conversation, options, voice_mode))
        else:
            self.lenient.append(leave_out_unreadable)
            self.seen.append((conversation, options, voice_mode))
        if voice_mode == "cascade" and any(isinstance(p, AudioPart) for p in conversation[-1].parts):
            yield Transcript("what is the capital of France")
        if self.error:
            yield Error(self.error)
            return
        pieces = [w + " " for w in self.answer.split(" ")]
        pieces[-1] = pieces[-1].rstrip(" ")
        out = []
        for piece in pieces:
            if cancel is not None and cancel.is_set():
                yield Done("".join(out), "cancelled", Timings(ttft_ms=5.0, tokens_per_s=10.0), self.model_names())
                return
            time.sleep(self.delay)
            out.append(piece)
            yield TokenDelta(piece)
            if self.resume is not None and piece.rstrip().endswith("."):
                self.resume.wait(30)
        yield Done("".join(out), self.finish, Timings(ttft_ms=12.0, tokens_per_s=42.5, tokens=len(out)),
                   self.model_names(), (), tuple(self.left_out))


@pytest.fixture(scope="session", autouse=True)
def microphone():
    """The virtual microphone, when PulseAudio is installed, made before any test touches QtMultimedia: Qt connects
    to the sound server once, on the first device query, and a server started after that is never seen."""
    from tools.virtual_mic import VirtualMicrophone

    if not VirtualMicrophone.available():
        yield None
        return
    with VirtualMicrophone() as mic:
        yield mic


@pytest.fixture
def fake():
    return FakeEngine()


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_CONFIG_DIR", str(tmp_path / "config"))
    windows = []

    def make(engine, settings=None, load=True, history_dir=None):
        from ui.window import MainWindow

        history = History(history_dir or tmp_path / "data")

        def factory(config, progress):
            engine.config, engine.progress = config, progress  # progress: how the real engine reports a lazy load
            return engine

        w = MainWindow(settings or Settings(), history, factory, tmp_path / "config" / "settings.json")
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        if load:
            w.load_models()
            qtbot.waitUntil(lambda: w.ready, timeout=10_000)
        return w

    yield make
    for w in windows:
        w.close()
        w.history.close()


def wait_idle(qtbot, window, timeout=10_000):
    qtbot.waitUntil(lambda: not window.busy, timeout=timeout)


def write_wav(path: Path, seconds: float = 1.0) -> Path:
    import numpy as np

    from ui.recorder import to_wav

    t = np.arange(int(16000 * seconds)) / 16000
    path.write_bytes(to_wav(0.3 * np.sin(2 * np.pi * 220 * t)))
    return path


