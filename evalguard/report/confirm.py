"""Runtime confirmation: read the tracer's JSON-lines traces and join them with static findings.

`evalguard check src/ --trace run.jsonl` marks every static finding *confirmed at runtime (N times)*
or *not reached at runtime*, and lists the runtime findings no static finding accounts for (static
false negatives). The formatters read the result from `ReportContext.runtime`.

Trace records (one JSON object a line; unknown record types are ignored):

    {"type": "start", "evalguard": ver, "torch": ver, "pid": int, "rank": int|null, "argv": [...], "time": float}
    {"type": "mode", "path": abs, "line": int, "module": cls, "mode": "train"|"eval", "count": int}
    {"type": "finding", "code": "EG001", "path": abs, "line": int, "message": str, "count": int,
     "related": [{"role": "forward"|"switched_to_eval"|..., "path": str, "line": int}]}
    {"type": "end", "counts": {...}, "steps": n, "forwards": n, "mode_changes": n}

A finding is written at its first occurrence and again at exit with its final count: per run (a
`start` record begins one; a file may hold several) the record with the largest count wins for each
(code, path, line); runs and files (one per DDP rank, several runs) add up.

Matching: a runtime finding matches a static finding of the same code when the static location
(realpath, line) is the runtime location or one of its `related` locations ("strong"). A runtime
finding with no strong match also matches static findings whose message names (`file.py:33`) one of
those locations ("weak": the static finding is reported at the forward, names the `model.eval()` that
caused it; the tracer reports the `optimizer.step()` with the `model.eval()` as related).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from evalguard.findings import Finding
from evalguard.rules_catalog import RULES

CONFIRMED = "confirmed"
NOT_REACHED = "not_reached"
RUNTIME_ONLY = "runtime_only"

# Codes that describe the source, not something a run can show: never marked.
UNOBSERVABLE = frozenset({"EG000"})

_CODE = re.compile(r"EG\d{3}")
# `fixtures/train.py:33`, `/abs/utils.py:75:4` inside static messages.
_MESSAGE_LOCATION = re.compile(r"([^\s()`'\",;]+\.(?:py|pyw|ipynb)):(\d+)\b")


class TraceError(Exception):
    """A trace file that is missing, unreadable or not an evalguard trace (a usage error)."""


@dataclass(frozen=True)
class Related:
    role: str
    path: str  # realpath
    line: int


@dataclass(frozen=True)
class RuntimeFinding:
    """A finding the tracer reported, with its count summed over runs and files."""

    code: str
    path: str  # realpath
    line: int
    message: str
    count: int
    related: tuple[Related, ...] = ()
    # The path as this check shows it (set by filter_runtime_only for files it covered).
    shown: str = field(default="", compare=False)

    def locations(self) -> set[tuple[str, int]]:
        return {(self.path, self.line)} | {(r.path, r.line) for r in self.related}

    def as_finding(self) -> Finding:
        """A `Finding` at this location (column 1: a trace has lines only) for suppression and
        formatters' helpers (source line, SARIF fingerprints)."""
        return Finding(self.shown or self.path, self.line, 1, self.code, self.message)


@dataclass(frozen=True)
class RuntimeStatus:
    status: str  # CONFIRMED or NOT_REACHED
    count: int

    def describe(self) -> str:
        if self.status == CONFIRMED:
            return f"confirmed at runtime ({times(self.count)})"
        return "not reached at runtime"


@dataclass
class Trace:
    """Everything read from one or more trace files."""

    files: tuple[str, ...]
    findings: list[RuntimeFinding]
    runs: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Confirmation:
    """The join: a status per static finding, and the runtime findings with no static counterpart."""

    statuses: dict[Finding, RuntimeStatus]
    runtime_only: list[RuntimeFinding]
    notes: list[str] = field(default_factory=list)

    def status_of(self, finding: Finding) -> RuntimeStatus | None:
        """None for findings a run cannot show (EG000, notebook cells)."""
        return self.statuses.get(finding)

    def summary(self) -> str:
        confirmed = sum(s.status == CONFIRMED for s in self.statuses.values())
        n = len(self.runtime_only)
        return (
            f"Runtime: {confirmed} of {len(self.statuses)} finding{'s' if len(self.statuses) != 1 else ''} "
            f"confirmed, {n} runtime finding{'s' if n != 1 else ''} with no static counterpart"
        )


def suffix(confirmation: Confirmation | None, finding: Finding) -> str:
    """` — confirmed at runtime (3 times)` / ` — not reached at runtime` / "" (no trace, or not marked)."""
    status = confirmation.status_of(finding) if confirmation is not None else None
    return f" \u2014 {status.describe()}" if status is not None else ""


def times(count: int) -> str:
    return f"{count} time{'s' if count != 1 else ''}"


def real(path: str, base: str | None = None) -> str:
    """Canonical form for comparing paths: absolute (against `base` or the cwd), symlinks resolved."""
    if base is not None and not os.path.isabs(path):
        path = os.path.join(base, path)
    return os.path.normcase(os.path.realpath(path))


# ------------------------------------------------------------------------------------ reading


def load_traces(paths: Sequence[str]) -> Trace:
    """Read and merge trace files; TraceError for a missing file or one that is no trace."""
    totals: dict[tuple[str, str, int], RuntimeFinding] = {}
    notes: list[str] = []
    runs = 0
    for path in paths:
        file_runs = _read_file(path, notes)
        runs += len(file_runs)
        for run in file_runs:
            for key, rf in run.items():
                old = totals.get(key)
                if old is None:
                    totals[key] = rf
                else:
                    totals[key] = replace(old, count=old.count + rf.count, related=_union(old.related, rf.related))
    findings = sorted(totals.values(), key=lambda f: (f.path, f.line, f.code))
    return Trace(files=tuple(paths), findings=findings, runs=runs, notes=notes)


def _read_file(path: str, notes: list[str]) -> list[dict[tuple[str, str, int], RuntimeFinding]]:
    """One dict per run in the file: (code, path, line) -> the record with the largest count."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise TraceError(f"cannot read trace file {path}: {exc.strerror or exc}") from None
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    # The last line that has text is where a killed run stopped writing.
    last = max((i for i, line in enumerate(lines, 1) if line.strip()), default=0)
    runs: list[dict[tuple[str, str, int], RuntimeFinding]] = []
    finished: list[bool] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not runs:
            if not (isinstance(record, dict) and record.get("type") == "start" and "evalguard" in record):
                raise TraceError(
                    f"{path} is not an evalguard trace: its first line should be a JSON "
                    '{"type": "start", "evalguard": ...} record (write one with `evalguard run` or evalguard.trace())'
                )
        if not isinstance(record, dict):
            why = "is cut off (the run was killed?)" if number == last else "is not a JSON object"
            notes.append(f"{path}:{number}: trace line {why}; skipped")
            continue
        kind = record.get("type")
        if kind == "start":
            runs.append({})
            finished.append(False)
        elif kind == "end":
            finished[-1] = True
        elif kind == "finding":
            rf = _finding(record)
            if rf is None:
                notes.append(f"{path}:{number}: malformed finding record; skipped")
                continue
            if rf.code not in RULES:
                notes.append(f"{path}:{number}: unknown rule code {rf.code} (a newer tracer?); skipped")
                continue
            key = (rf.code, rf.path, rf.line)
            old = runs[-1].get(key)
            if old is not None:  # the record with the largest count is the latest; keep every related location
                rf = replace(max(old, rf, key=lambda r: r.count), related=_union(old.related, rf.related))
            runs[-1][key] = rf
    if not runs:
        raise TraceError(f"{path} is empty: not an evalguard trace")
    unfinished = finished.count(False)
    if unfinished:
        what = "the run" if len(runs) == 1 else f"{unfinished} of its {len(runs)} runs"
        notes.append(f"{path}: {what} did not finish (no end record); counts are those written so far")
    return runs


def _union(a: tuple[Related, ...], b: tuple[Related, ...]) -> tuple[Related, ...]:
    return a + tuple(r for r in b if r not in a)


def _finding(record: dict) -> RuntimeFinding | None:
    code, path, line = record.get("code"), record.get("path"), record.get("line")
    count = record.get("count", 1)
    if not (isinstance(code, str) and _CODE.fullmatch(code) and isinstance(path, str) and path):
        return None
    if not (_is_int(line) and line >= 1 and _is_int(count) and count >= 1):
        return None
    message = record.get("message")
    related = []
    for item in record.get("related") or ():
        if isinstance(item, dict) and isinstance(item.get("path"), str) and _is_int(item.get("line")):
            related.append(Related(str(item.get("role", "")), real(item["path"]), item["line"]))
    return RuntimeFinding(code, real(path), line, message if isinstance(message, str) else "", count, tuple(related))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------------------------ the join


def message_locations(message: str, base: str | None = None) -> set[tuple[str, int]]:
    """(realpath, line) for every `file.py:LINE` a static message names (relative to `base`/cwd)."""
    return {(real(m.group(1), base), int(m.group(2))) for m in _MESSAGE_LOCATION.finditer(message)}


def confirm(
    findings: Sequence[Finding],
    trace: Trace,
    *,
    suppressed: Iterable[Finding] = (),
    base: str | None = None,
) -> Confirmation:
    """Mark each of `findings` and collect the runtime findings nothing static accounts for.

    `suppressed`: static findings hidden by noqa/config; a runtime finding that matches one of them
    is accounted for (not reported as runtime-only). Static paths are resolved against `base` (cwd).
    """
    shown = [f for f in findings if f.code not in UNOBSERVABLE and f.cell == 0]
    candidates = shown + [f for f in suppressed if f.code not in UNOBSERVABLE and f.cell == 0]
    primary = {id(f): (real(f.path, base), f.line) for f in candidates}
    named = {id(f): message_locations(f.message, base) for f in candidates}
    counts: dict[int, int] = {}
    unmatched: list[RuntimeFinding] = []
    for rf in trace.findings:
        same_code = [f for f in candidates if f.code == rf.code]
        where = rf.locations()
        matches = [f for f in same_code if primary[id(f)] in where]
        if not matches:
            matches = [f for f in same_code if named[id(f)] & where]
        for f in matches:
            counts[id(f)] = counts.get(id(f), 0) + rf.count
        if not matches:
            unmatched.append(rf)
    statuses: dict[Finding, RuntimeStatus] = {}
    for f in shown:
        n = counts.get(id(f), 0)
        new = RuntimeStatus(CONFIRMED, n) if n else RuntimeStatus(NOT_REACHED, 0)
        old = statuses.get(f)  # equal findings share a key: keep the larger count
        if old is None or new.count > old.count:
            statuses[f] = new
    return Confirmation(statuses, unmatched, list(trace.notes))


def filter_runtime_only(
    confirmation: Confirmation,
    checked_paths: Iterable[str],
    enabled: Iterable[str],
    suppress: Callable[[list[Finding]], list[Finding]] | None = None,
    base: str | None = None,
) -> Confirmation:
    """Keep the runtime-only findings a user of this check wants to see: enabled codes, in files this
    check covered (a note counts the others), and not suppressed (`suppress` returns what it keeps of
    findings at the runtime locations, paths as the user sees them)."""
    wanted = set(enabled)
    checked = {real(p, base): p for p in checked_paths}
    kept: list[RuntimeFinding] = []
    outside: list[RuntimeFinding] = []
    for rf in confirmation.runtime_only:
        if rf.code not in wanted:
            continue
        if rf.path in checked:
            kept.append(replace(rf, shown=checked[rf.path]))
        else:
            outside.append(rf)
    if suppress is not None and kept:
        as_findings = [rf.as_finding() for rf in kept]
        keep = set(suppress(as_findings))
        kept = [rf for rf, f in zip(kept, as_findings) if f in keep]
    notes = list(confirmation.notes)
    if outside:
        files = sorted({rf.path for rf in outside})
        shown = ", ".join(_display(p, base) for p in files[:3])
        if len(files) > 3:
            shown += f" and {len(files) - 3} more"
        n = len(outside)
        where = "a file" if len(files) == 1 else f"{len(files)} files"
        findings = f"{n} runtime finding{'s' if n != 1 else ''}"
        notes.append(f"{findings} in {where} this check did not cover, not listed: {shown}")
    return Confirmation(confirmation.statuses, kept, notes)


def _display(path: str, base: str | None = None) -> str:
    start = base or os.getcwd()
    try:
        rel = os.path.relpath(path, start)
    except ValueError:
        return path
    return path if rel.startswith(os.pardir) else rel
