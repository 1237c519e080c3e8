"""Fitting documents into a small LLM's context: whole when small, otherwise the chunks most relevant to the
question (MiniLM embeddings), always with the table statistics; every piece keeps its location for citations."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.documents import Document, Segment, picture_document, read

if TYPE_CHECKING:
    import torch

CHUNK_CHARS = 1200
# At most this many chunks are embedded per question. Embedding every chunk made a 2 MB file (1,700 chunks) take
# 120 s and a 20 MB one (20,000) far longer; MiniLM costs ~0.1-0.17 s a chunk on a busy 2-core CPU. 96 keeps a
# document of up to ~110 KB (the 80-chunk retrieval_eval handbook) fully embedded: with 32, only the BM25 pre-selection
# saw paraphrased questions and 7/12 answers were handed to the model instead of 12/12.
MAX_EMBEDDED = 96
STATISTICS = "statistics computed by the app"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Excerpt:
    """What of a document goes into the prompt, and the locations cited for it."""

    document: Document
    segments: list[Segment]
    truncated: bool  # True: only part of the document is shown (False: the whole of it fitted)
    ranked: bool = False  # True: the pieces were chosen by relevance, not just taken from the beginning
    facts: str = ""  # the table statistics shown (those of the document, cut to their share of the budget)

    @property
    def sources(self) -> list[str]:
        """'name, where' for each piece handed to the model."""
        return list(dict.fromkeys(f"{self.document.name}, {s.where}" for s in self.segments))  # chunks may share one


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


def candidates(pieces: list[Segment], question: str, limit: int = MAX_EMBEDDED) -> list[int]:
    """Indices (in document order) of at most `limit` pieces worth embedding: the best BM25 matches for the
    question's words, topped up with pieces spread evenly over the document so that a question sharing no word
    with it still sees all of it."""
    n = len(pieces)
    if n <= limit:
        return list(range(n))
    scores: dict[int, float] = {}
    terms = sorted(set(_WORD.findall(question.lower())))
    if terms:  # one regex pass per piece finds only the question's words: cheap even for 20 MB
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, terms)) + r")\b")
        counts = [Counter(pattern.findall(p.text.lower())) for p in pieces]
        df = Counter(t for c in counts for t in c)
        idf = {t: math.log(1 + (n - k + 0.5) / (k + 0.5)) for t, k in df.items()}
        mean_len = sum(len(p.text) for p in pieces) / n
        for i, c in enumerate(counts):
            if c:  # BM25 with k1 = 1.2, b = 0.75
                norm = 1.2 * (0.25 + 0.75 * len(pieces[i].text) / mean_len)
                scores[i] = sum(idf[t] * f * 2.2 / (f + norm) for t, f in c.items())
    ranked = sorted(scores, key=lambda i: (-scores[i], i))
    chosen = set(ranked[: limit - limit // 4])  # a quarter at least is left for the spread
    free = limit - len(chosen)
    spread = [round(k * (n - 1) / max(1, free - 1)) for k in range(free)]
    for i in spread + ranked + list(range(n)):  # duplicates of chosen ones are skipped; the rest fill any gap
        if len(chosen) == limit:
            break
        chosen.add(i)
    return sorted(chosen)


def _head(doc: Document) -> str:
    lang = f' language="{_attr(doc.language)}"' if doc.language else ""
    return f'name="{_attr(doc.name)}" kind="{doc.kind}"{lang}'


def _part(head: str, where: str, text: str) -> str:
    return f'<document {head} part="{_attr(where)}">\n{_body(text)}\n</document>'


def _note(excerpt: Excerpt) -> str:
    if excerpt.ranked:
        return f"(Only the parts of {excerpt.document.name} most relevant to the question are shown.)"
    if excerpt.truncated:
        return f"(Only the beginning of {excerpt.document.name} fits; the rest is truncated.)"
    return ""


def _clip(head: str, where: str, text: str, room: int) -> str:
    """The longest beginning of `text` whose quoted part fits in `room` characters ("" if none does)."""
    keep = room - len(_part(head, where, ""))
    while keep > 0 and len(_part(head, where, text[:keep])) > room:  # escaping lengthened it
        keep -= 16
    return text[: max(0, keep)]


def _clip_lines(text: str, room: int) -> str:
    """Whole lines of `text` within `room` characters."""
    if len(text) <= room:
        return text
    return text[: text.rfind("\n", 0, room + 1)] if "\n" in text[: room + 1] else ""


def select(doc: Document, question: str, budget: int,
           embed: Callable[[list[str]], torch.Tensor] | None, max_chunks: int = 4) -> Excerpt:
    """The whole document if it fits in `budget` characters as quoted, else its `max_chunks` most relevant chunks
    that fit (shown in document order); without `embed`, its beginning. Statistics take at most half the budget.
    len(quote(select(...))) <= budget always."""
    head = _head(doc)
    room = budget - len(_note(Excerpt(doc, [], True, True))) - 1  # the longest closing note
    facts = _clip_lines(doc.facts, room // 2)
    if facts:
        room -= len(_part(head, STATISTICS, facts)) + 1
    fits = sum(len(s.text) for s in doc.segments) <= room \
        and sum(len(_part(head, s.where, s.text)) + 1 for s in doc.segments) <= room
    if fits or embed is None:
        segments = []
        for seg in doc.segments:  # without embeddings: the beginning, as much as fits
            c = len(_part(head, seg.where, seg.text)) + 1
            if c > room:
                text = _clip(head, seg.where, seg.text, room - 1)
                segments += [Segment(text, seg.where)] if text.strip() else []
                break
            segments.append(seg)
            room -= c
        whole = segments == doc.segments and facts == doc.facts
        return Excerpt(doc, segments, truncated=not whole, facts=facts)
    pieces = chunks(doc)
    picked = candidates(pieces, question, MAX_EMBEDDED)
    vectors = embed([question or "summary of the document"] + [pieces[i].text for i in picked])
    scores = (vectors[1:] @ vectors[0]).tolist()
    chosen = []
    for k in sorted(range(len(picked)), key=lambda k: -scores[k]):
        c = len(_part(head, pieces[picked[k]].where, pieces[picked[k]].text)) + 1
        if len(chosen) < max_chunks and c <= room:
            chosen.append(picked[k])
            room -= c
    return Excerpt(doc, [pieces[i] for i in sorted(chosen)], truncated=True, ranked=True, facts=facts)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


_DOCUMENT_TAG = re.compile(r"<(\s*/?\s*document)", re.IGNORECASE)


def _body(text: str) -> str:
    # A document must not be able to end its own quotation (in any letter case or spacing) and speak outside it,
    # nor open a quotation of its own.
    return _DOCUMENT_TAG.sub(r"<\\\1", text)


def quote(excerpt: Excerpt) -> str:
    """The prompt text for an excerpt: quoted, with name, kind, language and location of every piece."""
    head = _head(excerpt.document)
    parts = [_part(head, STATISTICS, excerpt.facts)] if excerpt.facts else []
    parts += [_part(head, seg.where, seg.text) for seg in excerpt.segments]
    note = _note(excerpt)
    return "\n".join(parts + ([note] if note else []))


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


def quote_picture(lines: list[str], name: str, question: str, budget: int,
                  embed: Callable[[list[str]], torch.Tensor] | None = None) -> tuple[str, list[str]]:
    """The text read from a picture quoted as a document within `budget` characters, and the part it cites; ("", [])
    when the picture shows no text. Its tables' statistics come only for a question that computes: a cell is read
    off the quoted text, and the statistics would cost it ~100 prompt tokens (~1.4 s on 2 cores)."""
    from assistant.table_query import asks_to_compute

    doc = picture_document(name, lines, statistics=asks_to_compute(question))
    return fit(doc, question, budget, embed) if doc is not None else ("", [])
