"""The chat's state and rules, without Qt: which conversation is open, the answer in progress, and how questions,
answers, templates and edits reach the history and the engine.

The window drives a ChatSession and renders what it reports; tests drive it directly. The engine runs elsewhere
(the window's worker thread): `send` and `regenerate` return the Request to run there, and the engine's events come
back through `feed` on the session's own thread.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.conversation import AudioPart, Done, Error, Event, Message, TokenDelta, Transcript
from assistant.history import Attachment, ConversationInfo, History, StoredMessage
from assistant.privacy import StreamMasker
from assistant.settings import Settings
from assistant.templates import PromptTemplate
from models.decoders.sampling import SamplingOptions

SAVE_EVERY_S = 0.5  # partial answers reach the database at least this often (a crash loses no more)
# Titles of new conversations: a question without text, by its first attachment's kind; a fork, by its original's.
UNTITLED = {"image": "Image question", "audio": "Voice question", "file": "Document question", "fork": "%1 (edited)"}
AHEAD_TOKENS = 16  # at most, a rehearsal's answer: it ends with the first clause or sentence that speech starts with
TITLE_CHARS = 60  # a longer first line is cut at a word, with an ellipsis, so no title loses its end unmarked


def title_of(text: str) -> str:
    """A conversation's title from its first question: the first line, whole when it is short enough."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[TITLE_CHARS // 2:] else cut).rstrip(" ,.;:") + "\u2026"


def file_name(title: str) -> str:
    """A file name (no extension) for a conversation's export, from its title; any OS accepts it."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f\u2026]+', " ", title)
    return " ".join(name.split()).strip(" .")[:80] or "conversation"


@dataclass(frozen=True)
class Request:
    """One answer for the engine to compute: Engine.respond's arguments and the id its events come back with."""

    id: int
    conversation: list[Message]
    options: SamplingOptions
    voice_mode: str
    cancel: threading.Event


@dataclass
class Answer:
    """The answer in progress: its message row, the question it answers, and what has streamed so far."""

    id: int
    question_id: int | None
    request: Request
    masker: StreamMasker | None
    saved_at: float
    text: str = ""  # as shown and stored: personal data already masked
    transcript: str = ""  # what was heard in a spoken question
    status: str = "streaming"  # then done, stopped or error
    meta: dict = field(default_factory=dict)  # once finished: model, timings, finish_reason, sources (or error);
    # while a cut answer is continued, the meta it had
    versions: list = field(default_factory=list)  # the answer's other versions (regenerated), see _snapshot
    version: int | None = None  # which of them this one replaces (a continued version), None: a new last one


def _snapshot(text: str, status: str, meta: dict) -> dict:
    """One version of an answer, as kept in meta["versions"] (the shown one is mirrored by the message itself)."""
    return {"text": text, "status": status, "meta": {k: v for k, v in meta.items() if k not in ("versions", "version")}}


def _ignore(*_) -> None:
    pass


class ChatSession:
    """One window's chat. Not thread-safe: every call comes from the thread that owns the History.

    Callbacks, for a view to subscribe to: on_text(delta) as the answer grows (masked), on_transcript(text) when a
    spoken question has been heard, on_finished(answer) once it is done, stopped or failed.
    """

    def __init__(self, history: History, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.history, self.settings, self.clock = history, settings, clock
        self.conversation: int | None = None
        self.edit_from: int | None = None  # the question an edit replaces, with everything after it
        self.answer: Answer | None = None
        self.requests = 0
        self.untitled = dict(UNTITLED)  # the view replaces them with its language's
        self.on_text: Callable[[str], None] = _ignore
        self.on_transcript: Callable[[str], None] = _ignore
        self.on_finished: Callable[[Answer], None] = _ignore
        self.recovered = history.recover()  # answers a crash left streaming are kept, marked interrupted

    # ---- the open conversation --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether an answer is streaming."""
        return self.answer is not None

    @property
    def stopping(self) -> bool:
        """Whether the streaming answer was asked to stop (what still streams until its Done is kept, not read
        aloud)."""
        return self.answer is not None and self.answer.request.cancel.is_set()

    def open(self, conversation_id: int | None) -> bool:
        """Switch to a stored conversation, or to a new one (None); refused while an answer streams."""
        if self.busy:
            return False
        self.conversation, self.edit_from = conversation_id, None
        return True

    def messages(self) -> list[StoredMessage]:
        """The open conversation's messages, oldest first."""
        return self.history.messages(self.conversation) if self.conversation is not None else []

    def info(self) -> ConversationInfo | None:
        """The open conversation's title and template; None for a new one."""
        return self.history.info(self.conversation) if self.conversation is not None else None

    @property
    def template(self) -> str:
        """The template name in use: the open conversation's, or the default for new ones."""
        info = self.info()
        return info.template if info else self.settings.template

    def set_template(self, name: str) -> None:
        """Use this template from now on (a new conversation takes the one chosen when it is created)."""
        if self.conversation is not None:
            self.history.set_template(self.conversation, name)

    def delete(self, conversation_id: int) -> bool:
        """Delete a conversation, unless it is being answered; deleting the open one opens a new one."""
        if self.busy and conversation_id == self.conversation:
            return False
        self.history.delete(conversation_id)
        if conversation_id == self.conversation:
            self.open(None)
        return True

    # ---- asking -----------------------------------------------------------------------------------------
    def send(self, text: str, attachments: list[tuple[str, Path]], template: str = "") -> Request | None:
        """Store a question (replacing the edited one, if any) and start its answer; None if busy or empty.

        attachments are (kind, path) pairs; template names the template of a conversation this creates.
        """
        if self.busy or (not text and not attachments):
            return None
        if self.conversation is None:
            kind = attachments[0][0] if attachments else "file"
            title = title_of(text) or self.untitled.get(kind, self.untitled["file"])
            self.conversation = self.history.create(title, template)
        replacing, self.edit_from = self.edit_from, None
        if replacing is not None and replacing != self.last_question():  # an earlier question: fork from it
            title = self.untitled["fork"].replace("%1", self.info().title)
            self.conversation, replacing = self.history.fork(self.conversation, replacing, title), None
        question = self.history.add_message(self.conversation, "user", text, attachments=attachments,
                                            replace_from=replacing)  # one step: the files it reuses survive
        return self._start(question)

    def regenerate(self) -> Request | None:
        """Answer the last question again; the answer it replaces stays as an earlier version (see show_version).
        None if there is no answer to replace."""
        stored = self.messages()
        if self.busy or not stored or stored[-1].role != "assistant":
            return None
        old = stored[-1]
        versions = old.meta.get("versions") or [_snapshot(old.text, old.status, old.meta)]
        self.history.delete_messages_from(self.conversation, old.id)
        request = self._start(next((m.id for m in reversed(stored) if m.role == "user"), None))
        self.answer.versions = list(versions)
        return request

    def show_version(self, index: int) -> StoredMessage | None:
        """Make version `index` of the last answer the shown one (and the one the conversation goes on from)."""
        stored = self.messages()
        if self.busy or not stored or stored[-1].role != "assistant":
            return None
        last = stored[-1]
        versions = last.meta.get("versions") or []
        if not 0 <= index < len(versions):
            return None
        chosen = versions[index]
        self.history.update_message(last.id, text=chosen["text"], status=chosen["status"],
                                    meta={**chosen["meta"], "versions": versions, "version": index})
        return self.messages()[-1]

    def edit(self, question_id: int) -> StoredMessage | None:
        """A question to edit. The next send replaces the last question (and its answer); an earlier question is
        replaced in a fork of the conversation, from that point on, and this conversation is kept as it was."""
        if self.busy:
            return None
        question = next((m for m in self.messages() if m.id == question_id and m.role == "user"), None)
        if question is not None:
            self.edit_from = question.id
        return question

    @staticmethod
    def draft(question: StoredMessage) -> tuple[str, list[Attachment]]:
        """What goes back into the input box to edit a question: its text and attachments; a spoken question comes
        back as the words heard (to correct a mishearing), without its recording."""
        heard = question.meta.get("transcript", "") if not question.text.strip() else ""
        kept = [a for a in question.attachments if not (heard and a.kind == "audio")]
        return question.text or heard, kept

    def edit_last(self) -> StoredMessage | None:
        """The last question, to edit: the next send replaces it and everything after it."""
        last = self.last_question()
        return None if last is None else self.edit(last)

    def last_question(self) -> int | None:
        """The id of the open conversation's last question (None before the first)."""
        return next((m.id for m in reversed(self.messages()) if m.role == "user"), None)

    def stop(self) -> None:
        """Ask the engine to stop; the answer is kept, marked stopped, when its Done arrives."""
        if self.answer is not None:
            self.answer.request.cancel.set()

    def close(self) -> None:
        """The window closes mid-answer: keep what streamed, marked interrupted."""
        if self.answer is not None:
            self.history.update_message(self.answer.id, text=self.answer.text, status="interrupted")
            self.answer = None

    def context(self) -> list[Message]:
        """What the model sees: the template's system message and examples, then the conversation without the
        answers that failed (their questions stay, so asking again has them)."""
        stored = [m.to_message() for m in self.messages() if m.status != "error" or m.role == "user"]
        template = self.settings.find_template(self.template) or PromptTemplate("")
        return template.apply(stored, self.settings.system_prompt)

    def can_continue(self) -> bool:
        """Whether the last answer was cut by the token limit (and nothing streams)."""
        stored = self.messages()
        return (not self.busy and bool(stored) and stored[-1].role == "assistant" and stored[-1].status == "done"
                and stored[-1].meta.get("finish_reason") == "length")

    def continue_answer(self) -> Request | None:
        """Go on with the last answer where the token limit cut it, in the same message; None if it was not cut."""
        if not self.can_continue():
            return None
        stored = self.messages()
        last = stored[-1]
        request = self._request()
        self.history.update_message(last.id, status="streaming")
        question = next((m.id for m in reversed(stored) if m.role == "user"), None)
        self.answer = Answer(last.id, question, request, StreamMasker() if self.settings.pii_guard else None,
                             self.clock(), text=last.text, meta=dict(last.meta),
                             versions=list(last.meta.get("versions", [])), version=last.meta.get("version"))
        return request

    def _request(self) -> Request:
        """A request for the engine over the conversation as it stands."""
        self.requests += 1
        options = SamplingOptions(temperature=self.settings.temperature, max_new_tokens=self.settings.max_tokens)
        return Request(self.requests, self.context(), options, self.settings.voice_mode, threading.Event())

    def rehearsal(self, wav: bytes) -> Request | None:
        """The request a spoken question would make if it were sent now, cut to AHEAD_TOKENS: work done ahead while
        the user may still be talking (its transcript, prompt and first tokens stay in the engine, so the real
        request starts from them: SamplingOptions.ahead). Nothing is stored and its answer is never shown by
        itself. None while an answer streams."""
        if self.busy:
            return None
        options = SamplingOptions(temperature=self.settings.temperature, max_new_tokens=AHEAD_TOKENS, ahead=True)
        return Request(0, [*self.context(), Message("user", (AudioPart(wav),))], options, self.settings.voice_mode,
                       threading.Event())

    def _start(self, question_id: int | None) -> Request:
        request = self._request()
        answer_id = self.history.add_message(self.conversation, "assistant", "", status="streaming")
        self.answer = Answer(answer_id, question_id, request, StreamMasker() if self.settings.pii_guard else None,
                             self.clock())
        return request

    # ---- the engine's events ----------------------------------------------------------------------------
    def feed(self, request: int, event: Event) -> None:
        """One event of the engine's answer to request; events of an earlier request are ignored."""
        answer = self.answer
        if answer is None or request != answer.request.id:
            return
        if isinstance(event, TokenDelta):
            self._grow(answer.masker.feed(event.text) if answer.masker else event.text)
            if self.clock() - answer.saved_at >= SAVE_EVERY_S:
                self.history.update_message(answer.id, text=answer.text)
                answer.saved_at = self.clock()
        elif isinstance(event, Transcript):
            answer.transcript = event.text
            stored = self.messages()
            question = next((m for m in stored if m.id == answer.question_id), None)
            if question is not None:
                self.history.update_message(question.id, meta={**question.meta, "transcript": event.text})
                info = self.history.info(self.conversation)
                if question is stored[0] and event.text.strip() and info.title == self.untitled["audio"]:
                    self.history.rename(self.conversation, title_of(event.text))
            self.on_transcript(event.text)
        elif isinstance(event, Done):
            t = event.timings
            self._finish("stopped" if event.finish_reason == "cancelled" else "done", {
                "model": event.models.get("llm", ""), "ttft_ms": t.ttft_ms,
                "tokens_per_s": t.tokens_per_s, "tokens": t.tokens,
                "finish_reason": event.finish_reason,
                "sources": list(event.sources) or answer.meta.get("sources", []),  # a continuation keeps them
                "left_out": list(event.left_out) or answer.meta.get("left_out", [])})
        elif isinstance(event, Error):
            self._finish("error", {"error": event.message}, event.message)

    def _grow(self, delta: str) -> None:
        self.answer.text += delta
        self.on_text(delta)

    def _finish(self, status: str, meta: dict, error: str = "") -> None:
        answer = self.answer
        if answer.masker is not None:
            self._grow(answer.masker.flush())
        if error:
            self._grow(("\n\n" if answer.text else "") + f"*{error}*")
        if answer.versions:  # a regenerated (or continued) answer: every version is kept
            versions, snapshot = list(answer.versions), _snapshot(answer.text, status, meta)
            shown = len(versions) if answer.version is None else answer.version
            versions[shown:shown + 1] = [snapshot]  # a new last version, or the continued one in its place
            meta = {**meta, "versions": versions, "version": shown}
        answer.status, answer.meta = status, meta
        self.history.update_message(answer.id, text=answer.text, status=status, meta=meta)
        self.answer = None
        self.on_finished(answer)
