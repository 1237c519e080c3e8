"""Fitting documents into a small LLM's context: whole when small, otherwise the chunks most relevant to the
question (MiniLM embeddings), always with the table statistics; every piece keeps its location for citations."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from assistant.documents import Document, Segment, read

CHUNK_CHARS = 1200


@dataclass(frozen=True)
class Excerpt:
    """What of a document goes into the prompt, and the locations cited for it."""

    document: Document
    segments: list[Segment]
    retrieved: bool  # False: the whole document fitted
    ranked: bool = False  # True: the pieces were chosen by relevance, not just taken from the beginning

    @property
    def sources(self) -> list[str]:
        """'name, where' for each piece handed to the model."""
        return [f"{self.document.name}, {s.where}" for s in self.segments]


def chunks(doc: Document, size: int = CHUNK_CHARS) -> list[Segment]:
    """The document's segments, long ones split at line breaks into pieces of about `size` characters."""
    out = []
    for seg in doc.segments:
        if len(seg.text) <= size:
            out.append(seg)
            continue
        piece: list[str] = []
        length = 0
        for line in seg.text.splitlines():
            while len(line) > size:  # a single enormous line
                if piece:
                    out.append(Segment("\n".join(piece), seg.where))
                    piece, length = [], 0
                out.append(Segment(line[:size], seg.where))
                line = line[size:]
            if length + len(line) > size and piece:
                out.append(Segment("\n".join(piece), seg.where))
                piece, length = [], 0
            piece.append(line)
            length += len(line) + 1
        if piece:
            out.append(Segment("\n".join(piece), seg.where))
    return out


def select(doc: Document, question: str, budget: int,
           embed: Callable[[list[str]], torch.Tensor] | None, max_chunks: int = 4) -> Excerpt:
    """The whole document if it fits in `budget` characters, else its `max_chunks` most relevant chunks that fit
    (shown in document order)."""
    if len(doc.text) + len(doc.facts) <= budget or embed is None:
        segments, total = [], len(doc.facts)
        for seg in doc.segments:  # without embeddings: the beginning, as much as fits
            if total + len(seg.text) > budget and segments:
                break
            segments.append(Segment(seg.text[: max(0, budget - total)], seg.where))
            total += len(seg.text)
        shown = sum(len(s.text) for s in segments)
        return Excerpt(doc, segments, retrieved=shown < sum(len(s.text) for s in doc.segments))
    pieces = chunks(doc)
    vectors = embed([question or "summary of the document"] + [p.text for p in pieces])
    scores = (vectors[1:] @ vectors[0]).tolist()
    order = sorted(range(len(pieces)), key=lambda i: -scores[i])
    chosen, total = [], len(doc.facts)
    for i in order:
        if len(chosen) == max_chunks:
            break
        if total + len(pieces[i].text) > budget:
            continue
        chosen.append(i)
        total += len(pieces[i].text)
    return Excerpt(doc, [pieces[i] for i in sorted(chosen)], retrieved=True, ranked=True)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


_DOCUMENT_TAG = re.compile(r"<(\s*/?\s*document)", re.IGNORECASE)


def _body(text: str) -> str:
    # A document must not be able to end its own quotation (in any letter case or spacing) and speak outside it,
    # nor open a quotation of its own.
    return _DOCUMENT_TAG.sub(r"<\\\1", text)


def quote(excerpt: Excerpt) -> str:
    """The prompt text for an excerpt: quoted, with name, kind, language and location of every piece."""
    doc = excerpt.document
    lang = f' language="{_attr(doc.language)}"' if doc.language else ""
    head = f'name="{_attr(doc.name)}" kind="{doc.kind}"{lang}'
    parts = []
    if doc.facts:
        parts.append(f'<document {head} part="statistics computed by the app">\n{_body(doc.facts)}\n</document>')
    for seg in excerpt.segments:
        parts.append(f'<document {head} part="{_attr(seg.where)}">\n{_body(seg.text)}\n</document>')
    if excerpt.ranked:
        parts.append(f"(Only the parts of {doc.name} most relevant to the question are shown.)")
    elif excerpt.retrieved:
        parts.append(f"(Only the beginning of {doc.name} fits; the rest is truncated.)")
    return "\n".join(parts)


def fit(doc: Document, question: str, budget: int,
        embed: Callable[[list[str]], torch.Tensor] | None = None) -> tuple[str, list[str]]:
    """(quoted prompt text, cited parts) for a document within `budget` characters."""
    excerpt = select(doc, question, budget, embed)
    return quote(excerpt), excerpt.sources


def quote_file(path: Path, name: str, question: str, budget: int) -> tuple[str, list[str]]:
    """Read a file with the default limits (no OCR, no speech, no embeddings) and fit it: for front ends and
    backends without the Engine's models."""
    doc = read(path)
    doc.name = name
    return fit(doc, question, budget)
