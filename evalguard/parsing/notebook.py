"""Jupyter notebooks (.ipynb) as Python source the checker can parse, and positions mapped back.

`notebook_source(data)` reads the notebook as plain JSON (no nbformat dependency) and joins its code
cells, in order, into one Python text; each cell is followed by a newline so no two cells share a line.
The checker analyses that text like a script (cells share one namespace, exactly as in the kernel), and
`map_finding` turns a finding's text line back into (cell, line in cell).

Cell numbers
    `cell` is the 1-based position of the cell in the notebook's `cells` list, counting markdown and raw
    cells too: "cell 3" is the third cell you see scrolling down in Jupyter, JupyterLab or VS Code, and
    `nb["cells"][2]` in the JSON. (Ruff numbers notebook cells the same way.) Lines and columns are then
    1-based within that cell's source, exactly as the user sees them.

IPython syntax
    Kernel-only syntax is neutralised so the text parses, without ever changing the number of lines or the
    column of any code left in place. It is recognised only where IPython recognises it: at the start of
    a logical line (never inside brackets, strings or after a backslash continuation).

    - Line magics, shell escapes, help and autocall (`%matplotlib inline`, `!pip install x`, `!!ls`,
      `?model`, `model?`, `model.forward??`, `/f x`, `,f a b`, `;f a b`) become `pass  # <original>` at
      the same indentation, so a magic that is the only statement of a block keeps the block valid.
      Continuation lines of a magic ending in `\\` become comments.
    - `%time stmt` / `%timeit [-n N -r R -q -o ...] stmt` keep `stmt`: the prefix becomes `pass;` padded
      with spaces (`%time train(model)` -> `pass; train(model)`), since the statement does run in the
      kernel. A compound statement after the magic falls back to `pass`.
    - Assignments from a shell escape or magic (`files = !ls`, `out = %sx ls`, `r = %timeit -o f()`)
      keep their target and get `None  # <original>` as value; `x = %time f()` keeps `f()`.
    - A cell whose first non-blank line is a cell magic (`%%...`): for magics that run their body as
      Python in the kernel's namespace (`%%time`, `%%timeit`, `%%capture`, `%%prun`, `%%debug`, `%%memit`)
      only the magic line becomes a comment and the body is checked; any other cell magic (`%%bash`,
      `%%writefile`, `%%html`, `%%sql`, ...) turns the whole cell into comments.
    - A cell whose first code line is indented is dedented as IPython does; the columns removed are
      recorded and `map_finding` adds them back.

Non-Python notebooks (kernel language R, Julia, ...) and code cells marked with another language
(VS Code's `metadata.vscode.languageId`) become comments: they are never reported on.

Malformed notebooks (not JSON, no `cells` list, a cell that is not an object, a `source` that is neither
a string nor a list of strings) raise `NotebookError`; its message is meant for the user (EG000).
"""

from __future__ import annotations

import bisect
import json
import os
import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from evalguard.findings import Finding

# Cell magics whose body is Python run in the kernel's own namespace: the body is checked.
PYTHON_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit"})

# First character of an IPython escape at the start of a logical line: magic, shell, help, autocall.
_ESCAPES = "%!?/,;"

_NEWLINE = re.compile(r"\r\n|\r|\n")
_INDENT = re.compile(r"[ \t\f]*")
# `%time stmt`, `%timeit -n 10 -r 3 stmt`: group `prefix` is everything before the statement.
_TIMED = re.compile(r"(?P<prefix>%(?P<name>time|timeit)(?:\s+-(?:[nrp]\s*\d+(?:\.\d+)?|[tcqo]))*\s+)(?=\S)")
_COMPOUND = re.compile(r"(?:for|while|if|elif|else|with|try|except|finally|def|class|async|match|case)\b|@")


class NotebookError(Exception):
    """The file is not a notebook evalguard can read; the message says why (reported as EG000)."""


class CellSpan(NamedTuple):
    """Where one code cell sits in `NotebookSource.text`."""

    number: int  # 1-based position in the notebook's `cells`, markdown/raw cells included
    first_line: int  # 1-based line of `text` holding the cell's line 1
    line_count: int  # lines of `text` the cell occupies (its source lines; at least 1)


@dataclass(frozen=True)
class NotebookSource:
    """The code cells of a notebook as one Python text, and the way back to cell positions."""

    text: str
    cells: tuple[CellSpan, ...]
    # Kernel language from the notebook metadata (lower case), None when the notebook does not say.
    language: str | None = None
    # text line -> columns IPython's dedent removed from it (only lines of cells whose first line is
    # indented); `map_finding` adds them back.
    column_shift: dict[int, int] = field(default_factory=dict)
    # cell number -> the cell's original source lines (code cells only), for excerpts.
    original: dict[int, tuple[str, ...]] = field(default_factory=dict)
    _starts: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", [span.first_line for span in self.cells])

    @property
    def is_python(self) -> bool:
        return self.language is None or "python" in self.language

    def to_cell_position(self, line: int) -> tuple[int, int]:
        """(cell number, line in cell) for a 1-based line of `text`. Lines outside the text are clamped
        to its first/last line (a parser may report an error one line past the end); a notebook without
        code cells maps everything to (1, 1)."""
        if not self.cells:
            return (1, 1)
        last = self.cells[-1]
        line = min(max(line, 1), last.first_line + last.line_count - 1)
        span = self.cells[bisect.bisect_right(self._starts, line) - 1]
        return (span.number, line - span.first_line + 1)

    def to_text_line(self, cell: int, line: int) -> int:
        """The inverse: the line of `text` holding line `line` of code cell `cell`; 0 if there is none."""
        for span in self.cells:
            if span.number == cell:
                return span.first_line + line - 1 if 1 <= line <= span.line_count else 0
        return 0

    def cell_lines(self, cell: int) -> tuple[str, ...] | None:
        """The original source lines of code cell `cell` (before neutralising magics); None for a
        markdown/raw cell or a number out of range."""
        return self.original.get(cell)


def notebook_source(data: bytes | str) -> NotebookSource:
    """Parse .ipynb bytes (or text) into a NotebookSource; NotebookError when it is not a notebook."""
    notebook = _load(data)
    language = _language(notebook.get("metadata"))
    python_notebook = language is None or "python" in language
    pieces: list[str] = []
    spans: list[CellSpan] = []
    shifts: dict[int, int] = {}
    original: dict[int, tuple[str, ...]] = {}
    next_line = 1
    for number, cell in enumerate(notebook["cells"], 1):
        if not isinstance(cell, dict):
            raise NotebookError(f"not a valid notebook: cell {number} is not a JSON object")
        source = _cell_source(cell, number)
        if cell.get("cell_type") != "code":
            continue
        lines = _NEWLINE.split(source)
        original[number] = tuple(lines)
        if python_notebook and _cell_is_python(cell):
            converted, cell_shifts = convert_cell(lines)
        else:
            converted, cell_shifts = [_comment(line) for line in lines], {}
        for index, shift in cell_shifts.items():
            shifts[next_line + index] = shift
        spans.append(CellSpan(number, next_line, len(converted)))
        pieces.append("\n".join(converted) + "\n")
        next_line += len(converted)
    return NotebookSource("".join(pieces), tuple(spans), language, shifts, original)


def map_finding(finding: Finding, nb: NotebookSource) -> Finding:
    """A copy of a finding on `nb.text` with `cell`, `line`, `column`, `end_line`, `end_column` in cell
    coordinates. References `path:LINE` to this notebook inside the message become `path:cell N:line M`.
    The fix is dropped: fix specs address `nb.text`, not the .ipynb file. A finding that already has a
    cell is returned unchanged."""
    if finding.cell:
        return finding
    cell, line = nb.to_cell_position(finding.line)
    column = finding.column + nb.column_shift.get(finding.line, 0) if finding.column else finding.column
    end_line, end_column = finding.end_line, finding.end_column
    if end_line > 0:
        end_cell, end_in_cell = nb.to_cell_position(end_line)
        if end_cell == cell and end_line >= finding.line:
            end_column += nb.column_shift.get(end_line, 0) if end_column else 0
        else:
            # A node never spans cells in code that parses; clamp to the end of the finding's own cell.
            lines = nb.cell_lines(cell) or ("",)
            end_in_cell, end_column = len(lines), len(lines[-1]) + 1
        end_line = end_in_cell
    return replace(
        finding,
        cell=cell,
        line=line,
        column=column,
        end_line=end_line,
        end_column=end_column,
        message=_map_message(finding.message, finding.path, nb),
        fix=None,
    )


def cell_reference(path: str, cell: int, line: int) -> str:
    """How a message points at a notebook line (the report prints `path:cell N:line M:col K`)."""
    return f"{path}:cell {cell}:line {line}"


# ---------------------------------------------------------------------------- reading the JSON


def _load(data: bytes | str) -> dict:
    try:
        if isinstance(data, str):
            notebook = json.loads(data.lstrip("\ufeff"))
        else:
            notebook = json.loads(data)  # detects UTF-8/16/32 and a UTF-8 BOM
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"not a valid notebook: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise NotebookError(f"not a valid notebook: cannot decode as UTF-8: {exc.reason}") from None
    except (ValueError, RecursionError) as exc:
        raise NotebookError(f"not a valid notebook: {exc}") from None
    if not isinstance(notebook, dict):
        raise NotebookError("not a valid notebook: the top-level JSON value is not an object")
    if "cells" not in notebook:
        if isinstance(notebook.get("worksheets"), list):
            raise NotebookError(
                "not a valid notebook: nbformat 3 is not supported (upgrade it: `jupyter nbconvert --to notebook`)"
            )
        raise NotebookError("not a valid notebook: no `cells` list")
    if not isinstance(notebook["cells"], list):
        raise NotebookError("not a valid notebook: `cells` is not a list")
    return notebook


def _cell_source(cell: dict, number: int) -> str:
    source = cell.get("source")
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    raise NotebookError(
        f"not a valid notebook: cell {number} has a `source` that is neither a string nor a list of strings"
    )


def _language(metadata: object) -> str | None:
    if not isinstance(metadata, dict):
        return None
    for key, name in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(name), str) and section[name].strip():
            return section[name].strip().lower()
    return None


def _cell_is_python(cell: dict) -> bool:
    metadata = cell.get("metadata")
    vscode = metadata.get("vscode") if isinstance(metadata, dict) else None
    language = vscode.get("languageId") if isinstance(vscode, dict) else None
    return not isinstance(language, str) or "python" in language.lower()


# ---------------------------------------------------------------------------- neutralising IPython


def convert_cell(lines: list[str]) -> tuple[list[str], dict[int, int]]:
    """One code cell's lines -> the same number of lines of plain Python, and {line index: columns
    removed by the dedent}. See the module docstring for what changes."""
    out = list(lines)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return out, {}
    body_start = first
    if lines[first].startswith("%%"):
        name = re.match(r"%%(\w*)", lines[first]).group(1)  # type: ignore[union-attr]
        out[first] = _comment(lines[first])
        if name not in PYTHON_BODY_CELL_MAGICS:
            return [_comment(line) for line in lines], {}
        body_start = first + 1
    shifts = _dedent(out, body_start)
    _neutralise(out, body_start)
    return out, shifts


def _dedent(lines: list[str], start: int) -> dict[int, int]:
    """IPython's `leading_indent`: when the first non-blank line is indented, strip that indentation from
    every line that starts with it."""
    first = next((i for i in range(start, len(lines)) if lines[i].strip()), None)
    if first is None:
        return {}
    prefix = _INDENT.match(lines[first]).group(0)  # type: ignore[union-attr]
    if not prefix:
        return {}
    shifts: dict[int, int] = {}
    for i in range(first, len(lines)):
        if lines[i].startswith(prefix):
            lines[i] = lines[i][len(prefix) :]
            shifts[i] = len(prefix)
    return shifts


class _Scanner:
    """Just enough of Python's tokenizer to know whether a line starts a logical line: bracket depth,
    open strings (triple-quoted across lines) and backslash continuations."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: str | None = None  # the open string's delimiter
        self.continued = False

    @property
    def at_logical_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued

    def feed(self, line: str) -> int:
        """Advance over one physical line; returns where its code ends (a comment's start, else len)."""
        i, n = 0, len(line)
        code_end = n
        self.continued = False
        escaped_newline = False
        while i < n:
            if self.quote is not None:
                if line[i] == "\\":
                    escaped_newline = i == n - 1
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    continue
                i += 1
                continue
            ch = line[i]
            if ch == "#":
                code_end = i
                break
            if ch in "'\"":
                self.quote = ch * 3 if line.startswith(ch * 3, i) else ch
                i += len(self.quote)
                continue
            if ch in "([{":
                self.depth += 1
            elif ch in ")]}":
                self.depth = max(0, self.depth - 1)
            elif ch == "\\" and i == n - 1:
                self.continued = True
            i += 1
        if self.quote is not None and len(self.quote) == 1 and not escaped_newline:
            self.quote = None  # an unterminated string: a syntax error either way; resync
        return code_end


def _complete(text: str) -> bool:
    """`text` is a whole logical line on its own (no open bracket, string or continuation)."""
    scanner = _Scanner()
    scanner.feed(text)
    return scanner.at_logical_start


def _assignment_value(rest: str) -> int | None:
    """Where the value starts in `target = !cmd` / `target = %magic args` (IPython's SystemAssign and
    MagicAssign: the first `=` outside brackets, followed by `!` or `%name`); None otherwise."""
    depth, quote, i, n = 0, None, 0, len(rest)
    while i < n:
        ch = rest[i]
        if quote is not None:
            if ch == "\\":
                i += 2
            elif rest.startswith(quote, i):
                i += len(quote)
                quote = None
            else:
                i += 1
            continue
        if ch == "#":
            return None
        if ch in "'\"":
            quote = ch * 3 if rest.startswith(ch * 3, i) else ch
            i += len(quote)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == "=" and depth == 0:
            if (i and rest[i - 1] in "=<>!+-*/%&|^@:") or rest.startswith("=", i + 1):
                return None  # `==`, `+=`, `<=`, `:=`...: not an assignment IPython rewrites
            value = len(rest) - len(rest[i + 1 :].lstrip())
            tail = rest[value:]
            return value if tail.startswith("!") or re.match(r"%[A-Za-z_]", tail) else None
        i += 1
    return None


def _neutralise(lines: list[str], start: int) -> None:
    scanner = _Scanner()
    magic_continues = False  # the previous magic line ended in `\\`: IPython joins the next line to it
    logical_start: int | None = None  # first line of the multi-line logical line being read
    for i in range(start, len(lines)):
        line = lines[i]
        if magic_continues:
            lines[i] = _comment(line)
            magic_continues = line.endswith("\\")
            continue
        if not (scanner.at_logical_start and line.strip()):
            code_end = scanner.feed(line)
            if logical_start is not None and scanner.at_logical_start:
                if line[:code_end].rstrip().endswith("?"):
                    # A help query ending a multi-line logical line: IPython drops the whole line.
                    head = lines[logical_start]
                    indent = _INDENT.match(head).group(0)  # type: ignore[union-attr]
                    lines[logical_start] = indent + "pass  # " + _sanitise(head[len(indent) :])
                    for j in range(logical_start + 1, i + 1):
                        lines[j] = _comment(lines[j])
                logical_start = None
            continue
        logical_start = None
        indent = _INDENT.match(line).group(0)  # type: ignore[union-attr]
        rest = line[len(indent) :]
        value = None if rest[0] in _ESCAPES else _assignment_value(rest)
        if rest[0] in _ESCAPES:
            timed = _TIMED.match(rest)
            statement = rest[timed.end() :] if timed else ""
            if timed and _complete(statement) and not _COMPOUND.match(statement):
                # `%time stmt` runs stmt: keep it where it is, behind `pass;` padded to the same width.
                lines[i] = indent + "pass;" + " " * (len(timed.group("prefix")) - len("pass;")) + statement
            else:
                lines[i] = indent + "pass  # " + _sanitise(rest)
                magic_continues = rest.endswith("\\")
        elif value is not None:
            rhs = rest[value:]
            timed = _TIMED.match(rhs)
            statement = rhs[timed.end() :] if timed else ""
            if timed and timed.group("name") == "time" and _complete(statement):
                # `x = %time f()` assigns f()'s value: keep the expression.
                lines[i] = indent + rest[:value] + " " * len(timed.group("prefix")) + statement
            else:
                lines[i] = indent + rest[:value] + "None  # " + _sanitise(rhs)
                magic_continues = rhs.endswith("\\")
        else:
            code_end = scanner.feed(line)
            if not scanner.at_logical_start:
                logical_start = i
            elif line[:code_end].rstrip().endswith("?"):
                lines[i] = indent + "pass  # " + _sanitise(rest)  # `model?`, `a = b?`: help


def _comment(line: str) -> str:
    indent = _INDENT.match(line).group(0)  # type: ignore[union-attr]
    rest = line[len(indent) :]
    return indent + "# " + _sanitise(rest) if rest else line


def _sanitise(text: str) -> str:
    return text.replace("\0", "")


# ---------------------------------------------------------------------------- messages


def _map_message(message: str, path: str, nb: NotebookSource) -> str:
    """`nb.ipynb:75` (how rule messages cite a location, see checks.common.where) -> `nb.ipynb:cell 6:line 4`."""
    spellings = {path, os.path.normpath(path)}
    try:
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            spellings.add(rel)
    except ValueError:
        pass
    alternatives = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w./\\-])(?P<path>{alternatives}):(?P<line>\d+)(?![\d:])")

    def cite(match: re.Match[str]) -> str:
        cell, line = nb.to_cell_position(int(match.group("line")))
        return cell_reference(match.group("path"), cell, line)

    return pattern.sub(cite, message)


__all__ = [
    "PYTHON_BODY_CELL_MAGICS",
    "CellSpan",
    "NotebookError",
    "NotebookSource",
    "cell_reference",
    "convert_cell",
    "map_finding",
    "notebook_source",
]
