"""Which decoder runtime runs the LLM, and the one interface both give the engine.

llama.cpp runs a GGUF as shipped (mmap, quantized CPU kernels, no torch); torch runs transformers weights (GPUs,
training, hub or local transformers models). Both answer generate() with a models.decoders.sampling.Decoding stream.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Container, ContextManager, Protocol

from models.decoders.sampling import Decoding, SamplingOptions
from models.weights.catalog import BUNDLED, canonical, resolve, resolve_gguf

if TYPE_CHECKING:
    from models.device import Placement

RUNTIMES = ("auto", "llama.cpp", "torch")


class Decoder(Protocol):
    """A loaded decoder LLM on some runtime, with one KV cache reused across turns (not reentrant)."""

    name: str
    hidden_size: int  # the width adapters must produce
    context_length: int
    eos_ids: Container[int]

    def prompt_ids(self, messages: list[dict], media_lengths: list[int]) -> tuple[list[int], list[int]]: ...

    def generate(self, ids: list[int], media_index: list[int], keys: list, media: Any, options: SamplingOptions,
                 cancel: threading.Event | None = None) -> Decoding: ...

    def tokenize(self, text: str, special: bool) -> list[int]: ...

    def detokenize(self, tokens: list[int]) -> str: ...

    def vocab(self) -> Any: ...

    def reset(self) -> None: ...

    @property
    def cached_keys(self) -> list:
        """What the cache that answered last holds, one key per position (a token id, or a media hash and offset)."""
        ...

    def aside(self) -> ContextManager[None]:
        """While it lasts, generate something other than the conversation; afterwards its cache is as it was."""
        ...


def cuda_present() -> bool:
    """Whether an NVIDIA GPU driver is loaded, known without importing torch (torch confirms it when it loads)."""
    return Path("/proc/driver/nvidia/gpus").is_dir() and any(Path("/proc/driver/nvidia/gpus").iterdir())


def choose_runtime(llm: str, runtime: str, device: str) -> str:
    """ "llama.cpp" or "torch" for a model name. auto: llama.cpp for a bundled or local GGUF unless a GPU will run
    the model (device cuda, or auto with a GPU present); torch for everything else (hub ids, transformers dirs)."""
    if runtime != "auto":
        return runtime
    gguf = canonical(llm) in BUNDLED or llm.endswith(".gguf")
    gpu = device == "cuda" or (device == "auto" and cuda_present())
    return "llama.cpp" if gguf and not gpu else "torch"


def load_decoder(config, placement: Callable[[], "Placement"]) -> Decoder:
    """The decoder LLM that config (an assistant EngineConfig) names, on the runtime it asks for."""
    if choose_runtime(config.llm, config.runtime, config.device) == "llama.cpp":
        from models.decoders.llama_cpp_runtime import LlamaCppLLM

        path = resolve_gguf(config.llm)
        return LlamaCppLLM(llm_name(config.llm), path, threads=config.threads, slots=config.parallel + 1)
    from models.decoders.generation import TorchLLM
    from models.decoders.llm import LLM

    r = resolve(config.llm, "llm")
    return TorchLLM(LLM.load(r.name, r.path, placement(), int8=config.quantize == "int8"))



def llm_name(name: str) -> str:
    """The name a model setting (an LLM's, or an encoder's) stands for, as adapters are keyed: a tier's model, a
    local path's file or folder name (without .gguf), else the name itself (bundled or hub)."""
    name = canonical(name)
    if name in BUNDLED:
        return name
    local = Path(name).expanduser()
    return (local.stem if local.suffix == ".gguf" else local.name) if local.exists() else name
