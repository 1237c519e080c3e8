"""`python -m tools.retrieval_eval`: does the retrieved part contain the answer?

Builds a 40-page handbook (a fact on each of 12 pages, ordinary filler on the rest), asks one question per fact in
other words than the page uses, and reports how often the page with the answer is the top chunk and how often it is
among the chunks handed to the model (the engine hands up to 4 within a 12,000-character budget).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

FACTS = [  # (page text with the fact, question in other words, the answer's key string)
    ("The staff canteen opens at 7:30 and serves breakfast until ten.", "When can employees get breakfast?", "7:30"),
    ("Parking permits cost 45 euros per month and are issued by reception.", "How much is a car park pass?", "45 euros"),
    ("New laptops are ordered through the IT portal and arrive within five working days.",
     "How long does it take to receive a new computer?", "five working days"),
    ("Annual leave is 27 days, plus public holidays.", "How many vacation days do workers get?", "27 days"),
    ("The fire assembly point is the green lawn behind building C.", "Where do we gather during an evacuation?",
     "green lawn"),
    ("Expense claims must be filed within 60 days with the original receipts.",
     "What is the deadline for reimbursement requests?", "60 days"),
    ("The wifi network for guests is called Harbor-Guest and its password changes every Monday.",
     "What is the visitor wireless network named?", "Harbor-Guest"),
    ("Bicycles may be stored in the basement rack next to the elevators.", "Where can I keep my bike?", "basement"),
    ("The company pension matches contributions up to 5 percent of salary.",
     "How much does the employer add to retirement savings?", "5 percent"),
    ("Remote work is allowed two days per week after the probation period.",
     "How often can staff work from home?", "two days per week"),
    ("The library on the third floor lends technical books for up to three weeks.",
     "For how long can I borrow a book?", "three weeks"),
    ("Security badges that are lost must be reported to Mr. Lindqvist the same day.",
     "Who should I tell if my access card goes missing?", "Lindqvist"),
]
FILLER = ["This section describes general principles of working together in the office.",
          "Teams are encouraged to keep meetings short and to share notes afterwards.",
          "Questions about this handbook can be raised during the monthly town hall.",
          "Departments review their own procedures once a year and publish any changes.",
          "Everyone is expected to treat colleagues and visitors with courtesy and respect."]


def handbook(pages: int = 40, seed: int = 0) -> tuple[list[str], dict[int, int]]:
    """Page texts, and for each fact index the page (1-based) that holds it."""
    rng = random.Random(seed)
    where = dict(zip(range(len(FACTS)), sorted(rng.sample(range(1, pages + 1), len(FACTS)))))
    texts = []
    for p in range(1, pages + 1):
        body = " ".join(rng.sample(FILLER, 3) * 6)
        fact = next((FACTS[i][0] for i, page in where.items() if page == p), "")
        texts.append(f"Employee handbook, page {p}. {body} {fact} {' '.join(rng.sample(FILLER, 2))}")
    return texts, where


def main(argv: list[str] | None = None) -> int:
    """Print top-1 and handed-over hit rates for the handbook questions."""
    parser = argparse.ArgumentParser(prog="python -m tools.retrieval_eval")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from assistant.documents import Document, Segment
    from assistant.retrieval import chunks, select
    from models.encoders.embeddings import Embedder

    texts, where = handbook()
    doc = Document("handbook.pdf", "pdf", [Segment(t, f"page {i}") for i, t in enumerate(texts, 1)])
    embedder = Embedder()
    start = time.perf_counter()
    top1 = handed = 0
    rows = []
    pieces = chunks(doc)
    piece_vectors = embedder.encode([p.text for p in pieces])
    known = {p.text: v for p, v in zip(pieces, piece_vectors)}

    def embed(texts):  # as the engine does: each chunk is embedded once
        import torch

        return torch.stack([known[t] if t in known else embedder.encode([t])[0] for t in texts])

    for i, (_, question, key) in enumerate(FACTS):
        q = embedder.encode([question])[0]
        best = pieces[int((piece_vectors @ q).argmax())]
        excerpt = select(doc, question, 12_000, embed)
        hit1 = key in best.text
        hit = any(key in s.text for s in excerpt.segments)
        top1 += hit1
        handed += hit
        rows.append({"question": question, "answer_page": where[i], "top_chunk": best.where, "top1": hit1,
                     "handed": hit, "cited": [s.where for s in excerpt.segments]})
    result = {"questions": len(FACTS), "top1_contains_answer": top1 / len(FACTS),
              "handed_parts_contain_answer": handed / len(FACTS), "chunks": len(pieces),
              "seconds": round(time.perf_counter() - start, 2)}
    print(json.dumps({**result, "rows": rows} if args.json else result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
