"""A fast reader for the plain block YAML that policy files are written in; the strict reader stays the reference.

PyYAML hands every value over as an event object with two position marks, and that alone
takes about 2 s for a 10 MB file on a 2-core machine. Policy files (what ``export`` writes,
what people and generators write) use a small part of YAML: block mappings and lists, one
entry a line, plain or single-line quoted values, ``{}`` and ``[]``, comments. This module
reads exactly that part, line by line, and *declines* (returns :data:`DECLINED`) at the first
line that is anything else (an anchor, a tag, a flow collection, a multi-line value, a tab, an
odd indentation, a character YAML treats specially, ...): :func:`.strict.load_yaml` then reads
the whole text with the strict reader, which is what decides and words every error.

What it accepts, it reads to the very same values as the strict reader (a differential
property test checks it): scalars are resolved with PyYAML's own implicit-resolver table and
built by the same constructor. The one refusal it words itself is a duplicate key, with the
same message, path and lines as the strict reader, so that a duplicate on the last line of a
10 MB file is refused as fast as a valid file is read.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.error import Mark
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from immuta_spark.errors import PolicyFileError

__all__ = ["DECLINED", "duplicate_key_error", "fast_load", "line_text", "path_text"]

#: What :func:`fast_load` returns for text outside the part of YAML it reads.
DECLINED: Any = object()

_STR = "tag:yaml.org,2002:str"
#: Characters the fast reader leaves to the strict one: anything not printable for YAML, the
#: line breaks YAML knows besides ``\n`` (``\r``, NEL, LS, PS), tabs and byte-order marks.
_UNUSUAL = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# A plain scalar: no indicator first ('-' only before a non-blank, as in -1); inside, a ':' only
# before a non-blank and a '#' only after one (so neither ': ' nor ' #' can hide in it, while
# hdfs://host:8020/p and a#b read as YAML reads them), no trailing blank; quoted ones on one
# line, double-quoted without escapes.
_PLAIN = r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|-(?=[^\s:#]))(?:(?:[^:#]|:(?=\S)|(?<=\S)#)*(?:[^\s:#]|(?<=\S)#))?"
_SQUOTED = r"'(?:[^']|'')*'"
_DQUOTED = r'"[^"\\]*"'
_LINE = re.compile(
    rf"(?P<ind> *)(?P<dash>- +)?(?:(?P<key>{_PLAIN}|{_SQUOTED}|{_DQUOTED}):(?: +|$))?"
    rf"(?P<val>{_PLAIN}|{_SQUOTED}|{_DQUOTED}|\{{\}}|\[\])?(?: +#.*| *)$"
)
#: libyaml refuses an implicit key longer than 1,024 characters; leave long ones to it.
_MAX_KEY = 1000
_RESOLVERS = Resolver.yaml_implicit_resolvers
_CONSTRUCTORS = SafeConstructor.yaml_constructors
_MAX_DEPTH = 64


class _Declined(Exception):
    """Raised inside the reader to give up; never leaves this module."""


def _scalar(text: str, plain: bool, cache: dict[str, Any], constructor: SafeConstructor) -> Any:
    """The value of one scalar token, as the strict reader builds it (plain ones cached by text)."""
    if not plain:
        if text[0] == "'":
            return text[1:-1].replace("''", "'")
        return text[1:-1]
    try:
        return cache[text]
    except KeyError:
        pass
    tag = _STR
    for candidate, regexp in _RESOLVERS.get(text[0], ()):
        if regexp.match(text):
            tag = candidate
            break
    if tag == _STR:
        value: Any = text
    else:
        construct = _CONSTRUCTORS.get(tag)
        if construct is None or tag == "tag:yaml.org,2002:merge":
            raise _Declined
        mark = Mark("", 0, 0, 0, None, None)
        try:
            value = construct(constructor, ScalarNode(tag, text, mark, mark, None))
        except (ValueError, OverflowError, ConstructorError):
            raise _Declined from None
    if not isinstance(value, float):  # one NaN object for two NaN keys would make them equal
        cache[text] = value
    return value


#: Token parts: a line with no key (``- value``), and a key whose value is on the next lines.
_NO_KEY: Any = object()
_PENDING: Any = object()
#: ``{}`` and ``[]``: a new one each time (tokens are shared by every line with the same text).
_EMPTY_MAP: Any = object()
_EMPTY_LIST: Any = object()
#: A blank or comment-only line.
_BLANK: Any = object()


def _token(line: str, cache: dict[str, Any], constructor: SafeConstructor) -> Any:
    """One line as ``(indent, item, key, value)`` (``item``: the column after ``- ``, or -1), or :data:`_BLANK`."""
    m = _LINE.match(line)
    if m is None:
        if line.lstrip(" ").startswith("#"):
            return _BLANK
        raise _Declined
    ind, dash, key, val = m.group("ind", "dash", "key", "val")
    if dash is None and key is None and val is None:
        return _BLANK
    if line.startswith(("---", "...")) or (dash is not None and key is None and val is None):
        raise _Declined  # a document marker, or '-' alone (a nested node on the next lines)
    if key is not None and len(key) > _MAX_KEY:
        raise _Declined
    indent = len(ind)
    return (
        indent,
        -1 if dash is None else indent + len(dash),
        _NO_KEY if key is None else _value(key, cache, constructor),
        _PENDING if val is None else _value(val, cache, constructor),
    )


def fast_load(text: str, file: str | None = None) -> Any:
    """``text`` read as :func:`.strict.load_yaml` reads it, or :data:`DECLINED` when it is outside the plain part.

    Raises :class:`PolicyFileError` for a duplicate key (worded as the strict reader words it).
    """
    return fast_read(text, file)[0]


def fast_read(text: str, file: str | None = None) -> tuple[Any, int]:
    """As :func:`fast_load`, with the line (from 1) of the first thing outside the plain part; 0 when read."""
    unusual = _UNUSUAL.search(text)
    if unusual:
        return DECLINED, text.count("\n", 0, unusual.start()) + 1
    start = 4 if text.startswith("---\n") else 0  # an explicit start of the one document
    lines = text[start:].split("\n")
    try:
        return _read(lines, file, start > 0), 0
    except _Declined as exc:
        return DECLINED, (exc.args[0] if exc.args else len(lines)) + (1 if start else 0)


def _read(lines: list[str], file: str | None, offset: bool) -> Any:
    """The document of ``lines``: one loop over them, each line's text tokenized once."""
    constructor = SafeConstructor()
    scalars: dict[str, Any] = {}
    tokens: dict[str, Any] = {}
    # The open collections: the innermost in top/top_indent/top_map, the outer ones on stack.
    stack: list[tuple[Any, int, bool]] = []
    root: Any = None
    top: Any = None
    top_indent = 0
    top_map = True
    pending = False
    pending_key: Any = None
    number = -1
    try:
        for number, line in enumerate(lines):
            token = tokens.get(line)
            if token is None:
                token = tokens[line] = _token(line, scalars, constructor)
            if token is _BLANK:
                continue
            indent, item, key, val = token
            if pending:
                if indent > top_indent or (indent == top_indent and item >= 0):
                    if len(stack) >= _MAX_DEPTH - 1:
                        raise _Declined
                    child: Any = [] if item >= 0 else {}
                    top[pending_key] = child
                    stack.append((top, top_indent, top_map))
                    top, top_indent, top_map = child, indent, item < 0
                else:
                    top[pending_key] = None
                pending = False
            elif top is None:
                if indent or item >= 0:
                    raise _Declined  # the document is not a mapping: the strict reader reads it
                root = top = {}
            while indent < top_indent:
                top, top_indent, top_map = stack.pop()
            if item < 0 and not top_map and indent == top_indent:
                top, top_indent, top_map = stack.pop()  # a list at its mapping's indentation ends at the next key
            if indent != top_indent:
                raise _Declined
            if item >= 0:
                if top_map:
                    raise _Declined
                if key is _NO_KEY:
                    if val is _PENDING:
                        raise _Declined
                    top.append({} if val is _EMPTY_MAP else [] if val is _EMPTY_LIST else val)
                    continue
                if len(stack) >= _MAX_DEPTH - 1:
                    raise _Declined
                child = {}
                top.append(child)
                stack.append((top, top_indent, top_map))
                top, top_indent, top_map = child, item, True
            elif key is _NO_KEY or not top_map:
                raise _Declined
            if key in top:
                raise _duplicate(lines, number, key, [*stack, (top, top_indent, top_map)], offset, file)
            if val is _PENDING:
                pending, pending_key = True, key
            elif val is _EMPTY_MAP or val is _EMPTY_LIST:
                top[key] = {} if val is _EMPTY_MAP else []
            else:
                top[key] = val
    except _Declined:
        raise _Declined(number + 1) from None  # where it gave up, for the caller's message
    if pending:
        top[pending_key] = None
    if root is None:
        raise _Declined  # no document, or only comments: the strict reader says what that is
    return root


def _duplicate(
    lines: list[str], number: int, key: Any, frames: list[tuple[Any, int, bool]], offset: bool, file: str | None
) -> PolicyFileError:
    """The strict reader's error for ``key`` repeated on line ``number`` in the innermost open mapping.

    Only now are positions worked out: the first occurrence is found by reading back from the
    repeat to where the mapping opened.
    """
    constructor = SafeConstructor()
    scalars: dict[str, Any] = {}
    indent = frames[-1][1]
    column = indent
    first = (number, indent)
    for back in range(number, -1, -1):
        token = _token(lines[back], scalars, constructor)
        if token is _BLANK:
            continue
        t_indent, t_item, t_key, _ = token
        if back == number:
            column = t_item if t_item >= 0 else t_indent
            continue
        if t_item == indent or (t_indent == indent and t_item < 0):
            if t_key is key or t_key == key:  # as a dict compares keys (one NaN object is one key)
                first = (back, indent)
            if t_item == indent:
                break  # the '- ' line that opened this mapping
        elif t_indent < indent:
            break
    parts: list[str] = []
    for value, _, mapping in frames[:-1]:
        if mapping:
            parts.append(f".{next(reversed(value))}" if parts else str(next(reversed(value))))
        else:
            parts.append(f"[{len(value) - 1}]")  # the item being read is already in its list
    parts.append(f".{key}" if parts else str(key))
    shift = 1 if offset else 0
    return duplicate_key_error(
        parts, len(frames) == 1, key, (number + shift, column), (first[0] + shift, first[1]), file
    )


def path_text(parts: list[str]) -> str:
    """A path from its parts (``users``, ``[3]``, ``.groups``), its middle elided when it is long."""
    if len(parts) > 10:  # a path 64 deep says less than its ends and its depth
        parts = [*parts[:4], f"...({len(parts) - 8} more)...", *parts[-4:]]
    return "".join(parts)


def line_text(line: int, column: int) -> str:
    """A position (both counted from 0) as messages give it."""
    return f"line {line + 1}, column {column + 1}"


def duplicate_key_error(
    parts: list[str], section: bool, key: Any, at: tuple[int, int], first: tuple[int, int], file: str | None
) -> PolicyFileError:
    """The error for a key given twice in one mapping (both readers word it so)."""
    here = line_text(*at)
    return PolicyFileError(
        f"{path_text(parts)} ({here})",
        f"duplicate {'section' if section else 'key'} {key!r}: at {here} and first at {line_text(*first)}; "
        "YAML would silently keep only the last one, so write it once (merge the two)",
        file=file,
    )


def _value(token: str, cache: dict[str, Any], constructor: SafeConstructor) -> Any:
    if token == "{}":
        return _EMPTY_MAP
    if token == "[]":
        return _EMPTY_LIST
    return _scalar(token, token[0] not in "'\"", cache, constructor)
