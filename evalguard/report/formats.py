"""Formatters: findings -> text for one output format."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from evalguard.findings import Finding


def format_text(findings: Sequence[Finding]) -> str:
    return "".join(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}\n" for f in findings)


def format_json(findings: Sequence[Finding]) -> str:
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
        }
        for f in findings
    ]
    return json.dumps(rows, indent=2) + "\n"


FORMATS: dict[str, Callable[[Sequence[Finding]], str]] = {
    "text": format_text,
    "json": format_json,
}
