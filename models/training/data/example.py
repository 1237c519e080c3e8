"""The unit of adapter training data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """One supervised turn: media features (a row of a feature bank), a question and the target answer."""

    feature: int  # row in the bank
    question: str  # "" for a spoken question with no typed text
    answer: str
