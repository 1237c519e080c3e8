"""Conversations: messages made of text, image, audio and file parts, and the events a response yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union


@dataclass(frozen=True)
class TextPart:
    """Plain text."""

    text: str


@dataclass(frozen=True)
class ImagePart:
    """An image, from a file or as encoded bytes (PNG, JPEG, ...)."""

    source: Union[Path, bytes]


@dataclass(frozen=True)
class AudioPart:
    """A voice recording, from a file or as encoded bytes (anything ffmpeg reads)."""

    source: Union[Path, bytes]


@dataclass(frozen=True)
class FilePart:
    """A document the user attached; its contents are data for the model, never instructions."""

    path: Path
    name: str = ""  # the user's file name (the stored copy may be named by its hash)

    @property
    def label(self) -> str:
        """The name to show and cite."""
        return self.name or self.path.name


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
class Done:
    """The answer finished (finish_reason: stop, length or cancelled)."""

    answer: str
    finish_reason: str
    timings: dict = field(default_factory=dict)  # ttft_ms, total_ms, tokens, tokens_per_s, prompt_tokens, ...
    models: dict = field(default_factory=dict)  # role -> model name
    sources: tuple[str, ...] = ()  # "file, page 3" for each document part handed to the model


@dataclass(frozen=True)
class Error:
    """The request could not be answered; message is one line meant for the user."""

    message: str
    internal: bool = False  # a fault on our side (a bug, a crashed model), not in the request: HTTP 500, not 400


Event = Union[TokenDelta, Transcript, Done, Error]
