"""Apply fixes to files, verified: a file's fixes are kept only if the fixed text parses and a
fresh check of the whole run finds none of the fixed findings again and nothing new in that file.
"""

from __future__ import annotations

import ast
import difflib
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from evalguard.findings import Finding
from evalguard.fix.edits import SourceText, apply_edits, to_edit


@dataclass
class FixOutcome:
    # path -> (old text, new text) for files whose fixes passed verification
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    fixed: list[Finding] = field(default_factory=list)
    # path -> why that file's fixes were dropped
    rejected: dict[str, str] = field(default_factory=dict)


def plan_fixes(findings: list[Finding], read: Callable[[str], str]) -> FixOutcome:
    """New text per file from the fixable findings (not yet verified)."""
    outcome = FixOutcome()
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.fix is not None:
            by_path.setdefault(finding.path, []).append(finding)
    for path, items in sorted(by_path.items()):
        old = read(path)
        src = SourceText(old)
        edits, applied = [], []
        for finding in items:
            edit = to_edit(finding.fix, src)  # type: ignore[arg-type]
            if edit is not None:
                edits.append(edit)
                applied.append(finding)
        new = apply_edits(old, edits)
        if new is None or new == old:
            continue
        if not _parses(new):
            outcome.rejected[path] = "the fixed file would not parse"
            continue
        outcome.changed[path] = (old, new)
        outcome.fixed.extend(applied)
    return outcome


def verify(outcome: FixOutcome, before: list[Finding], after: list[Finding]) -> None:
    """Drop a file's fixes when re-checking shows a fixed finding still there or a new one."""
    count_before = Counter((f.path, f.code) for f in before)
    count_after = Counter((f.path, f.code) for f in after)
    count_fixed = Counter((f.path, f.code) for f in outcome.fixed)
    for path in list(outcome.changed):
        for (p, code), n in count_after.items():
            if p == path and n > count_before[(p, code)] - count_fixed[(p, code)]:
                outcome.rejected[path] = f"re-checking the fixed file still reports {code}"
                del outcome.changed[path]
                break
    outcome.fixed = [f for f in outcome.fixed if f.path in outcome.changed]


def unified_diff(outcome: FixOutcome) -> str:
    chunks = []
    for path, (old, new) in sorted(outcome.changed.items()):
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path.lstrip('/')}", f"b/{path.lstrip('/')}"
            )
        )
    return "".join(chunks)


def write_changes(outcome: FixOutcome) -> None:
    """Replace each file atomically (a temporary file in the same folder, then rename), keeping
    its permissions, so an interrupted run never leaves a half-written file."""
    for path, (_old, new) in sorted(outcome.changed.items()):
        folder = os.path.dirname(os.path.abspath(path))
        mode = os.stat(path).st_mode
        fd, tmp = tempfile.mkstemp(prefix=".evalguard-", suffix=".py", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(new)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError):
        pass
    try:
        import libcst

        libcst.parse_module(text)
        return True
    except Exception:  # noqa: BLE001
        return False
