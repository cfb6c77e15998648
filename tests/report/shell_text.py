"""Text output read the way a person copies it: the suggested commands, the addresses, the ids."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from typing import Any

IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w.])")
RESOURCE_ID = re.compile(r"/subscriptions/[^\s│┃'\"(),]+")
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_OPERATORS = set("();<>|&")


def plain(terminal: str) -> str:
    """What a terminal shows: escape sequences dropped, CR LF as LF."""
    return _ESCAPES.sub("", terminal).replace("\r\n", "\n")


def commands(text: str) -> list[str]:
    """Every suggested command: the lines that start with ``$ ``."""
    return [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("$ ")]


def shell_problems(command: str) -> list[str]:
    """Why ``command`` would not paste into a POSIX shell as one command; empty when it does."""
    try:
        words = shlex.split(command, comments=True)
    except ValueError as exc:
        return [f"does not parse: {exc}"]
    if not words:
        return ["no command"]
    lexer = shlex.shlex(command, posix=False, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    raw = list(lexer)
    problems = []
    operators = [w for w in raw if set(w) <= _OPERATORS]
    if words[0] == "az" and operators:
        problems.append(f"not one az command (shell operators {operators})")
    globs = [w for w in raw if w[0] not in "'\"" and any(c in w for c in "*?[")]
    if globs:
        problems.append(f"unquoted glob characters in {globs}")
    return problems


def strings(data: Any) -> Iterator[str]:
    """Every string in a JSON document."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings(value)


def broken_tokens(text: str, document: Any) -> list[str]:
    """Addresses and ids in ``text`` that are not whole addresses and ids of the JSON answer:
    what is left of one cut across two lines."""
    known: set[str] = set()
    for value in strings(document):
        known.update(IPV4.findall(value))
        known.update(RESOURCE_ID.findall(value))
    found = IPV4.findall(text) + RESOURCE_ID.findall(text)
    return [token for token in found if token not in known]


def whole(text: str, token: str) -> bool:
    """``token`` appears in ``text`` on one line, not as part of a longer address or name."""
    return re.search(rf"(?<![\w.]){re.escape(token)}(?![\w.])", text) is not None


def load(text: str) -> Any:
    return json.loads(text)
