"""Conversations: messages made of text, image, audio and file parts, and the events a response yields."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol, Union

if TYPE_CHECKING:  # only for annotations: conversations and events stay importable without torch
    from models.decoders.sampling import SamplingOptions


@dataclass(frozen=True)
class TextPart:
    """Plain text."""

    text: str


def _label(name: str, source: Union[Path, bytes]) -> str:
    """The name to show and cite: the user's, else the file's own."""
    return name or (source.name if isinstance(source, Path) else "")


@dataclass(frozen=True)
class ImagePart:
    """An image, from a file or as encoded bytes (PNG, JPEG, ...)."""

    source: Union[Path, bytes]
    name: str = ""  # the user's file name (the stored copy may be named by its hash)

    @property
    def label(self) -> str:
        """The name to show."""
        return _label(self.name, self.source)


@dataclass(frozen=True)
class AudioPart:
    """A voice recording, from a file or as encoded bytes (anything ffmpeg reads)."""

    source: Union[Path, bytes]
    name: str = ""  # the user's file name (the stored copy may be named by its hash)

    @property
    def label(self) -> str:
        """The name to show."""
        return _label(self.name, self.source)


@dataclass(frozen=True)
class FilePart:
    """A document the user attached; its contents are data for the model, never instructions."""

    path: Path
    name: str = ""  # the user's file name (the stored copy may be named by its hash)

    @property
    def label(self) -> str:
        """The name to show and cite."""
        return _label(self.name, self.path)


Part = Union[TextPart, ImagePart, AudioPart, FilePart]


@dataclass(frozen=True)
class Message:
    """One turn: role is "system", "user" or "assistant"."""

    role: str
    parts: tuple[Part, ...]

    @classmethod
    def user(cls, text: str = "", images=(), audio=None, files=()) -> "Message":
        """Build a user message from the pieces a front end collects."""
        parts: list[Part] = [ImagePart(Path(p)) for p in images]
        if audio is not None:
            parts.append(AudioPart(Path(audio)))
        parts += [FilePart(Path(p)) for p in files]
        if text:
            parts.append(TextPart(text))
        return cls("user", tuple(parts))

    @classmethod
    def assistant(cls, text: str) -> "Message":
        """An earlier answer."""
        return cls("assistant", (TextPart(text),))

    @property
    def text(self) -> str:
        """All text parts joined."""
        return "\n".join(p.text for p in self.parts if isinstance(p, TextPart))


# Events yielded by Engine.respond, in order: Transcript? TokenDelta* (Done | Error).


@dataclass(frozen=True)
class TokenDelta:
    """A piece of the answer's text, as it streams."""

    text: str


@dataclass(frozen=True)
class Transcript:
    """What the user said in the last message's recording (cascade transcription)."""

    text: str


@dataclass(frozen=True)
class Timings:
    """How one answer went: latency, length and speed (the CLI's --json, the API's usage, the window's stats)."""

    ttft_ms: float = 0.0  # from the request to the first token
    total_ms: float = 0.0
    tokens: int = 0  # generated
    tokens_per_s: float = 0.0  # decode speed after the first token
    prompt_tokens: int = 0
    reused_prompt_tokens: int = 0  # prompt tokens whose KV cache was kept from the previous turn


@dataclass(frozen=True)
class Done:
    """The answer finished (finish_reason: stop, length or cancelled)."""

    answer: str
    finish_reason: str
    timings: Timings = Timings()
    models: dict = field(default_factory=dict)  # role -> model name
    sources: tuple[str, ...] = ()  # "file, page 3" for each document part handed to the model
    left_out: tuple[str, ...] = ()  # "file: why" for each attachment of the question that could not be read


class ErrorKind(Enum):
    """Whose fault an Error is; the API server answers each kind with its own HTTP status."""

    USER_INPUT = "user_input"  # the request itself cannot be answered (400)
    UNAVAILABLE = "unavailable"  # no engine to answer yet: the models are (re)loading (503)
    INTERNAL = "internal"  # a fault on our side: a bug, a crashed model (500)


@dataclass(frozen=True)
class Error:
    """The request could not be answered; message is one line meant for the user."""

    message: str
    kind: ErrorKind = ErrorKind.USER_INPUT


Event = Union[TokenDelta, Transcript, Done, Error]


class Backend(Protocol):
    """What every front end needs of an engine: the local Engine, the RemoteEngine and the tests' fakes."""

    def respond(self, conversation: list[Message], options: SamplingOptions = ..., voice_mode: str = "cascade",
                cancel: threading.Event | None = None, leave_out_unreadable: bool = False) -> Iterator[Event]:
        """Stream the answer to the conversation's last user message: Transcript? TokenDelta* (Done | Error)."""
        ...

    def preload(self, speech: bool = False, vision: bool = False) -> None:
        """Load (or reach) the models now rather than on the first question."""
        ...

    @property
    def parallel(self) -> int:
        """How many answers it works on at once (the engine queue starts that many of the API's)."""
        ...

    def model_names(self) -> dict:
        """The models in use, by role ("llm", ...)."""
        ...

    def has_adapter(self, modality: str) -> bool:
        """Whether image or speech input can be understood natively."""
        ...
