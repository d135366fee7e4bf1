"""Fix specs -> text edits -> new file text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from evalguard.fix.specs import AddKeyword, FixSpec, InsertStatement, InsertText, ReplaceInCall


@dataclass(frozen=True, order=True, slots=True)
class Edit:
    """Replace text[start:end] (character offsets) with `text`."""

    start: int
    end: int
    text: str


class SourceText:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self._starts = [0]
        for line in self.lines:
            self._starts.append(self._starts[-1] + len(line))

    def offset(self, line: int, col: int) -> int:
        return self._starts[line - 1] + col - 1

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""


def to_edit(spec: FixSpec, src: SourceText) -> Edit | None:
    """The text edit for one spec, or None when the source does not look as expected."""
    if isinstance(spec, InsertStatement):
        line = src.line_text(spec.line)
        if not line.strip():
            return None
        indent = line[: len(line) - len(line.lstrip())]
        newline = "\r\n" if line.endswith("\r\n") else "\n"
        at = src.offset(spec.line, 1)
        return Edit(at, at, f"{indent}{spec.text}{newline}")
    if isinstance(spec, InsertText):
        at = src.offset(spec.line, spec.col)
        return Edit(at, at, spec.text)
    if isinstance(spec, AddKeyword):
        close = src.offset(spec.end_line, spec.end_col) - 1
        if src.text[close : close + 1] != ")":
            return None
        before = src.text[:close].rstrip()
        at = len(before)
        if before.endswith(","):
            return Edit(at, at, f" {spec.text}")
        if before.endswith("("):
            return Edit(at, at, spec.text)
        return Edit(at, at, f", {spec.text}")
    if isinstance(spec, ReplaceInCall):
        start, end = src.offset(spec.line, spec.col), src.offset(spec.end_line, spec.end_col)
        match = re.search(spec.old, src.text[start:end])
        if match is None:
            return None
        return Edit(start + match.start(), start + match.end(), match.expand(spec.new))
    return None


def apply_edits(text: str, edits: Iterable[Edit]) -> str | None:
    """Apply non-overlapping edits (identical ones once); None if two overlap."""
    unique = sorted(set(edits))
    for a, b in zip(unique, unique[1:]):
        if b.start < a.end:
            return None
    out = text
    for edit in reversed(unique):
        out = out[: edit.start] + edit.text + out[edit.end :]
    return out
