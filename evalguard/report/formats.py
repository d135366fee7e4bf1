"""Formatters: findings -> text for one output format, and the registry the CLI picks from.

Every formatter is `(findings, context) -> str`; findings arrive sorted. `context` may be omitted
(a default ReportContext: paths relative to the current directory, no colour, source read from disk).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from evalguard.findings import Finding
from evalguard.report.context import ReportContext
from evalguard.report.full import format_full
from evalguard.report.github import format_github
from evalguard.report.sarif import format_sarif
from evalguard.report.text import FIXABLE_MARK, format_text, location

__all__ = [
    "FIXABLE_MARK",
    "FORMATS",
    "ReportContext",
    "format_full",
    "format_github",
    "format_json",
    "format_sarif",
    "format_text",
    "location",
    "render",
]


def format_json(findings: Sequence[Finding], context: ReportContext | None = None) -> str:
    rows = [
        {
            "code": f.code,
            "name": f.name,
            "message": f.message,
            "path": f.path,
            "line": f.line,
            "column": f.column,
            "end_line": f.end_line,
            "end_column": f.end_column,
            "cell": f.cell if f.cell > 0 else None,
            "fixable": f.fix is not None,
        }
        for f in findings
    ]
    return json.dumps(rows, indent=2) + "\n"


Formatter = Callable[[Sequence[Finding], ReportContext], str]

FORMATS: dict[str, Formatter] = {
    "text": format_text,
    "json": format_json,
    "full": format_full,
    "github": format_github,
    "sarif": format_sarif,
}


def render(name: str, findings: Sequence[Finding], context: ReportContext | None = None) -> str:
    """Render `findings` in format `name` (a key of FORMATS); ValueError for an unknown name."""
    try:
        formatter = FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r}; choose from {', '.join(FORMATS)}") from None
    return formatter(findings, context if context is not None else ReportContext())
