#!/bin/bash
# Run `python -m models.training.speech_bundle train` on a lent GPU machine (Python 3.12 + torch, no espeak-ng, sox or
# openai-whisper, no registry). From the repo root there, with this layout carried in an ignored .gpu/ folder:
#   .gpu/speech/               python -m models.training.speech_bundle prepare .gpu/speech
#   .gpu/bin-bundle.tar.xz     tools/portable_speech_tools/build.sh .gpu/bin-bundle
#   .gpu/wheels/*.whl          openai-whisper (pip wheel --no-deps openai-whisper==20250625), tqdm, more-itertools
# Usage: BUDGET=460 bash tools/portable_speech_tools/run_on_device.sh [train flags...]; results go to $OUT.
set -eo pipefail
mkdir -p /tmp/speech-tools && tar -xJf .gpu/bin-bundle.tar.xz -C /tmp/speech-tools
export PATH=/tmp/speech-tools/bin-bundle/wrappers:$PATH
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/wheels/*.whl
# whisper imports numba (word timestamps) and tiktoken (its tokenizer) at import; training uses neither.
mkdir -p /tmp/stubs/numba /tmp/stubs/tiktoken
printf 'def jit(*a, **k):\n    return a[0] if len(a) == 1 and callable(a[0]) and not k else (lambda f: f)\n\n\nnjit = jit\n' \
    > /tmp/stubs/numba/__init__.py
printf 'class Encoding:\n    pass\n' > /tmp/stubs/tiktoken/__init__.py
export PYTHONPATH=/tmp/site:/tmp/stubs:$PWD
nvidia-smi -L || true
python3 -c "import sys, torch; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())"
espeak-ng -v en-us+m3 -w /tmp/check.wav "hello there" && sox /tmp/check.wav -r 16000 -c 1 -b 16 /tmp/check16.wav
python3 -c "import models.training.speech_bundle, models.encoders.speech, whisper"  # fail here, in seconds, if anything is missing
python3 -u -m models.training.speech_bundle train .gpu/speech --out "$OUT" --budget-s "${BUDGET:-460}" "$@" 2>&1 |
    tee "$OUT/log.txt" | grep -v -i warn | tail -60
