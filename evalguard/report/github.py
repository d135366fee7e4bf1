"""The `github` format: one GitHub Actions workflow command per finding, shown as an annotation.

    ::error file=train.py,line=69,col=18,endLine=69,endColumn=29,title=EG001 train-step-in-eval-mode::message

Paths are relative to `context.root` (the checkout, where Actions resolves them). A notebook finding
is annotated on the file only (its line is inside a cell, not a line of the .ipynb JSON); the cell
and position lead the message. With a runtime trace the message ends in the runtime status, and each
runtime finding with no static counterpart is one more annotation (title `... (runtime)`).
"""

from __future__ import annotations

from collections.abc import Sequence

from evalguard.findings import Finding
from evalguard.report.context import ReportContext


def escape_data(value: str) -> str:
    """Escape a command's message (GitHub's `escapeData`)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a property value (GitHub's `escapeProperty`): data escapes plus `:` and `,`."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Sequence[Finding], context: ReportContext | None = None) -> str:
    context = context if context is not None else ReportContext()
    out = "".join(command(f, context) + "\n" for f in findings)
    if context.runtime is not None:
        from evalguard.report.confirm import times

        for rf in context.runtime.runtime_only:
            message = f"{rf.message} (found at runtime, {times(rf.count)}; no static finding)"
            out += command(rf.as_finding(), context, message=message, title_suffix=" (runtime)", whole_line=True) + "\n"
    return out


def command(
    f: Finding, context: ReportContext, message: str | None = None, title_suffix: str = "", whole_line: bool = False
) -> str:
    props = [("file", context.display_path(f.path))]
    if message is None:
        message = f.message
        if context.runtime is not None:
            from evalguard.report.confirm import suffix

            message += suffix(context.runtime, f)
    if f.cell > 0:
        message = f"cell {f.cell}, line {f.line}, col {f.column}: {message}"
    elif whole_line:  # a runtime location: a line, no column
        props.append(("line", f.line))
    else:
        end_line, end_column = end_position(f)
        props += [("line", f.line), ("col", f.column), ("endLine", end_line), ("endColumn", end_column)]
    props.append(("title", f"{f.code} {f.name}{title_suffix}"))
    joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in props)
    return f"::error {joined}::{escape_data(message)}"


def end_position(f: Finding) -> tuple[int, int]:
    """(end_line, end_column), never before the start."""
    if f.end_line > f.line:
        return f.end_line, max(f.end_column, 1)
    return f.line, max(f.end_column, f.column)
