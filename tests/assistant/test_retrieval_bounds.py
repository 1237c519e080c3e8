"""Files up to the size limit cost bounded work and fit the prompt: few chunks embedded, statistics capped, and the
quoted text never longer than its character budget."""

import random
from dataclasses import replace

import pytest
import torch

from assistant.conversation import FilePart
from assistant.documents import FACT_COLUMNS, Document, Segment, read
from assistant.engine import Engine, EngineConfig
from assistant.prompt import MAX_PROMPT_CHARS
from assistant.retrieval import MAX_EMBEDDED, candidates, chunks, fit, quote, select

NEEDLE = "The lighthouse keeper stored the spare lamp oil in the blue shed behind the harbour office."


class CountingEmbedder:
    """A fake MiniLM: bag-of-letters vectors, and a count of every text it was asked to embed."""

    def __init__(self):
        self.texts = 0

    def __call__(self, texts: list[str]) -> torch.Tensor:
        self.texts += len(texts)
        out = torch.zeros(len(texts), 26)
        for i, t in enumerate(texts):
            for ch in t.lower()[:2000]:
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return torch.nn.functional.normalize(out + 1e-6, dim=-1)


@pytest.fixture(scope="module")
def big_text(tmp_path_factory):
    """20 MB of word salad with one planted sentence near the end."""
    rng = random.Random(0)
    words = "alpha river stone market paper window green seven cloud table winter copper".split()
    lines = [" ".join(rng.choices(words, k=12)) for _ in range(270_000)]
    lines.insert(240_000, NEEDLE)
    path = tmp_path_factory.mktemp("big") / "big.txt"
    path.write_text("\n".join(lines))
    assert 19e6 < path.stat().st_size <= 20 * 1024 * 1024
    return path


@pytest.fixture(scope="module")
def wide_csv(tmp_path_factory):
    """100,000 columns by 5 rows."""
    path = tmp_path_factory.mktemp("wide") / "wide.csv"
    header = ",".join(f"measurement_{j}" for j in range(100_000))
    rows = [",".join(str((i * 7 + j) % 1000) for j in range(100_000)) for i in range(5)]
    path.write_text("\n".join([header] + rows) + "\n")
    return path


def engine_with(embedder) -> Engine:
    engine = Engine(EngineConfig(device="cpu"))
    engine.embed = embedder  # the document path's only model is the embedder; count what it is given
    return engine


@pytest.mark.parametrize("budget", [MAX_PROMPT_CHARS, MAX_PROMPT_CHARS // 3, 900])
def test_a_20_mb_text_file_embeds_a_bounded_number_of_chunks_and_fits(big_text, budget):
    embedder = CountingEmbedder()
    text, sources = engine_with(embedder).document(FilePart(big_text), "where is the spare lamp oil stored?", budget)
    assert len(text) <= budget
    assert embedder.texts <= MAX_EMBEDDED + 1  # the chunks plus the question
    assert sources and all(s.startswith("big.txt, lines ") for s in sources)
    if budget >= 1200:
        assert NEEDLE in text  # the lexical pre-selection keeps the planted sentence among the candidates


def test_a_100000_column_csv_has_bounded_statistics_within_the_budget(wide_csv):
    embedder = CountingEmbedder()
    text, _ = engine_with(embedder).document(FilePart(wide_csv), "what is the largest measurement_3?", MAX_PROMPT_CHARS)
    assert len(text) <= MAX_PROMPT_CHARS and embedder.texts <= MAX_EMBEDDED + 1
    assert "5 data rows x 100000 columns" in text and "- measurement_3: integer" in text
    doc = read(wide_csv)
    assert len(doc.facts.splitlines()) == FACT_COLUMNS + 2  # the size line, 40 columns, "... more columns"


def test_quoted_text_respects_the_budget_with_its_tags_and_facts():
    # Many short segments: the tags around each piece used to be left out of the count.
    doc = Document("notes.txt", "text", [Segment(f"line {i}", f"lines {i}-{i}") for i in range(1, 400)],
                   facts="\n".join(f"- column {i}: text, 0 missing" for i in range(500)))
    for budget in (300, 2000, 12_000):
        for embed in (None, CountingEmbedder()):
            excerpt = select(doc, "line 7", budget, embed)
            assert len(quote(excerpt)) <= budget
            assert len(excerpt.facts) <= budget // 2
    whole = replace(doc, segments=doc.segments[:3], facts="")
    assert quote(select(whole, "q", 2000, None)).count("<document") == 3


def test_candidates_rank_word_matches_and_spread_the_rest():
    pieces = [Segment(f"filler text number {i}", f"lines {i}-{i}") for i in range(1000)]
    pieces[777] = Segment("the spare lamp oil is in the blue shed", "lines 777-777")
    picked = candidates(pieces, "Where is the lamp oil?", 20)
    assert len(picked) == 20 and 777 in picked and picked == sorted(picked)
    assert picked[0] == 0 and picked[-1] == 999  # spread over the whole document, not just the top
    assert candidates(pieces[:10], "anything", 20) == list(range(10))
    assert len(candidates(pieces, "", 20)) == 20


def test_fit_without_embeddings_keeps_the_beginning(big_text):
    text, sources = fit(read(big_text), "", 5000)
    assert len(text) <= 5000 and sources[0] == "big.txt, lines 1-40" and "truncated" in text
    assert len(chunks(Document("x", "text", [Segment("y" * 5000, "lines 1-1")]))) == 5
