"""ChatSession without a window: send, stop, regenerate, edit, templates and saving, on a real History."""

import pytest

from assistant.conversation import AudioPart, Done, Error, FilePart, Timings, TokenDelta, Transcript
from assistant.history import History
from assistant.session import SAVE_EVERY_S, ChatSession
from assistant.settings import Settings
from assistant.templates import PromptTemplate


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def answer_events(text="Hello there, friend.", finish="stop"):
    """What an engine yields for one answer: its words as deltas, then Done."""
    words = text.split(" ")
    deltas = [w + " " for w in words[:-1]] + [words[-1]]
    return [TokenDelta(d) for d in deltas] + [
        Done(text, finish, Timings(ttft_ms=12.0, tokens_per_s=42.5, tokens=len(deltas)), {"llm": "fake-llm"},
             ("notes.txt",))]


def run(session, request, events):
    for event in events:
        session.feed(request.id, event)


@pytest.fixture
def history(tmp_path):
    h = History(tmp_path / "data")
    yield h
    h.close()


@pytest.fixture
def session(history):
    s = ChatSession(history, Settings(pii_guard=False))
    s.shown, s.finished = [], []
    s.on_text = s.shown.append
    s.on_finished = s.finished.append
    return s


def stored(session):
    return [(m.role, m.text, m.status) for m in session.messages()]


def test_send_stores_the_question_and_streams_the_answer_into_the_history(session):
    request = session.send("Say hello\nplease", [])
    assert session.busy and session.history.info(session.conversation).title == "Say hello"
    assert stored(session) == [("user", "Say hello\nplease", "done"), ("assistant", "", "streaming")]
    assert [m.text for m in request.conversation] == ["Say hello\nplease"]
    assert request.options.temperature == 0.7 and request.options.max_new_tokens == 1024
    assert request.voice_mode == "cascade" and not request.cancel.is_set()
    run(session, request, answer_events())
    assert not session.busy and "".join(session.shown) == "Hello there, friend."
    assert stored(session) == [("user", "Say hello\nplease", "done"), ("assistant", "Hello there, friend.", "done")]
    meta = session.messages()[1].meta
    assert meta == {"model": "fake-llm", "ttft_ms": 12.0, "tokens_per_s": 42.5, "tokens": 3, "finish_reason": "stop",
                    "sources": ["notes.txt"], "left_out": []}
    assert [a.status for a in session.finished] == ["done"] and session.finished[0].meta == meta


def test_nothing_is_sent_while_busy_or_empty_and_untitled_questions_are_named_by_kind(session, tmp_path):
    assert session.send("", []) is None and session.conversation is None
    wav = tmp_path / "q.wav"
    wav.write_bytes(b"RIFF fake")
    request = session.send("", [("audio", wav)])
    assert session.history.info(session.conversation).title == "Voice question"
    assert isinstance(request.conversation[-1].parts[0], AudioPart)
    assert session.send("again", []) is None and len(session.messages()) == 2
    run(session, request, answer_events())
    session.open(None)
    doc = tmp_path / "notes.txt"
    doc.write_text("noon")
    session.untitled["file"] = "Dokument"
    session.send("", [("file", doc)])
    assert session.history.info(session.conversation).title == "Dokument"


def test_the_transcript_is_kept_with_the_question_and_late_events_are_ignored(session, tmp_path):
    heard = []
    session.on_transcript = heard.append
    wav = tmp_path / "q.wav"
    wav.write_bytes(b"RIFF fake")
    first = session.send("", [("audio", wav)])
    run(session, first, [Transcript("what is the capital of France"), *answer_events()])
    assert heard == ["what is the capital of France"]
    assert session.messages()[0].meta["transcript"] == "what is the capital of France"
    second = session.send("and Japan?", [])
    session.feed(first.id, TokenDelta("stale"))  # an event of the finished answer
    run(session, second, answer_events("Tokyo."))
    assert [m.text for m in session.messages()] == ["", "Hello there, friend.", "and Japan?", "Tokyo."]
    assert session.history.info(session.conversation).title == "what is the capital of France"


def test_only_a_spoken_first_question_titles_its_conversation(session, tmp_path):
    wav = tmp_path / "q.wav"
    wav.write_bytes(b"RIFF fake")
    first = session.send("Tell me about capitals", [])
    run(session, first, answer_events())
    second = session.send("", [("audio", wav)])
    run(session, second, [Transcript("what is the capital of Japan"), *answer_events()])
    assert session.history.info(session.conversation).title == "Tell me about capitals"
    session.open(None)
    third = session.send("", [("audio", wav)])
    run(session, third, [Transcript(""), *answer_events()])  # nothing heard: the placeholder stays
    assert session.history.info(session.conversation).title == "Voice question"


def test_stop_cancels_and_keeps_the_partial_answer_marked_stopped(session):
    request = session.send("long answer", [])
    session.feed(request.id, TokenDelta("word "))
    session.stop()
    assert request.cancel.is_set() and session.busy  # stopped only once the engine says so
    session.feed(request.id, Done("word ", "cancelled", Timings(ttft_ms=5.0), {"llm": "fake-llm"}))
    assert stored(session)[-1] == ("assistant", "word ", "stopped") and not session.busy
    assert session.messages()[-1].meta["finish_reason"] == "cancelled"


def test_regenerate_replaces_the_last_answer(session):
    run(session, session.send("first", []), answer_events())
    assert session.regenerate() is not None and session.regenerate() is None  # busy: one answer at a time
    assert stored(session) == [("user", "first", "done"), ("assistant", "", "streaming")]
    run(session, session.answer.request, answer_events("A different answer."))
    assert [m.text for m in session.messages()] == ["first", "A different answer."]
    assert session.answer is None and session.finished[-1].question_id == session.messages()[0].id


def test_regenerate_needs_an_answer_to_replace(session):
    assert session.regenerate() is None
    request = session.send("q", [])
    run(session, request, [Error("no adapter")])
    session.history.delete_messages_from(session.conversation, session.messages()[-1].id)
    assert session.regenerate() is None and stored(session) == [("user", "q", "done")]


def test_edit_and_resend_replaces_the_last_question_and_keeps_its_files(session, tmp_path):
    run(session, session.send("first question", []), answer_events())
    doc = tmp_path / "notes.txt"
    doc.write_text("meeting at noon")
    run(session, session.send("secnd question", [("file", doc)]), answer_events())
    last = session.edit_last()
    assert last.text == "secnd question" and session.edit_from == last.id
    # the window re-attaches the stored copy, which only the replaced question used
    request = session.send("second question", [(a.kind, a.path) for a in last.attachments])
    assert session.edit_from is None
    assert [m.text for m in request.conversation] == ["first question", "Hello there, friend.", "second question"]
    run(session, request, answer_events())
    question = session.messages()[2]
    assert [m.text for m in session.messages()] == ["first question", "Hello there, friend.", "second question",
                                                  "Hello there, friend."]
    assert question.attachments[0].path.read_text() == "meeting at noon"
    assert isinstance(request.conversation[-1].parts[0], FilePart)


def test_editing_an_earlier_question_forks_the_conversation_and_keeps_the_original(session, tmp_path):
    doc = tmp_path / "notes.txt"
    doc.write_text("meeting at noon")
    run(session, session.send("first question", [("file", doc)]), answer_events())
    run(session, session.send("second question", []), answer_events("Second answer."))
    run(session, session.send("third question", []), answer_events("Third answer."))
    original, before = session.conversation, stored(session)
    second = session.messages()[2]
    assert session.edit(second.id).text == "second question"
    request = session.send("second question, edited", [])
    assert session.conversation != original
    assert session.info().title == "first question (edited)"
    assert [m.text for m in request.conversation] == ["first question", "Hello there, friend.",
                                                      "second question, edited"]
    run(session, request, answer_events())
    fork = session.messages()
    assert [m.text for m in fork] == ["first question", "Hello there, friend.", "second question, edited",
                                      "Hello there, friend."]
    session.delete(session.conversation)  # the fork shared the first question's file: the original keeps it
    assert session.open(original) and stored(session) == before
    assert session.messages()[0].attachments[0].path.read_text() == "meeting at noon"
    assert session.edit(session.messages()[1].id) is None  # an answer is not a question to edit


def test_opening_another_conversation_drops_a_pending_edit_and_is_refused_while_busy(session):
    run(session, session.send("one", []), answer_events())
    first = session.conversation
    session.edit_last()
    assert session.open(None) and session.edit_from is None
    request = session.send("two", [])
    assert not session.open(first) and session.conversation != first
    run(session, request, answer_events())
    assert session.open(first) and stored(session)[0] == ("user", "one", "done")


def test_templates_shape_what_the_model_sees(history):
    few = PromptTemplate("Few", "Classify.", (("good", "pos"),))
    session = ChatSession(history, Settings(system_prompt="Be kind.", templates=[few], template="Few"))
    assert session.template == "Few"  # new conversations start with the default
    request = session.send("bad", [], template="Few")
    convo = request.conversation
    assert convo[0].role == "system" and convo[0].text == "Be kind.\n\nClassify."
    assert [m.text for m in convo[1:]] == ["good", "pos", "bad"]
    assert history.info(session.conversation).template == "Few"
    run(session, request, answer_events("neg"))
    session.set_template("")
    assert session.template == "" and [m.text for m in session.context()] == ["Be kind.", "bad", "neg"]


def test_failed_answers_are_stored_but_left_out_of_the_model_context(session):
    request = session.send("what is this?", [])
    run(session, request, [TokenDelta("It is"), Error("image questions need an image adapter")])
    assert stored(session)[-1] == ("assistant", "It is\n\n*image questions need an image adapter*", "error")
    assert session.messages()[-1].meta == {"error": "image questions need an image adapter"}
    assert session.finished[-1].status == "error"
    again = session.send("try again", [])
    assert [(m.role, m.text) for m in again.conversation] == [("user", "what is this?"), ("user", "try again")]


def test_partial_answers_are_saved_at_least_every_half_second(history):
    clock = Clock()
    session = ChatSession(history, Settings(pii_guard=False), clock=clock)
    request = session.send("tell me a story", [])

    def saved():
        return history.messages(session.conversation)[-1].text

    clock.now += SAVE_EVERY_S / 5
    session.feed(request.id, TokenDelta("Once "))
    clock.now += SAVE_EVERY_S / 5
    session.feed(request.id, TokenDelta("upon "))
    assert saved() == "" and session.answer.text == "Once upon "  # not every token costs a write
    clock.now += SAVE_EVERY_S
    session.feed(request.id, TokenDelta("a "))
    assert saved() == "Once upon a "
    session.feed(request.id, TokenDelta("time"))
    assert saved() == "Once upon a "  # the clock restarted at the last save
    clock.now += SAVE_EVERY_S
    session.feed(request.id, TokenDelta("."))
    assert saved() == "Once upon a time."


def test_closing_mid_answer_keeps_it_marked_interrupted(history):
    session = ChatSession(history, Settings(pii_guard=False))
    request = session.send("long", [])
    session.feed(request.id, TokenDelta("word word"))
    session.close()
    assert not session.busy
    assert [(m.text, m.status) for m in history.messages(session.conversation)][-1] == ("word word", "interrupted")
    session.feed(request.id, Done("word word", "stop"))  # the engine's last word arrives too late to matter
    assert history.messages(session.conversation)[-1].status == "interrupted"


def test_answers_a_crash_left_streaming_are_marked_interrupted_by_the_next_session(tmp_path):
    crashed = History(tmp_path / "data")
    session = ChatSession(crashed, Settings(pii_guard=False))
    assert session.recovered == 0
    request = session.send("Tell me a story", [])
    session.feed(request.id, TokenDelta("Once upon"))
    session.clock = lambda: float("inf")  # the next token is saved, then the process dies without closing
    session.feed(request.id, TokenDelta(" a"))
    crashed.db.close()
    history = History(tmp_path / "data")
    after = ChatSession(history, Settings())
    assert after.recovered == 1
    assert [(m.text, m.status) for m in history.messages(session.conversation)][-1] == ("Once upon a", "interrupted")
    history.close()


def test_personal_data_is_masked_as_it_streams_and_when_stored(history):
    session = ChatSession(history, Settings(pii_guard=True))
    shown = []
    session.on_text = shown.append
    request = session.send("contact?", [])
    run(session, request, answer_events("Mail jane@example.com or call 010-1234-5678 now."))
    assert not any("jane@" in s or "5678" in s for s in shown)
    assert "".join(shown) == history.messages(session.conversation)[-1].text == \
        "Mail [e-mail hidden] or call [phone number hidden] now."


def test_the_conversation_being_answered_cannot_be_deleted(session):
    request = session.send("one", [])
    cid = session.conversation
    assert not session.delete(cid) and session.history.info(cid)
    run(session, request, answer_events())
    assert session.delete(cid) and session.conversation is None and session.history.conversations() == []


def test_only_an_answer_the_length_limit_cut_is_continued_and_it_keeps_its_sources(session):
    request = session.send("long story", [])
    run(session, request, answer_events("Once upon", finish="stop"))
    assert session.continue_answer() is None  # finished on its own: nothing to continue
    session.regenerate()
    run(session, session.answer.request, answer_events("Once upon", finish="length"))
    more = session.continue_answer()
    assert more is not None and [m.role for m in more.conversation] == ["user", "assistant"]
    assert session.continue_answer() is None  # busy
    run(session, more, [TokenDelta(" a time."), Done(" a time.", "stop", Timings(ttft_ms=3.0), {"llm": "x"})])
    last = session.messages()[-1]
    assert (last.text, last.status, last.meta["finish_reason"]) == ("Once upon a time.", "done", "stop")
    assert last.meta["sources"] == ["notes.txt"] and len(session.messages()) == 2


def test_regenerated_answers_are_kept_as_versions_and_any_can_be_shown_and_continued_from(session):
    first = session.send("name a colour", [])
    run(session, first, answer_events("Red."))
    run(session, session.regenerate(), answer_events("Blue."))
    run(session, session.regenerate(), answer_events("Green."))
    last = session.messages()[-1]
    assert [v["text"] for v in last.meta["versions"]] == ["Red.", "Blue.", "Green."] and last.meta["version"] == 2
    shown = session.show_version(0)
    assert shown.text == "Red." and shown.meta["version"] == 0 and shown.meta["model"] == "fake-llm"
    assert [m.text for m in session.context()] == ["name a colour", "Red."]  # the conversation goes on from it
    assert session.show_version(3) is None and len(session.messages()) == 2
    run(session, session.regenerate(), answer_events("Pink."))
    last = session.messages()[-1]
    assert [v["text"] for v in last.meta["versions"]] == ["Red.", "Blue.", "Green.", "Pink."]
    assert (last.text, last.meta["version"]) == ("Pink.", 3)
    fresh = session.send("and another?", [])
    run(session, fresh, answer_events("Teal."))
    assert "versions" not in session.messages()[-1].meta  # an answer never regenerated has one version


def test_continuing_a_version_replaces_it_in_place(session):
    first = session.send("count", [])
    run(session, first, answer_events("One two", finish="length"))
    run(session, session.regenerate(), answer_events("One two", finish="length"))  # the same text twice
    session.show_version(0)
    run(session, session.continue_answer(), [TokenDelta(" three."), Done(" three.", "stop", Timings(ttft_ms=1.0),
                                                                           {"llm": "x"})])
    last = session.messages()[-1]
    assert [v["text"] for v in last.meta["versions"]] == ["One two three.", "One two"] and last.meta["version"] == 0


def test_a_question_comes_back_to_edit_as_typed_and_a_spoken_one_as_the_words_heard(session, tmp_path):
    doc, wav = tmp_path / "notes.txt", tmp_path / "q.wav"
    doc.write_text("meeting at noon")
    wav.write_bytes(b"RIFF")
    run(session, session.send("when is it?", [("file", doc)]), answer_events())
    typed = session.messages()[0]
    assert session.draft(typed) == ("when is it?", typed.attachments)
    spoken = session.send("", [("audio", wav), ("file", doc)])
    run(session, spoken, [Transcript("when is the meeting"), *answer_events()])
    said = session.messages()[2]
    text, kept = session.draft(said)
    assert text == "when is the meeting" and [a.kind for a in kept] == ["file"]  # the recording stays behind


def test_the_api_restarts_only_when_its_own_settings_change():
    base = Settings()
    assert not base.serves_unlike(Settings(theme="dark", read_aloud=True))
    for changed in (Settings(server_enabled=True), Settings(server_port=8001), Settings(server_key="k")):
        assert base.serves_unlike(changed)
