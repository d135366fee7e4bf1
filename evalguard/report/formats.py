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
    """A list of finding objects. With a runtime trace every row gets `"runtime"`: `{"status":
    "confirmed"|"not_reached", "count": N}` (null where a run cannot show it: EG000, notebook cells),
    and the runtime findings with no static counterpart follow as rows with `"source": "runtime"`,
    `"runtime": {"status": "runtime_only", "count": N, "related": [...]}` and null columns."""
    runtime = context.runtime if context is not None else None
    rows = []
    for f in findings:
        row = {
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
        if runtime is not None:
            status = runtime.status_of(f)
            row["source"] = "static"
            row["runtime"] = {"status": status.status, "count": status.count} if status is not None else None
        rows.append(row)
    if runtime is not None:
        from evalguard.report.confirm import RUNTIME_ONLY
        from evalguard.rules_catalog import RULES

        for rf in runtime.runtime_only:
            related = [{"role": r.role, "path": context.display_path(r.path), "line": r.line} for r in rf.related]
            rows.append(
                {
                    "code": rf.code,
                    "name": RULES[rf.code].name,
                    "message": rf.message,
                    "path": rf.shown or context.display_path(rf.path),
                    "line": rf.line,
                    "column": None,
                    "end_line": None,
                    "end_column": None,
                    "cell": None,
                    "fixable": False,
                    "source": "runtime",
                    "runtime": {"status": RUNTIME_ONLY, "count": rf.count, "related": related},
                }
            )
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
