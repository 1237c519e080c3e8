"""Attached documents as quoted prompt material (text-like files; richer readers come with file analysis)."""

from __future__ import annotations

from pathlib import Path

from assistant.media import UserInputError, read_bytes

MAX_FILE_BYTES = 2_000_000
MAX_PROMPT_CHARS = 12_000  # about 3k tokens: leaves room for the question and answer in a small LLM's context
_ENCODINGS = ("utf-8-sig", "utf-16", "cp949", "latin-1")


def decode_text(data: bytes, name: str) -> str:
    """Decode text, detecting UTF-8/UTF-16 (BOM) and Korean cp949; binary data is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise UserInputError(f"{name}: binary file, not a document this version can read")
    for enc in _ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
        if controls > 0.01 * min(len(text), 8192):
            raise UserInputError(f"{name}: binary file, not a document this version can read")
        return text
    raise UserInputError(f"{name}: unknown text encoding")


def read_document(path: Path) -> str:
    """Read a text document for the prompt, refusing huge, empty and binary files."""
    if path.exists() and path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
        raise UserInputError(f"{path}: file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    return decode_text(read_bytes(path), str(path))


def quote_document(name: str, text: str) -> str:
    """Frame a document as quoted data so instructions inside it are not taken as the user's."""
    note = ""
    if len(text) > MAX_PROMPT_CHARS:
        note = f"\n[... truncated: showing the first {MAX_PROMPT_CHARS} of {len(text)} characters]"
        text = text[:MAX_PROMPT_CHARS]
    return f'<document name="{name}">\n{text}{note}\n</document>'
