"""Conversation history in SQLite (WAL): conversations, messages and content-addressed attachments.

Crash safety: the question is committed before generation starts, the answer row is created as "streaming" and
its partial text is committed as it grows, so a crash or kill loses at most the last fraction of a second. On the
next start, `recover()` marks answers left "streaming" as "interrupted"; nothing is deleted.

Files: everything is private (0700 folders, 0600 files). Attachments are copied in under unique temp names and renamed
into place inside a write transaction, so processes sharing the store never collide and a file is never collected
between another process's copy and its row. Recordings and pasted images are captures the store owns from the start
(`capture`): sending moves them in, so deleting the conversation deletes the only copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from assistant.conversation import AudioPart, FilePart, ImagePart, Message, TextPart
from assistant.private_files import make_private, make_tree_private, private_dir, private_temp

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, template TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL, text TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'done',
    meta TEXT NOT NULL DEFAULT '{}', created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
CREATE INDEX IF NOT EXISTS attachments_by_message ON attachments(message_id);
"""
KINDS = ("image", "audio", "file")
STATUSES = ("done", "streaming", "interrupted", "stopped", "error")
STALE_S = 24 * 3600  # an unsent capture or a copy left by a crash this old is removed when a store opens
LEGACY_CAPTURES = (("recordings", "question-*.wav"), ("pasted", "pasted-*.png"))  # where older versions kept them


@dataclass(frozen=True)
class Attachment:
    """A file copied into the store; `path` is its content-addressed copy."""

    kind: str  # image | audio | file
    name: str  # the user's file name
    path: Path
    size: int


@dataclass
class StoredMessage:
    """One row of a conversation."""

    id: int
    role: str
    text: str
    status: str
    meta: dict = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)

    def to_message(self) -> Message:
        """The engine's view of this message."""
        parts = []
        for a in self.attachments:
            parts.append(ImagePart(a.path, a.name) if a.kind == "image" else AudioPart(a.path, a.name)
                         if a.kind == "audio" else FilePart(a.path, a.name))
        if self.text:
            parts.append(TextPart(self.text))
        return Message(self.role, tuple(parts))


@dataclass(frozen=True)
class ConversationInfo:
    """A row of the conversation list."""

    id: int
    title: str
    template: str
    updated: float


class History:
    """All conversations of one user. Not shared across threads: each thread opens its own History."""

    def __init__(self, directory: Path):
        self.directory = private_dir(Path(directory))
        make_tree_private(self.directory)  # older versions wrote the database and attachments 0644
        self.blobs = private_dir(self.directory / "attachments")
        self.incoming = private_dir(self.directory / "incoming")  # captures and copies not yet in the store
        path = self.directory / "history.sqlite3"
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # SQLite gives -wal/-shm the database's mode
        self.db = sqlite3.connect(path, timeout=10)
        self._use_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across application crashes
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        for suffix in ("-wal", "-shm"):
            make_private(path.with_name(path.name + suffix))
        self._remove_stale_captures()

    def _use_wal(self, seconds: float = 10.0) -> None:
        """Switch to WAL, waiting out another process that is opening the same new database. SQLite can answer
        "database is locked" at once here, without its busy handler: a fresh-clone test run hit it when two
        processes opened one new store at the same moment."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    # ---- conversations ----------------------------------------------------------------------------------
    def create(self, title: str = "New conversation", template: str = "") -> int:
        """A new, empty conversation; returns its id."""
        now = time.time()
        with self.db:
            cur = self.db.execute("INSERT INTO conversations(title, template, created, updated) VALUES (?,?,?,?)",
                                  (title, template, now, now))
        return int(cur.lastrowid)

    def fork(self, conversation_id: int, before: int, title: str) -> int:
        """A new conversation holding this one's messages before message `before` (sharing their stored files);
        returns its id. Editing an earlier question goes on there, and this conversation stays as it was."""
        now = time.time()
        with self._writing():
            new = int(self.db.execute(
                "INSERT INTO conversations(title, template, created, updated) "
                "SELECT ?, template, ?, ? FROM conversations WHERE id=?", (title, now, now, conversation_id)).lastrowid)
            for (mid,) in self.db.execute("SELECT id FROM messages WHERE conversation_id=? AND id<? ORDER BY id",
                                          (conversation_id, before)).fetchall():
                copy = self.db.execute("INSERT INTO messages(conversation_id, role, text, status, meta, created) "
                                       "SELECT ?, role, text, status, meta, created FROM messages WHERE id=?",
                                       (new, mid)).lastrowid
                self.db.execute("INSERT INTO attachments(message_id, kind, name, sha256, size) SELECT ?, kind, name, "
                                "sha256, size FROM attachments WHERE message_id=? ORDER BY id", (copy, mid))
        return new

    def conversations(self, search: str = "") -> list[ConversationInfo]:
        """Newest first; `search` matches titles and message text (case-insensitive)."""
        sql = "SELECT id, title, template, updated FROM conversations"
        args: tuple = ()
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{escaped}%"
            sql += (r" WHERE title LIKE ? ESCAPE '\' OR id IN (SELECT conversation_id FROM messages"
                    r" WHERE text LIKE ? ESCAPE '\')")
            args = (like, like)
        rows = self.db.execute(sql + " ORDER BY updated DESC, id DESC", args).fetchall()
        return [ConversationInfo(*r) for r in rows]

    def rename(self, conversation_id: int, title: str) -> None:
        """Give a conversation a new title (blank titles are refused)."""
        if not title.strip():
            raise ValueError("a conversation needs a title")
        with self.db:
            self.db.execute("UPDATE conversations SET title=? WHERE id=?", (title.strip(), conversation_id))

    def set_template(self, conversation_id: int, template: str) -> None:
        """Apply a prompt template (by name) to a conversation."""
        with self.db:
            self.db.execute("UPDATE conversations SET template=? WHERE id=?", (template, conversation_id))

    def info(self, conversation_id: int) -> ConversationInfo:
        """One conversation's list row."""
        row = self.db.execute("SELECT id, title, template, updated FROM conversations WHERE id=?",
                              (conversation_id,)).fetchone()
        if row is None:
            raise KeyError(conversation_id)
        return ConversationInfo(*row)

    def delete(self, conversation_id: int) -> None:
        """Delete a conversation with its messages; attachment files no other message uses are removed."""
        with self._writing():
            doomed = self._attachments_where("m.conversation_id=?", (conversation_id,))
            self.db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,))
            self._collect_garbage(doomed)

    # ---- messages ---------------------------------------------------------------------------------------
    def add_message(self, conversation_id: int, role: str, text: str = "", status: str = "done",
                    attachments: list[tuple[str, Path]] = (), meta: dict | None = None,
                    replace_from: int | None = None) -> int:
        """Store a message (attachments are (kind, path) pairs, copied in by content hash); returns its id.

        Captures (see `capture`) are moved in: once the message is stored, the store holds their only copy.
        replace_from: delete that message and everything after it in the same step (edit and resend), so the
        files it shares with the new message, which may be attached from the store itself, are kept.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        bad = [kind for kind, _ in attachments if kind not in KINDS]
        if bad:
            raise ValueError(f"unknown attachment kind {bad[0]!r}")
        staged = [self._stage_blob(Path(p)) for _, p in attachments]  # the slow copies, outside the lock
        try:
            now = time.time()
            with self._writing():
                doomed = set() if replace_from is None else self._delete_from(conversation_id, replace_from)
                cur = self.db.execute(
                    "INSERT INTO messages(conversation_id, role, text, status, meta, created) VALUES (?,?,?,?,?,?)",
                    (conversation_id, role, text, status, json.dumps(meta or {}), now))
                mid = int(cur.lastrowid)
                for (kind, source), (digest, tmp) in zip(attachments, staged):
                    target = self._blob_path(digest, Path(source).name)
                    private_dir(target.parent)
                    os.replace(tmp, target)  # same bytes if it was there: readers see the old or new, both whole
                    self.db.execute("INSERT INTO attachments(message_id, kind, name, sha256, size) VALUES (?,?,?,?,?)",
                                    (mid, kind, Path(source).name, digest, target.stat().st_size))
                self.db.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conversation_id))
                self._collect_garbage(doomed)  # after the new rows: what the new message reuses stays
        finally:
            for _, tmp in staged:
                tmp.unlink(missing_ok=True)
        for _, source in attachments:
            self.discard(Path(source))
        return mid

    def capture(self, data: bytes, prefix: str, suffix: str) -> Path:
        """Keep a recording or pasted image until it is sent: a new private file the store owns (unique name)."""
        fd, path = private_temp(self.incoming, prefix=f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=suffix)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path

    def discard(self, path: Path) -> None:
        """Delete a capture (sent, or removed before sending); any other file, such as the user's own, is left."""
        path = Path(path)
        if path.parent.resolve() == self.incoming.resolve() and not path.name.startswith("."):
            path.unlink(missing_ok=True)

    def update_message(self, message_id: int, text: str | None = None, status: str | None = None,
                       meta: dict | None = None) -> None:
        """Replace a message's text/status/meta (the streaming answer calls this as it grows)."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        sets, args = [], []
        for column, value in (("text", text), ("status", status),
                              ("meta", None if meta is None else json.dumps(meta))):
            if value is not None:
                sets.append(f"{column}=?")
                args.append(value)
        if sets:
            with self.db:
                self.db.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id=?", (*args, message_id))

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        """A conversation's messages, oldest first, with attachments."""
        rows = self.db.execute("SELECT id, role, text, status, meta FROM messages WHERE conversation_id=? "
                               "ORDER BY id", (conversation_id,)).fetchall()
        out = [StoredMessage(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]
        by_id = {m.id: m for m in out}
        if by_id:
            marks = ",".join("?" * len(by_id))
            for mid, kind, name, digest, size in self.db.execute(
                    f"SELECT message_id, kind, name, sha256, size FROM attachments WHERE message_id IN ({marks}) "
                    "ORDER BY id", tuple(by_id)):
                by_id[mid].attachments.append(Attachment(kind, name, self._blob_path(digest, name), size))
        return out

    def delete_messages_from(self, conversation_id: int, message_id: int) -> None:
        """Delete a message and everything after it (regenerate, edit-and-resend)."""
        with self._writing():
            self._collect_garbage(self._delete_from(conversation_id, message_id))

    def _delete_from(self, conversation_id: int, message_id: int) -> set[tuple[str, str]]:
        """Delete a message and those after it (inside `_writing`); returns their attachments for collection."""
        doomed = self._attachments_where("m.conversation_id=? AND m.id>=?", (conversation_id, message_id))
        self.db.execute("DELETE FROM messages WHERE conversation_id=? AND id>=?", (conversation_id, message_id))
        return doomed

    def recover(self) -> int:
        """Mark answers a crash left "streaming" as "interrupted"; returns how many."""
        with self.db:
            cur = self.db.execute("UPDATE messages SET status='interrupted' WHERE status='streaming'")
        return cur.rowcount

    def export_markdown(self, conversation_id: int) -> str:
        """The conversation as a Markdown document."""
        info = self.info(conversation_id)
        lines = [f"# {info.title}", ""]
        for m in self.messages(conversation_id):
            who = {"user": "You", "assistant": "Assistant", "system": "System"}.get(m.role, m.role)
            lines.append(f"**{who}**" + (f" _({m.status})_" if m.status not in ("done",) else ""))
            lines += [f"- attached {a.kind}: `{a.name}`" for a in m.attachments]
            if m.meta.get("transcript"):
                lines.append(f"> (heard) {m.meta['transcript']}")
            lines += ["", m.text, ""]
        return "\n".join(lines).rstrip() + "\n"

    # ---- blobs ------------------------------------------------------------------------------------------
    def _blob_path(self, digest: str, name: str) -> Path:
        """attachments/ab/abcdef...<suffix>: the suffix keeps the file type readable for the document readers."""
        return self.blobs / digest[:2] / (digest + Path(name).suffix.lower()[:16])

    def _stage_blob(self, source: Path) -> tuple[str, Path]:
        """Copy source into a unique private temp file beside the store, hashing as it goes: (sha256, temp path)."""
        h = hashlib.sha256()
        fd, tmp = private_temp(self.incoming, prefix=".copy-")
        try:
            with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    h.update(chunk)
                    dst.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return h.hexdigest(), tmp

    @contextmanager
    def _writing(self):
        """A write transaction locked from its start (BEGIN IMMEDIATE): another process's add or collection
        waits, so a file is never deleted between one process's check and the other's row."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    def _remove_stale_captures(self) -> None:
        """Unsent captures and copies left by a crash (a day old), and the captures older versions kept outside
        the store (their content, if sent, is in the store; the rest belonged to deleted or unsent questions)."""
        cutoff = time.time() - STALE_S
        for path in self.incoming.iterdir():
            with suppress(FileNotFoundError):  # another process may be clearing it too
                if path.stat().st_mtime < cutoff:
                    path.unlink()
        for folder, pattern in LEGACY_CAPTURES:
            for path in (self.directory / folder).glob(pattern):
                path.unlink(missing_ok=True)
            with suppress(OSError):  # gone, or holds files of the user's own: then it stays
                (self.directory / folder).rmdir()

    def _attachments_where(self, condition: str, args: tuple) -> set[tuple[str, str]]:
        """(sha256, name) of the attachments of the messages matching `condition` (on alias m)."""
        return set(self.db.execute("SELECT a.sha256, a.name FROM attachments a JOIN messages m ON a.message_id = m.id "
                                   f"WHERE {condition}", args).fetchall())

    def _collect_garbage(self, candidates: set[tuple[str, str]]) -> None:
        """Remove the stored files of deleted attachments that no remaining message uses (inside `_writing`)."""
        for digest, name in candidates:
            path = self._blob_path(digest, name)
            still = self.db.execute("SELECT name FROM attachments WHERE sha256=?", (digest,)).fetchall()
            if all(self._blob_path(digest, n).name != path.name for (n,) in still):
                path.unlink(missing_ok=True)
