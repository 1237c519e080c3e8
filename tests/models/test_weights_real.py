"""The bundled LLMs' GGUF files on the real packages: joined in the right order, byte for byte (skipped when a model's
packages are not installed; `python -m assistant install NAME` installs one)."""

from pathlib import Path

import pytest

from models.weights.cache import sha256
from models.weights.catalog import BUNDLED, MissingWeightsError, resolve_gguf, source_files

pytestmark = pytest.mark.weights


def installed(name: str) -> bool:
    try:
        source_files(name)
        return True
    except MissingWeightsError:
        return False


def needs(name: str):
    return pytest.mark.skipif(not installed(name), reason=f"{name} not installed (python -m assistant install {name})")


def gguf_header(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(4)


@needs("qwen2.5-coder-1.5b-instruct")
def test_quality_tier_joins_to_the_published_file():
    path = resolve_gguf("quality", verify=True)
    assert path.stat().st_size == 1_117_320_768 and gguf_header(path) == b"GGUF"
    digest = sha256(path)
    assert digest.startswith("cc324af0") and digest.endswith("bb046"), digest  # the Q4_K_M file


@needs("qwen2.5-coder-0.5b-instruct")
def test_the_0_5b_joins_to_one_gguf():
    path = resolve_gguf("qwen2.5-coder-0.5b-instruct", verify=True)
    assert path.stat().st_size == 491_400_064 and gguf_header(path) == b"GGUF"
    assert sha256(path) == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


@needs("smollm2-135m-instruct")
def test_fast_tier_is_the_package_file_itself():
    path = resolve_gguf("fast", verify=True)
    assert path == source_files("smollm2-135m-instruct")[0] and path.name == BUNDLED["smollm2-135m-instruct"].files[0]
    assert gguf_header(path) == b"GGUF"
