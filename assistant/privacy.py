"""Personal-data guard: masks e-mail addresses, phone numbers, card numbers and national ID numbers in answers,
including while they stream.

Streaming works by holding back the tail of the text that could still grow into a match (a run of digits and
separators, or the current word, which could be the start of an e-mail address) until the next delta decides it.
"""

from __future__ import annotations

import re

_KR_RRN = r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?-\s?[1-8]\d{6}(?!\d)"  # YYMMDD-Gxxxxxx
_US_SSN = r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)"
_CARD = r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_PHONE = (r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?|\d{1,4}[\s.-])\d{3,4}[\s.-]\d{4}(?!\d)"
          r"|(?<!\d)01[016789]\d{7,8}(?!\d)"  # Korean mobile without separators
          r"|(?<![\w+])\+\d{9,14}(?!\d)")

PATTERNS: list[tuple[str, re.Pattern]] = [
    ("id", re.compile(_KR_RRN)),
    ("id", re.compile(_US_SSN)),
    ("card", re.compile(_CARD)),
    ("email", re.compile(_EMAIL)),
    ("phone", re.compile(_PHONE)),
]
LABELS = {"id": "[ID number hidden]", "card": "[card number hidden]", "email": "[e-mail hidden]",
          "phone": "[phone number hidden]"}
# A tail that may still become (part of) a match: digits with separators, or an unfinished word / address.
_OPEN_TAIL = re.compile(r"(?:[+(\d][\d\s().+-]*|[A-Za-z0-9._%+-]+@?[A-Za-z0-9.-]*)$")
_MAX_HOLD = 80


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def mask(text: str, labels: dict[str, str] = LABELS) -> str:
    """Text with every e-mail address, phone, card and ID number replaced by a label."""
    for kind, pattern in PATTERNS:
        def replace(m: re.Match, kind=kind) -> str:
            if kind == "card" and not _luhn(re.sub(r"\D", "", m.group())):
                return m.group()  # a long number that is not a card number (Luhn check fails)
            return labels[kind]
        text = pattern.sub(replace, text)
    return text


class StreamMasker:
    """Feed answer deltas, get masked text that is safe to show now; `flush` at the end returns the rest."""

    def __init__(self, labels: dict[str, str] = LABELS):
        self.labels = labels
        self.pending = ""

    def feed(self, delta: str) -> str:
        """Masked text that can be shown; a tail that may still turn into personal data is held back."""
        self.pending += delta
        tail = _OPEN_TAIL.search(self.pending)
        hold = len(tail.group()) if tail else 0
        if hold > _MAX_HOLD:  # nothing personal is this long; let it go
            hold = 0
        # Never split a match: mask the whole pending text and cut at the same raw boundary.
        ready, self.pending = self.pending[: len(self.pending) - hold], self.pending[len(self.pending) - hold :]
        return mask(ready, self.labels)

    def flush(self) -> str:
        """Everything still held back, masked."""
        out, self.pending = mask(self.pending, self.labels), ""
        return out
