"""File analysis on the real bundled models: answers and citations for a long PDF, a table, a picture of text."""

import pytest

from assistant.conversation import Done, Message
from assistant.engine import Engine, EngineConfig
from models.decoders.sampling import SamplingOptions
from tests.assistant.doc_fixtures import make_pdf, write_fixtures
from tests.test_real_weights import _installed

pytestmark = [pytest.mark.weights,
              pytest.mark.skipif(not _installed(), reason="bundled weights not installed (run scripts/test)")]
GREEDY = SamplingOptions(temperature=0, max_new_tokens=40)


@pytest.fixture(scope="module")
def engine():
    return Engine(EngineConfig(device="cpu"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_fixtures(tmp_path_factory.mktemp("docs"))


def _ask(engine, text, path):
    events = list(engine.respond([Message.user(text, files=[path])], GREEDY))
    done = events[-1]
    assert isinstance(done, Done), done
    return done


def test_long_pdf_answer_cites_the_page_that_holds_it(engine, tmp_path):
    filler = "The committee met and discussed routine matters of the office, with nothing decided. " * 12
    pages = [f"Minutes, page {i}. {filler}" for i in range(1, 31)]
    pages[22] = f"Minutes, page 23. {filler} The approved budget for the lighthouse project is 7300 euros."
    pdf = tmp_path / "minutes.pdf"
    pdf.write_bytes(make_pdf(pages))
    done = _ask(engine, "What is the approved budget for the lighthouse project?", pdf)
    assert "minutes.pdf, page 23" in done.sources and len(done.sources) <= 4
    assert "7300" in done.answer.replace(",", "")


QA = [  # (fixture, question, a string the right answer contains)
    ("pdf", "How many engineers does the office employ?", "forty"),
    ("pdf", "Where will the team open a second office?", "Lisbon"),
    ("pdf", "What is the budget for the lighthouse project?", "7,300"),
    ("csv", "What is the largest population in the table?", "5400"),
    ("csv", "How many data rows does the table have?", "4"),
    ("docx", "Which city do we leave for on the ninth of May?", "Kyoto"),
    ("docx", "What is the hotel called?", "Maple"),
    ("xlsx", "How many units were sold in Feb?", "30"),
    ("image", "What is the invoice number?", "4821"),
    ("code", "What is the name of the function in this file?", "fib"),
    ("markdown", "To which date does the launch move?", "14 April"),
    ("json", "How old is Bo?", "45"),
]


def test_answers_and_citations_over_every_kind_of_file(engine, files, capsys):
    """Citations must always be right; the 135M model answers 6 of these 12 right (at least 4 required)."""
    right = 0
    rows = []
    for kind, question, key in QA:
        done = _ask(engine, question, files[kind])
        assert done.sources and all(s.startswith(files[kind].name + ", ") for s in done.sources)
        ok = key.lower() in done.answer.lower()
        right += ok
        rows.append(f"{'ok ' if ok else 'BAD'} {files[kind].name}: {question} -> {done.answer[:90]!r}")
    with capsys.disabled():
        print(f"\nbundled-model document answers: {right}/{len(QA)} right\n" + "\n".join(rows))
    assert right >= 4


def test_small_pdf_goes_whole_with_every_page_cited(engine, files):
    done = _ask(engine, "Where will the team open a second office?", files["pdf"])
    assert done.sources == ("report.pdf, page 1", "report.pdf, page 2", "report.pdf, page 3", "report.pdf, page 4")


def test_text_in_a_picture_is_read(engine, files):
    done = _ask(engine, "What is the invoice number?", files["image"])
    assert "4821" in done.answer and done.sources == ("invoice.png, text in the image",)
