"""The `text` format: one `path:line:col: CODE message` line per finding.

With a runtime trace (`context.runtime`), each line ends in ` — confirmed at runtime (N times)` or
` — not reached at runtime`, and a last section lists the runtime findings with no static counterpart:

    Runtime findings with no static counterpart:
    src/train.py:72: EG001 optimizer step while `ConvNet` is in eval mode (40 times)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from evalguard.findings import Finding

if TYPE_CHECKING:
    from evalguard.report.context import ReportContext

# Appended to a finding's message when `--fix` can repair it.
FIXABLE_MARK = " [*]"
RUNTIME_ONLY_TITLE = "Runtime findings with no static counterpart:"


def location(f: Finding) -> str:
    """`path:line:col`, or `path:cell N:line M:col K` for a notebook cell."""
    if f.cell > 0:
        return f"{f.path}:cell {f.cell}:line {f.line}:col {f.column}"
    return f"{f.path}:{f.line}:{f.column}"


def headline(f: Finding) -> str:
    return f"{location(f)}: {f.code} {f.message}{FIXABLE_MARK if f.fix is not None else ''}"


def format_text(findings: Sequence[Finding], context: ReportContext | None = None) -> str:
    runtime = context.runtime if context is not None else None
    if runtime is None:
        return "".join(headline(f) + "\n" for f in findings)
    from evalguard.report.confirm import suffix, times

    out = "".join(headline(f) + suffix(runtime, f) + "\n" for f in findings)
    if runtime.runtime_only:
        rows = [
            f"{rf.shown or context.display_path(rf.path)}:{rf.line}: {rf.code} {rf.message} ({times(rf.count)})\n"
            for rf in runtime.runtime_only
        ]
        out += ("\n" if out else "") + RUNTIME_ONLY_TITLE + "\n" + "".join(rows)
    return out
