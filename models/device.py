"""The one place that decides device and dtype."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")


class DeviceUnavailableError(RuntimeError):
    """The requested device is not present on this machine; the message says what was asked for."""


@dataclass(frozen=True)
class Placement:
    """Where models run and in which floating-point type."""

    device: torch.device
    dtype: torch.dtype


def choose_placement(preference: str = "auto") -> Placement:
    """CUDA + bf16 when a GPU is present (or asked for), fp32 on CPU.

    preference: "auto", "cpu" or "cuda". Asking for "cuda" without a GPU raises a clear error.
    """
    if preference not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {preference!r}")
    import torch  # here, not at import: a text-only llama.cpp process never loads torch

    if preference == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError("device 'cuda' was requested but no CUDA GPU is available; choose cpu or auto")
    if preference != "cpu" and torch.cuda.is_available():
        return Placement(torch.device("cuda"), torch.bfloat16)
    return Placement(torch.device("cpu"), torch.float32)
