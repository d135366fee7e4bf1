"""The `text` format: one `path:line:col: CODE message` line per finding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from evalguard.findings import Finding

if TYPE_CHECKING:
    from evalguard.report.context import ReportContext

# Appended to a finding's message when `--fix` can repair it.
FIXABLE_MARK = " [*]"


def location(f: Finding) -> str:
    """`path:line:col`, or `path:cell N:line M:col K` for a notebook cell."""
    if f.cell > 0:
        return f"{f.path}:cell {f.cell}:line {f.line}:col {f.column}"
    return f"{f.path}:{f.line}:{f.column}"


def headline(f: Finding) -> str:
    return f"{location(f)}: {f.code} {f.message}{FIXABLE_MARK if f.fix is not None else ''}"


def format_text(findings: Sequence[Finding], context: ReportContext | None = None) -> str:
    return "".join(headline(f) + "\n" for f in findings)
