"""What a fix does, in terms of source positions (1-based lines, 1-based character columns).

Rules return these; `edits.py` turns them into text edits against the file's actual text, so every
byte the fix does not touch stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InsertStatement:
    """A new statement on its own line before `line`, indented like that line."""

    line: int
    text: str


@dataclass(frozen=True, slots=True)
class InsertText:
    """`text` at (line, col): e.g. `()` after `model.eval`."""

    line: int
    col: int
    text: str


@dataclass(frozen=True, slots=True)
class AddKeyword:
    """`, name=value` before the closing parenthesis of the call ending at (end_line, end_col)."""

    end_line: int
    end_col: int
    text: str


@dataclass(frozen=True, slots=True)
class ReplaceInCall:
    """Inside the call spanning (line, col)-(end_line, end_col), replace the first match of the
    regular expression `old` with `new` (which may refer to its groups, as in `re.sub`)."""

    line: int
    col: int
    end_line: int
    end_col: int
    old: str
    new: str


FixSpec = InsertStatement | InsertText | AddKeyword | ReplaceInCall
