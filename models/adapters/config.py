"""What an adapter is and where it lives, without torch: its config, the directory convention, the mismatch error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# The instruction for transcription through the LLM (an alignment objective trains with it). For the shipped CTC
# adapter, this wording gave 84% WER against 241% for "Transcribe this recording exactly." on 12 held-out clips.
TRANSCRIBE_PROMPT = "Repeat the sentence above exactly, word for word."


class AdapterMismatchError(ValueError):
    """An adapter was trained for a different encoder or LLM than the ones loaded."""


@dataclass(frozen=True)
class AdapterConfig:
    """Saved as config.json beside model.safetensors; names the models the adapter was trained for."""

    modality: str  # "image" | "speech"
    encoder: str  # e.g. "efficientnet-lite0", "whisper-base"
    llm: str  # e.g. "smollm2-135m-instruct"
    in_dim: int  # encoder feature width
    out_dim: int  # LLM hidden size
    hidden_dim: int
    stack: int = 1  # speech: encoder frames stacked per soft token (50 fps / stack tokens per second)
    ctc: bool = False  # speech: CTC over the LLM's vocabulary, one soft token per emitted token (CTCProjector)
    alphabet: str = ""  # speech, ctc: CTC over these characters instead (SpellingProjector; space first)
    recurrent: int = 0  # speech, alphabet: the width of each direction of the spelling adapter's LSTM
    # image, GroundedProjector: up to `grounded` ImageNet class names the tower's own classifier gives, as the LLM's
    # token embeddings, before the spatial tokens (none when hidden_dim is 0). 0: a plain Projector.
    grounded: int = 0
    sure: float = 0.0  # grounded: top class probability from which the name is stated, not offered as a guess
    floor: float = 0.0  # grounded: classes under this probability are not named (none: "not recognised")
    classes: int = 0  # grounded: classifier rows (1000 for ImageNet)
    name_tokens: int = 0  # grounded: longest class name in LLM tokens (the stored id table's width)
    phrase_tokens: int = 0  # grounded: longest framing phrase in LLM tokens
    shapes: int = 0  # grounded: most flat shapes a drawing is described by ("Drawing of a red circle."); 0: none
    word_tokens: int = 0  # grounded, shapes: longest colour or shape word in LLM tokens


def read_config(directory: Path, name: str = "config.json") -> AdapterConfig:
    """The AdapterConfig saved in an adapter directory (OSError if missing; ValueError or TypeError if damaged)."""
    return AdapterConfig(**json.loads((Path(directory) / name).read_text()))


TRAINED_ROOT = Path(__file__).resolve().parents[1] / "trained"


def adapter_dir(modality: str, encoder: str, llm: str, override: str = "") -> Path:
    """Where the adapter for an encoder/LLM pair lives: models/trained/<modality>--<encoder>--<llm>/, unless
    `override` names a directory. Training writes there and the engine reads from there."""
    return Path(override) if override else TRAINED_ROOT / f"{modality}--{encoder}--{llm}"
