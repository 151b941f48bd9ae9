"""Conversations: the turns of a multi-turn exchange, one JSON line each.

A conversation is the file `DIR/<id>.jsonl`. Turns are appended the way the
usage log is (one write() of whole lines on an O_APPEND descriptor under an
flock advisory lock), so parallel `rfctl generate -c` calls never tear or
interleave a line, and a question and its answer, appended together, stay
next to each other. Readers still skip a torn or foreign line. The file's
mtime is its last use, which is what `-c/--continue` picks.

fit() decides which turns still fit a context window; it is pure, so the
caller chooses the token counter and what to say about dropped turns.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields

from rfctl.errors import InputError

# An id names a file: letters, digits, '.', '_' and '-', starting with a letter
# or digit (so never '.', '..' or a hidden file), at most 64 characters.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ROLES = ("system", "user", "assistant")
TURN_OVERHEAD = 4  # tokens a chat template adds around each message (role, separators)


def default_dir() -> str:
    """$XDG_STATE_HOME/rfctl/conversations (~/.local/state/rfctl/conversations)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "rfctl", "conversations")


def check_id(value: str) -> str:
    """value, if it can name a conversation; InputError otherwise (never a path)."""
    if not isinstance(value, str) or not _ID.fullmatch(value) or value.endswith(".jsonl"):
        raise InputError(
            f"invalid conversation name {value!r}: use 1-64 letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit"
        )
    return value


@dataclass
class Turn:
    """One message of the conversation, and what it cost when it was made."""

    role: str  # system | user | assistant
    content: str
    ts: str = ""  # ISO 8601 UTC, as in the usage log; set by append() when empty
    provider: str | None = None  # assistant turns: who answered
    model: str | None = None
    cost_usd: float | None = None  # null: unknown price
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    request_id: str | None = None  # joins the turn to its usage-log records
    attachments: list = field(default_factory=list)  # [{"name", "sha256", "media_type"}]

    def to_json(self) -> str:
        d = {k: v for k, v in asdict(self).items() if v is not None and v != []}
        d["cost_usd"] = self.cost_usd  # like the usage log: null means unknown, not absent
        return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


_TURN_FIELDS = {f.name for f in fields(Turn)}


def _turn_from(d) -> Turn | None:
    if not isinstance(d, dict):
        return None
    role, content = d.get("role"), d.get("content")
    if role not in ROLES or not isinstance(content, str):
        return None
    try:
        t = Turn(**{k: v for k, v in d.items() if k in _TURN_FIELDS})
    except TypeError:
        return None
    if t.cost_usd is not None and (
        isinstance(t.cost_usd, bool) or not isinstance(t.cost_usd, int | float)
    ):
        t.cost_usd = None
    if not isinstance(t.attachments, list):
        t.attachments = []
    return t


def messages(turns: Iterable[Turn]) -> list[dict]:
    """The turns as chat messages, oldest first: [{"role", "content"}, ...]."""
    return [{"role": t.role, "content": t.content} for t in turns]


# ---------------------------------------------------------------- fitting


def fit(
    turns: list[Turn],
    budget_tokens: int,
    count: Callable[[str], int],
    overhead: int = TURN_OVERHEAD,
) -> tuple[list[Turn], list[Turn]]:
    """(kept, dropped): the newest turns whose tokens (count(content) plus
    `overhead` each) fit in budget_tokens, and the older ones that do not.

    Turns are dropped whole and oldest first, never from the middle; a kept
    history never starts with an assistant turn (an answer without its
    question), so that one goes too. System turns are kept ahead of the rest
    while they fit, since they set the rules for everything after them.
    """
    system = [t for t in turns if t.role == "system"]
    rest = [t for t in turns if t.role != "system"]
    left = budget_tokens
    kept_system = []
    for t in system:
        cost = count(t.content) + overhead
        if cost > left:
            break
        left -= cost
        kept_system.append(t)
    start = len(rest)
    for i in range(len(rest) - 1, -1, -1):
        cost = count(rest[i].content) + overhead
        if cost > left:
            break
        left -= cost
        start = i
    while start < len(rest) and rest[start].role == "assistant":
        start += 1
    kept_ids = {id(t) for t in kept_system} | {id(t) for t in rest[start:]}
    kept = [t for t in turns if id(t) in kept_ids]
    dropped = [t for t in turns if id(t) not in kept_ids]
    return kept, dropped


def trim(
    turns: list[Turn],
    budget_tokens: int,
    count: Callable[[str], int],
    *,
    conversation: str,
    strict: bool = False,
) -> list[Turn]:
    """fit(), and what the user hears about it: a warning naming how many turns
    were left out, or (strict) InputError, exit 65, instead of sending less."""
    kept, dropped = fit(turns, budget_tokens, count)
    if dropped:
        what = f"{len(dropped)} oldest of {len(turns)} turns of conversation {conversation}"
        if strict:
            raise InputError(
                f"the history does not fit the context window: {what} would be dropped"
            )
        from rfctl import console

        console.warn(f"the history does not fit the context window: left out the {what}")
    return kept


# ---------------------------------------------------------------- the store


@dataclass
class Summary:
    id: str
    last_used: str  # ISO 8601 UTC
    turns: int
    model: str | None  # of the latest answer
    cost_usd: float | None  # of every priced answer; None when none was priced
    skipped: int = 0  # lines that were not valid turns


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    from rfctl.usagelog import format_ts

    return format_ts(datetime.fromtimestamp(ts, UTC))


class Store:
    def __init__(self, dir: str | os.PathLike | None = None):
        self.dir = os.fspath(dir) if dir is not None else default_dir()

    def path(self, id: str) -> str:
        return os.path.join(self.dir, check_id(id) + ".jsonl")

    def exists(self, id: str) -> bool:
        return os.path.isfile(self.path(id))

    def new(self, name: str | None = None) -> str:
        """Start a conversation: named, or with a fresh id (time-ordered,
        e.g. 20261201-194512-3f9a). A name already in use is an error."""
        if name is not None:
            check_id(name)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        for _ in range(100):
            id = name or time.strftime("%Y%m%d-%H%M%S-", time.gmtime()) + os.urandom(2).hex()
            try:
                fd = os.open(
                    self.path(id), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
                )
            except FileExistsError:
                if name is not None:
                    raise InputError(
                        f"conversation {name} already exists; continue it with --conversation {name}"
                    ) from None
                continue
            os.close(fd)
            return id
        raise InputError("cannot pick a new conversation id")  # pragma: no cover

    def latest(self) -> str | None:
        """The most recently used conversation, or None when there is none."""
        best = None
        for id, st in self._files():
            if best is None or (st.st_mtime_ns, id) > best[0]:
                best = ((st.st_mtime_ns, id), id)
        return None if best is None else best[1]

    def _files(self):
        try:
            it = os.scandir(self.dir)
        except OSError:
            return
        with it:
            for de in it:
                if not de.name.endswith(".jsonl") or not _ID.fullmatch(de.name[:-6]):
                    continue
                try:
                    st = de.stat()
                except OSError:
                    continue
                yield de.name[:-6], st

    def load(self, id: str) -> list[Turn]:
        turns, _ = self.read(id)
        return turns

    def read(self, id: str) -> tuple[list[Turn], int]:
        """(turns, lines skipped). An unknown id is an InputError."""
        path = self.path(id)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise InputError(f"no conversation named {id} (see 'rfctl conversations')") from None
        except OSError as e:
            raise InputError(f"cannot read conversation {id}: {e.strerror}") from None
        turns, skipped = [], 0
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                t = _turn_from(json.loads(line))
            except ValueError:
                t = None
            if t is None:
                skipped += 1
            else:
                turns.append(t)
        return turns, skipped

    def append(self, id: str, *turns: Turn) -> None:
        """Add turns at the end, in one write under the lock: a question and
        its answer appended together are never split by another writer.
        Raises RfctlError (exit 73) when the file cannot be written."""
        from rfctl.appendlog import append_bytes
        from rfctl.usagelog import now_iso

        for t in turns:
            if t.role not in ROLES:
                raise ValueError(f"not a turn role: {t.role!r}")
            if not t.ts:
                t.ts = now_iso()
        data = "".join(t.to_json() + "\n" for t in turns).encode("utf-8")
        try:
            append_bytes(self.path(id), data)
        except OSError as e:
            from rfctl.errors import Exit, RfctlError

            raise RfctlError(
                f"cannot write conversation {id}: {e.strerror or e}", Exit.CANTCREAT
            ) from None

    def delete(self, id: str) -> None:
        try:
            os.unlink(self.path(id))
        except FileNotFoundError:
            raise InputError(f"no conversation named {id}") from None

    def list(self) -> list[Summary]:
        """Every conversation, most recently used first."""
        found = []
        for id, st in self._files():
            try:
                turns, skipped = self.read(id)
            except InputError:
                continue  # removed meanwhile
            priced = [t.cost_usd for t in turns if t.role == "assistant" and t.cost_usd is not None]
            answers = [t for t in turns if t.role == "assistant"]
            summary = Summary(
                id=id,
                last_used=_iso(st.st_mtime),
                turns=len(turns),
                model=answers[-1].model if answers else None,
                cost_usd=round(sum(priced), 10) if priced else None,
                skipped=skipped,
            )
            found.append(((st.st_mtime_ns, id), summary))
        found.sort(key=lambda f: f[0], reverse=True)
        return [summary for _, summary in found]
