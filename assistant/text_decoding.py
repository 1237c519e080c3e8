"""Decoding the bytes of attached text documents: the encoding detected, binary data refused (readers:
assistant/documents.py)."""

from __future__ import annotations

from assistant.media import UserInputError

_ENCODINGS = ("utf-8-sig", "utf-16", "cp949", "latin-1")


def decode_text(data: bytes, name: str) -> str:
    """Decode text, detecting UTF-8/UTF-16 (BOM) and Korean cp949; binary data is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:  # an odd byte count (a cut-off file) or a lone surrogate
            raise UserInputError(f"{name}: damaged UTF-16 text ({e.reason} at byte {e.start})") from None
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
