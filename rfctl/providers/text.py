"""Text from servers made safe to print: valid Unicode, and one-line error text.

JSON lets a server escape a character outside the BMP as two UTF-16
surrogates ("\\ud83d\\ude00"); json.loads joins them when both are in one
string, but a stream may cut between them, and a buggy server may send a lone
one. A lone surrogate is not a character: writing it to a UTF-8 stream
raises UnicodeEncodeError. valid_unicode() joins pairs and replaces lone ones
with U+FFFD, so nothing rfctl prints or logs can carry one.

Error pages (an HTML 502 from a proxy) are many lines of markup with CRs;
one_line() makes any server text one readable line of bounded length.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
_PAIR_OR_LONE = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")

# Blocks whose content is not text, then any tag. A tag starts with a letter,
# "/" or "!", so "<|im_end|>" or "a < b" in a plain message are kept.
_NON_TEXT = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>")
_TAG = re.compile(r"<[A-Za-z/!][^<>]*>")
# C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACE = re.compile(r"\s+")

ERROR_TEXT_LIMIT = 200  # characters of server error text on the one error line


def is_high_surrogate(ch: str) -> bool:
    return "\ud800" <= ch <= "\udbff"


def valid_unicode(text: str) -> tuple[str, int]:
    """(text with surrogate pairs joined and lone surrogates as U+FFFD, how many were lone)."""
    if not text or _SURROGATE.search(text) is None:
        return text, 0
    lone = 0

    def fix(m: re.Match) -> str:
        nonlocal lone
        s = m.group()
        if len(s) == 2:
            return chr(0x10000 + ((ord(s[0]) - 0xD800) << 10) + (ord(s[1]) - 0xDC00))
        lone += 1
        return "\ufffd"

    return _PAIR_OR_LONE.sub(fix, text), lone


def one_line(text: str, limit: int | None = None) -> str:
    """Control characters and runs of whitespace become one space; cut to `limit`."""
    text, _ = valid_unicode(text)
    text = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def server_text(text: str, limit: int = ERROR_TEXT_LIMIT) -> str:
    """Error text a server sent, as one line: markup stripped, entities decoded, cut."""
    if "<" in text:
        text = _TAG.sub(" ", _NON_TEXT.sub(" ", text))
    if "&" in text:
        import html  # its entity table is only needed for error pages

        text = html.unescape(text)
    return one_line(text, limit)
