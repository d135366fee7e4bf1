"""Suppressions: `# noqa`, `# noqa: EG001, EG003`, `# evalguard: ignore[EG001]` on the reported
line, `# evalguard: skip-file` anywhere in a file, and per-file ignores from the config."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pathspec

from evalguard.findings import Finding

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+\d+(?:\s*,\s*[A-Za-z]+\d+)*))?", re.I)
_IGNORE = re.compile(r"#\s*evalguard:\s*ignore\[(?P<codes>[^\]]*)\]")
_SKIP_FILE = re.compile(r"#\s*evalguard:\s*skip-file\b")


@dataclass
class Suppressed:
    kept: list[Finding]
    suppressed: list[Finding] = field(default_factory=list)
    # (path, line, code) of suppression comments for our codes that matched no finding.
    unused: list[tuple[str, int, str]] = field(default_factory=list)


def line_codes(line: str) -> tuple[bool, set[str]] | None:
    """(bare, codes) for a suppression comment on this line; None when there is none."""
    found = False
    bare = False
    codes: set[str] = set()
    for match in _NOQA.finditer(line):
        found = True
        if match.group("codes"):
            codes.update(c.strip().upper() for c in match.group("codes").split(","))
        else:
            bare = True
    for match in _IGNORE.finditer(line):
        found = True
        codes.update(c.strip().upper() for c in match.group("codes").split(",") if c.strip())
    return (bare, codes) if found else None


def skips_file(lines: list[str]) -> bool:
    return any(_SKIP_FILE.search(line) for line in lines)


def apply_suppressions(
    findings: Iterable[Finding],
    read_lines: Callable[[str], list[str]],
    per_file_ignores: dict[str, list[str]] | None = None,
    root: str = ".",
    checked_paths: Iterable[str] = (),
) -> Suppressed:
    per_file = [
        (pathspec.GitIgnoreSpec.from_lines([pattern]), [c.upper() for c in codes])
        for pattern, codes in (per_file_ignores or {}).items()
    ]
    out = Suppressed(kept=[])
    used: set[tuple[str, int, str]] = set()
    for finding in findings:
        lines = read_lines(finding.path)
        if skips_file(lines):
            out.suppressed.append(finding)
            continue
        rel = os.path.relpath(os.path.abspath(finding.path), os.path.abspath(root)).replace(os.sep, "/")
        if any(spec.match_file(rel) and any(finding.code.startswith(c) for c in codes) for spec, codes in per_file):
            out.suppressed.append(finding)
            continue
        # Notebook findings carry in-cell lines; comments are matched on .py files only.
        text = lines[finding.line - 1] if not finding.cell and 0 < finding.line <= len(lines) else ""
        parsed = line_codes(text)
        if parsed is not None and (parsed[0] or finding.code in parsed[1]):
            out.suppressed.append(finding)
            used.add((finding.path, finding.line, finding.code))
            continue
        out.kept.append(finding)
    for path in sorted(set(checked_paths)):
        if path.endswith(".ipynb"):
            continue  # its lines are JSON; comments inside cells are not scanned
        lines = read_lines(path)
        if not lines or skips_file(lines):
            continue
        for number, text in enumerate(lines, 1):
            if "noqa" not in text and "evalguard:" not in text:
                continue
            parsed = line_codes(text)
            if parsed is None:
                continue
            for code in sorted(parsed[1]):
                if code.startswith("EG") and (path, number, code) not in used:
                    out.unused.append((path, number, code))
    return out
