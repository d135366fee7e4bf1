"""The `sarif` format: a SARIF 2.1.0 log that GitHub code scanning accepts.

One run; `tool.driver.rules` lists every rule (with its page as help); each result points at its rule
by id and index, at a path relative to `%SRCROOT%` (= `context.root`), and carries a stable
`partialFingerprints` entry so code scanning can track it across commits. Columns count Unicode code
points (`columnKind`), as evalguard's do. A notebook result uses the notebook path with the line and
column inside the cell, and `properties.cell`.

With a runtime trace (`context.runtime`): `properties.runtime` = {"status": "confirmed"|"not_reached",
"count": N} on each result a run can show, and one more result per runtime finding with no static
counterpart: whole-line region, `properties.source` = "runtime", `properties.runtime` =
{"status": "runtime_only", "count": N}, the trace's related locations as `relatedLocations`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from evalguard import __version__
from evalguard.findings import Finding
from evalguard.report.context import ReportContext
from evalguard.report.pages import first_paragraph, rule_page, rule_url
from evalguard.rules_catalog import RULES

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/evalguard/evalguard"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "evalguardFingerprint/v1"
LEVEL = "error"

# Positions inside messages ("(utils.py:75)", "line 12") move with unrelated edits.
_POSITION = re.compile(r"(?<=\S):\d+(?::\d+)?\b|\b(line|col|column|cell)\s+\d+\b")


def format_sarif(findings: Sequence[Finding], context: ReportContext | None = None) -> str:
    return json.dumps(sarif_log(findings, context), indent=2) + "\n"


def sarif_log(findings: Sequence[Finding], context: ReportContext | None = None) -> dict:
    """The SARIF log as a dict (format_sarif dumps it)."""
    context = context if context is not None else ReportContext()
    codes = list(RULES)
    index = {code: i for i, code in enumerate(codes)}
    results = []
    seen: dict[str, int] = {}
    for f in findings:
        digest = fingerprint(f, context)
        seen[digest] = seen.get(digest, 0) + 1
        results.append(_result(f, context, index, f"{digest}:{seen[digest]}"))
    if context.runtime is not None:
        from evalguard.report.confirm import RUNTIME_ONLY, times

        for rf in context.runtime.runtime_only:
            f = rf.as_finding()
            digest = fingerprint(f, context)
            seen[digest] = seen.get(digest, 0) + 1
            result = _result(f, context, index, f"{digest}:{seen[digest]}")
            result["message"] = {"text": f"{rf.message} (found at runtime, {times(rf.count)}; no static finding)"}
            result["locations"][0]["physicalLocation"]["region"] = {"startLine": max(rf.line, 1)}
            if rf.related:
                result["relatedLocations"] = [
                    {
                        "id": i,
                        "physicalLocation": {
                            "artifactLocation": _artifact(r.path, context),
                            "region": {"startLine": max(r.line, 1)},
                        },
                        "message": {"text": r.role.replace("_", " ") or "related"},
                    }
                    for i, r in enumerate(rf.related)
                ]
            result["properties"] = {"source": "runtime", "runtime": {"status": RUNTIME_ONLY, "count": rf.count}}
            results.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "evalguard",
                        "informationUri": INFORMATION_URI,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(code) for code in codes],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": context.root_uri()}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _rule(code: str) -> dict:
    info = RULES[code]
    page = rule_page(code)
    url = rule_url(code)
    full = first_paragraph(code) or info.summary
    help_text = page if page is not None else f"{info.summary}. See {url}"
    return {
        "id": code,
        "name": info.name,
        "shortDescription": {"text": info.summary},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": help_text},
        "helpUri": url,
        "defaultConfiguration": {"level": LEVEL},
        "properties": {"tags": ["correctness", "pytorch"], "precision": "high", "problem.severity": LEVEL},
    }


def _artifact(path: str, context: ReportContext) -> dict:
    uri, under_root = context.artifact_uri(path)
    return {"uri": uri, "uriBaseId": SRCROOT} if under_root else {"uri": uri}


def _result(f: Finding, context: ReportContext, index: dict[str, int], fingerprint_value: str) -> dict:
    artifact = _artifact(f.path, context)
    start_line = max(f.line, 1)
    start_column = max(f.column, 1)
    if f.end_line > start_line:
        end_line, end_column = f.end_line, max(f.end_column, 1)
    else:
        end_line, end_column = start_line, max(f.end_column, start_column)
    result: dict = {"ruleId": f.code}
    if f.code in index:
        result["ruleIndex"] = index[f.code]
    result |= {
        "level": LEVEL,
        "message": {"text": f.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": {
                        "startLine": start_line,
                        "startColumn": start_column,
                        "endLine": end_line,
                        "endColumn": end_column,
                    },
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint_value},
    }
    if f.cell > 0:
        result["properties"] = {"cell": f.cell}
    status = context.runtime.status_of(f) if context.runtime is not None else None
    if status is not None:
        result.setdefault("properties", {})["runtime"] = {"status": status.status, "count": status.count}
    return result


def fingerprint(f: Finding, context: ReportContext) -> str:
    """A hash that survives unrelated edits: rule, path (relative to root), message with positions
    blanked, and the finding's source line without indentation when it can be read. Not the line
    number. format_sarif appends `:N` (N-th result with the same hash) so equal findings differ."""
    path = context.display_path(f.path)
    message = _POSITION.sub(lambda m: f"{m.group(1)} #" if m.group(1) else ":#", f.message)
    text = context.line_text(f)
    source = " ".join(text.split()) if text is not None else ""
    payload = f"{f.code}\x00{path}\x00{message}\x00{source}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
