"""A virtual microphone for screenshots, benchmarks and end-to-end tests: a PulseAudio null sink whose monitor is
remapped into a source. Whatever is played into the sink is what the app "hears". What the app plays goes to a
second null sink, the virtual headphones, so it does not hear itself (unless a test plays into the microphone)."""

from __future__ import annotations

import bisect
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

SINK, SOURCE, HEADPHONES = "omni_vsink", "omni_vmic", "omni_vheadphones"


class VirtualMicrophone:
    """Start PulseAudio if needed, add the sink and source, remove them again on close."""

    def __init__(self):
        self.modules: list[str] = []
        self.default_sink = ""

    @staticmethod
    def available() -> bool:
        """Whether pulseaudio and pactl are installed."""
        return bool(shutil.which("pulseaudio") and shutil.which("pactl") and shutil.which("paplay"))

    def __enter__(self) -> VirtualMicrophone:
        if not self.available():
            raise RuntimeError("pulseaudio, pactl and paplay are needed (apt-get install pulseaudio pulseaudio-utils)")
        if subprocess.run(["pactl", "info"], capture_output=True, check=False).returncode != 0:
            subprocess.run(["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "--disallow-exit"],
                           capture_output=True, check=False)
            for _ in range(50):
                if subprocess.run(["pactl", "info"], capture_output=True, check=False).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError("PulseAudio did not start")
        sources = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True, text=True,
                                 check=False).stdout
        modules = []
        if SOURCE not in sources:
            modules += [["module-null-sink", f"sink_name={SINK}"],
                        ["module-remap-source", f"master={SINK}.monitor", f"source_name={SOURCE}"]]
        if HEADPHONES not in _pactl("list", "short", "sinks"):
            modules.append(["module-null-sink", f"sink_name={HEADPHONES}"])
        for args in modules:
            out = subprocess.run(["pactl", "load-module", *args], capture_output=True, text=True, check=True)
            self.modules.append(out.stdout.strip())
        self.default_sink = _pactl("get-default-sink")
        _pactl("set-default-sink", HEADPHONES)
        return self

    @property
    def device_id(self) -> str:
        """The QtMultimedia device id of the virtual microphone."""
        return SOURCE

    def play(self, wav: Path, wait: bool = False) -> subprocess.Popen:
        """Play a WAV file into the microphone."""
        proc = subprocess.Popen(["paplay", "-d", SINK, str(wav)])
        if wait:
            proc.wait()
        return proc

    def __exit__(self, *exc) -> None:
        if self.default_sink and self.default_sink != HEADPHONES:
            _pactl("set-default-sink", self.default_sink)
        for module in reversed(self.modules):
            subprocess.run(["pactl", "unload-module", module], capture_output=True, check=False)


class Monitor:
    """What is played into a sink, recorded from its monitor on a thread as the peak of each BLOCK of 16 kHz audio
    with the time.monotonic() it arrived: when a sound starts or ends is read here, outside the app (the
    microphone's sink for the end of a question's speech, the headphones' for the first audio of its answer)."""

    BLOCK = 160  # 10 ms
    LOUD = 0.01  # a peak above this is sound (the null sinks carry exact silence otherwise)

    def __init__(self, sink: str):
        self.sink = sink
        self.times: list[float] = []  # each block's arrival, increasing
        self.peaks: list[float] = []  # its peak in [0, 1]
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Monitor:
        self.proc = subprocess.Popen(["parec", "-d", f"{self.sink}.monitor", "--raw", "--format=s16le",
                                      "--rate=16000", "--channels=1", "--latency-msec=10"], stdout=subprocess.PIPE)
        threading.Thread(target=self._read, name=f"monitor-{self.sink}", daemon=True).start()
        return self

    def _read(self) -> None:
        while (data := self.proc.stdout.read(self.BLOCK * 2)):
            peak = float(np.abs(np.frombuffer(data, np.int16)).max(initial=0)) / 32768
            self.peaks.append(peak)  # before its time: a reader that sees the time sees the peak
            self.times.append(time.monotonic())

    def first_loud(self, after: float) -> float | None:
        """When the first sound after `after` arrived (None: none yet). Found by bisection: a bench polls this
        every few milliseconds for minutes, and a scan from the start would load the app it measures."""
        end = len(self.times)
        return next((self.times[i] for i in range(bisect.bisect_right(self.times, after, 0, end), end)
                     if self.peaks[i] > self.LOUD), None)

    def last_loud(self, after: float, before: float = float("inf")) -> float | None:
        """When the last sound between `after` and `before` arrived."""
        end = len(self.times)
        first, last = bisect.bisect_right(self.times, after, 0, end), bisect.bisect_left(self.times, before, 0, end)
        return next((self.times[i] for i in range(last - 1, first - 1, -1) if self.peaks[i] > self.LOUD), None)

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def _pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, check=False).stdout.strip()
