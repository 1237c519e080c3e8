"""The table-query step: the LLM writes one SQLite SELECT for the question, code runs it, the answer gets the result.

A small model restates rows instead of adding them up ("the units sold in February" read from one row, 525, not
summed, 675). Statistics computed in advance (documents.table_facts) cover the common questions; this step covers
the rest: the attached tables become tables of an in-memory SQLite database, the model is asked for a query, and
the query runs sandboxed:

- the database lives in memory and holds only copies of the tables; nothing else is reachable;
- an authorizer allows reading and functions only (no ATTACH, PRAGMA, writes or schema changes), extensions stay
  off, one statement only;
- a progress handler stops a query after MAX_STEPS virtual-machine steps (a recursive query cannot run on), and
  SQLite's length limit bounds every value it makes.

The result goes into the question's turn as data ("computed ..."), never as an instruction; a query that fails or
is refused is dropped and the answer goes on without it.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from assistant.documents import Table, format_number, is_numeric, number, padded

MAX_CELLS = 2_000_000  # larger tables are not copied into the database (the statistics still stand)
MAX_STEPS = 20_000_000  # SQLite virtual-machine steps a query may take (~1 s on a 2-core machine)
MAX_RESULT_ROWS = 10
MAX_VALUE = 1_000_000  # bytes of any string or blob SQLite makes
MAX_NOTE = 600  # characters of the result given to the answer
SAMPLE_ROWS = 3
MAX_QUERY_TOKENS = 160  # the writer's reply: one query (the longest asked in the evaluation is ~60 tokens)
NONE = "NONE"

# What the query may do (sqlite3 action codes): read columns, select, call functions, recursive CTEs.
_ALLOWED = {sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_CHECK_EVERY = 1000  # progress handler period, in VM steps


class QueryError(Exception):
    """The query could not run: refused, malformed, or too costly."""


def identifier(name: str, taken: set[str], fallback: str) -> str:
    """A plain SQL identifier for a header or file name: lower case letters, digits and _, unique in `taken`."""
    base = re.sub(r"[^0-9a-z_]+", "_", name.strip().lower()).strip("_") or fallback
    if base[0].isdigit():
        base = f"{fallback}_{base}"
    out, n = base, 2
    while out in taken:
        out, n = f"{base}_{n}", n + 1
    taken.add(out)
    return out


@dataclass
class Columns:
    name: str  # the SQL table's name
    label: str  # the file (and sheet) it came from
    columns: list[tuple[str, str]]  # (SQL name, type)
    rows: int


class Database:
    """The tables in an in-memory SQLite database (built once for a conversation's tables: Engine keeps the last)."""

    def __init__(self, tables: list[Table]):
        self.tables: list[Columns] = []
        self.samples: dict[str, list[list[str]]] = {}  # table -> its first rows, for the writer
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        names: set[str] = set()
        for t in tables:
            width = max([len(t.header)] + [len(r) for r in t.rows])
            if not t.rows or width * len(t.rows) > MAX_CELLS:
                continue
            stem = re.sub(r"\.[A-Za-z0-9]+($|,)", r"\1", t.label).replace(", sheet ", "_")
            name = identifier(stem, names, "t")
            taken: set[str] = set()
            header = [t.header[j] if j < len(t.header) else "" for j in range(width)]
            cols = [identifier(h, taken, f"c{j + 1}") for j, h in enumerate(header)]
            cells = padded(t.rows, width)
            kinds = [_kind([row[j] for row in cells]) for j in range(width)]
            self._db.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {k}' for c, k in zip(cols, kinds))})")
            self._db.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * width)})",
                                 [[_value(v, k) for v, k in zip(row, kinds)] for row in cells])
            self.tables.append(Columns(name, t.label, list(zip(cols, kinds)), len(cells)))
            self.samples[name] = cells[:SAMPLE_ROWS]
        self._db.commit()
        self._db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
        self._db.set_authorizer(lambda action, *_: sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY)

    def __bool__(self) -> bool:
        return bool(self.tables)

    def run(self, sql: str) -> tuple[list[str], list[tuple]]:
        """The query's column names and up to MAX_RESULT_ROWS rows; QueryError when it is refused or fails."""
        steps = [0]

        def progress() -> int:
            steps[0] += _CHECK_EVERY
            return 1 if steps[0] > MAX_STEPS else 0

        self._db.set_progress_handler(progress, _CHECK_EVERY)
        try:
            cursor = self._db.execute(sql)
            rows = cursor.fetchmany(MAX_RESULT_ROWS + 1)
            names = [d[0] for d in cursor.description or ()]
        except (sqlite3.Error, ValueError, OverflowError) as e:  # ProgrammingError: more than one statement
            raise QueryError(f"{type(e).__name__}: {e}" if steps[0] <= MAX_STEPS else "the query ran too long") \
                from None
        finally:
            self._db.set_progress_handler(None, 0)
        if not names:
            raise QueryError("not a query")
        return names, rows

    def close(self) -> None:
        self._db.close()


def _kind(values: list[str]) -> str:
    if not is_numeric(values):
        return "TEXT"
    return "INTEGER" if all(number(v).is_integer() and abs(number(v)) < 2**63 for v in values if v) else "REAL"


def _value(v: str, kind: str):
    if not v:
        return None
    if kind == "TEXT":
        return v
    x = number(v)
    return int(x) if kind == "INTEGER" else x


WRITER = "You write SQLite queries."


def request(db: Database, question: str, earlier: list[str]) -> str:
    """What the query writer is asked: the tables as CREATE TABLE with their first rows, the conversation's earlier
    questions (a follow-up's "that month"), and the question, in the text-to-SQL layout code models are trained on.
    The writer sees no system rules and no conversation: on the evaluation's tables this asked right 9 of 10 times
    against 4 of 10 with the question asked inside the conversation."""
    lines = []
    for t in db.tables:
        lines.append(f"CREATE TABLE {t.name} ({', '.join(f'{c} {k}' for c, k in t.columns)}); -- from {t.label}")
        lines.append(f"/* {min(SAMPLE_ROWS, t.rows)} of its {t.rows} rows:")
        lines += [" | ".join(row) for row in db.samples[t.name]]
        lines.append("*/")
    if earlier:
        lines.append("-- The conversation so far asked: " + " / ".join(earlier))
    lines.append("-- Using valid SQLite, write one query whose result answers the question below. Select the values "
                 "the answer needs (names and computed numbers); a total or average over a group uses GROUP BY; the "
                 "largest or smallest row or group is found with ORDER BY ... LIMIT 1.")
    lines.append(f"-- Question: {question}")
    return "\n".join(lines)


_FENCE = re.compile(r"```(?:sql|sqlite)?\s*(.*?)(?:```|$)", re.S | re.I)
_START = re.compile(r"\b(SELECT|WITH)\b", re.I)


def query_of(reply: str) -> str | None:
    """The one SELECT (or WITH ... SELECT) statement in the writer's reply, or None (NONE, prose, no query)."""
    fenced = _FENCE.search(reply)
    text = fenced.group(1) if fenced else reply
    start = _START.search(text)
    if start is None or text[: start.start()].strip().upper().startswith(NONE):
        return None
    sql = text[start.start():].split(";")[0].strip()
    return sql or None


_MOST = re.compile(r"\b(highest|largest|biggest|most|maximum|greatest|best|top|longest|dearest|priciest)\b", re.I)
_LEAST = re.compile(r"\b(lowest|smallest|least|fewest|minimum|worst|shortest|cheapest)\b", re.I)
_ONE = re.compile(r"^\s*(which|who|what)\b", re.I)
_ORDERED = re.compile(r"\b(ORDER\s+BY|LIMIT)\b", re.I)


_COMPUTE = re.compile(r"\b(average|mean|median|sum|add(ed)? up|altogether|combined|in all|count|"
                      r"difference|compare|more than|less than|fewer than|per cent|percent(age)?|ratio)\b"
                      r"|\bhow many\b(?!.*\b(does|do|did|has|have|is|was)\b)"  # not "how many points does X have?"
                      r"|가장|평균|합치면|모두 몇|몇 개|차이", re.I)


def asks_to_compute(question: str) -> bool:
    """Whether a question needs a computation over a table (an extreme, an average, a count, a comparison), not a
    cell read off it. A picture's table is quoted whole, so only these questions run the query step on it; "total"
    is not among them: on a receipt it is the printed line (a tip or tax is in it), not the sum of the items."""
    return bool(_MOST.search(question) or _LEAST.search(question) or _COMPUTE.search(question))


def one_extreme(question: str, sql: str, rows: list[tuple]) -> str | None:
    """The query again, keeping only its top row, when a question that asks for one extreme ("Who got the highest
    score?") got a query listing every group's (SELECT student, MAX(score) ... GROUP BY student, read as its first
    row); None when the query already ordered or limited its rows, or the question asks for no single extreme."""
    most, least = _MOST.search(question), _LEAST.search(question)
    if len(rows) < 2 or not _ONE.match(question) or bool(most) == bool(least) or _ORDERED.search(sql):
        return None
    last = len(rows[0])
    if not all(isinstance(r[-1], (int, float)) for r in rows if r[-1] is not None):
        return None  # the extreme is read off the last column: it must be a number
    return f"SELECT * FROM ({sql}) ORDER BY {last} {'DESC' if most else 'ASC'} LIMIT 1"


def result_text(names: list[str], rows: list[tuple]) -> str:
    """A result as data: "month Feb, total_revenue 6200; ..." (at most MAX_RESULT_ROWS rows, MAX_NOTE characters)."""
    if not rows:
        return "no rows"
    shown = ["; ".join(", ".join(f"{n} {_show(v)}" for n, v in zip(names, row)) for row in rows[:MAX_RESULT_ROWS])]
    if len(rows) > MAX_RESULT_ROWS:
        shown.append(f"(more rows than {MAX_RESULT_ROWS})")
    text = " ".join(shown)
    return text if len(text) <= MAX_NOTE else text[: MAX_NOTE - 3] + "..."


def _show(v) -> str:
    if v is None:
        return "empty"
    if isinstance(v, float):
        return format_number(round(v, 6))
    return str(v).replace("\n", " ")[:200]


def note(labels: list[str], sql: str, names: list[str], rows: list[tuple]) -> str:
    """The computed result, as the answer's turn holds it (the query shown, so the model knows what was computed)."""
    query = " ".join(sql.split())
    return (f"(Computed exactly from {', '.join(labels)} by the query `{query[:300]}`: {result_text(names, rows)}. "
            "Answer from this result first; use the table for the rest.)")


def source(labels: list[str], sql: str) -> str:
    """How the answer cites the computation (the window's "Sources" line)."""
    return f"{', '.join(labels)}, computed by SQLite ({' '.join(sql.split())[:120]})"

