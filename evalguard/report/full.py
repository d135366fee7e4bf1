"""The `full` format: the text line, the source line with a caret under the finding, and a fix hint.

    train.py:69:18: EG001 training step may run in eval mode: ... [*]
      69 |         output = model(data)
         |                  ^^^^^^^^^^^
      help: Put `model.train()` inside the loop, after anything that may switch the model to eval mode ...

ANSI colour only when `context.color` is true. With a runtime trace the headline ends in
` — confirmed at runtime (N times)` / ` — not reached at runtime`, and the runtime findings with no
static counterpart follow under a title, each with its source line, related locations and help.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from evalguard.findings import Finding
from evalguard.report.context import ReportContext
from evalguard.report.pages import fix_hint
from evalguard.report.text import FIXABLE_MARK, RUNTIME_ONLY_TITLE, location

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
RED = "\x1b[1;31m"
BLUE = "\x1b[1;34m"
CYAN = "\x1b[1;36m"


def format_full(findings: Sequence[Finding], context: ReportContext | None = None) -> str:
    context = context if context is not None else ReportContext()
    paint = _painter(context.color)
    runtime = context.runtime
    blocks = []
    for f in findings:
        mark = paint(CYAN, FIXABLE_MARK) if f.fix is not None else ""
        status = ""
        if runtime is not None:
            from evalguard.report.confirm import suffix

            status = suffix(runtime, f)
        out = [f"{paint(BOLD, location(f))}: {paint(RED, f.code)} {f.message}{mark}{status}"]
        text = context.line_text(f)
        if text is not None:
            number = str(f.line)
            pad = " " * len(number)
            out.append(f"  {paint(BLUE, number + ' |')} {text}")
            out.append(f"  {paint(BLUE, pad + ' |')} {paint(RED, caret_line(text, f))}")
        hint = fix_hint(f.code)
        if hint:
            out.append(f"  {paint(CYAN, 'help:')} {hint}")
        blocks.append("\n".join(out) + "\n")
    if runtime is not None and runtime.runtime_only:
        first, *rest = [_runtime_block(rf, context, paint) for rf in runtime.runtime_only]
        blocks += [paint(BOLD, RUNTIME_ONLY_TITLE) + "\n" + first, *rest]
    return "\n".join(blocks)


def _runtime_block(rf, context: ReportContext, paint) -> str:
    from evalguard.report.confirm import times

    f = rf.as_finding()
    out = [f"{paint(BOLD, f'{f.path}:{f.line}')}: {paint(RED, f.code)} {f.message} ({times(rf.count)})"]
    text = context.line_text(f)
    if text is not None:
        out.append(f"  {paint(BLUE, str(f.line) + ' |')} {text}")
    for r in rf.related:
        role = r.role.replace("_", " ") or "related"
        out.append(f"  {paint(CYAN, role + ':')} {context.display_path(r.path)}:{r.line}")
    hint = fix_hint(f.code)
    if hint:
        out.append(f"  {paint(CYAN, 'help:')} {hint}")
    return "\n".join(out) + "\n"


def caret_line(text: str, f: Finding) -> str:
    """Whitespace up to the finding's column (tabs kept, wide characters doubled) and `^` under its
    range: to `end_column` on the same line, to the end of the line for a multi-line range, and at
    least one caret (placed after the last character when the column lies past the end)."""
    start = min(max(f.column, 1), len(text) + 1) - 1
    if f.end_line == f.line and f.end_column > f.column:
        end = min(f.end_column - 1, len(text))
    elif f.end_line > f.line:
        end = len(text)
    else:
        end = start + 1
    end = max(end, start + 1)
    prefix = "".join("\t" if ch == "\t" else " " * _width(ch) for ch in text[:start])
    width = sum(_width(ch) for ch in text[start:end]) if end <= len(text) else 1
    return prefix + "^" * max(width, 1)


def _width(ch: str) -> int:
    if ch == "\t":
        return 1
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _painter(color: bool):
    if not color:
        return lambda _style, text: text
    return lambda style, text: f"{style}{text}{RESET}"
