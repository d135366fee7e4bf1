"""The static pipeline: discover -> parse -> project index -> mode-flow -> rules -> findings."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from evalguard.analysis.flow import Context
from evalguard.analysis.interprocedural import analyze_project
from evalguard.analysis.project import ProjectIndex
from evalguard.checks.registry import EVENT_RULES, FORWARD_RULES
from evalguard.discovery.context import MAX_CONTEXT_FILES, imported_files
from evalguard.discovery.files import SourceFile, discover
from evalguard.findings import Finding
from evalguard.parsing.ir import ModuleFacts
from evalguard.parsing.notebook import NotebookError, NotebookSource, map_finding, notebook_source
from evalguard.parsing.source import facts_from_source


@dataclass(frozen=True)
class AnalysisOptions:
    """Settings that change the analysis itself (from `[tool.evalguard]`)."""

    model_names: tuple[str, ...] = ()
    mode_owning: tuple[str, ...] = ()


# Larger files are generated code (weights dumped as literals, vendored bundles): skipped with a note
# so one of them cannot make a run slow or memory-hungry.
MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass
class CheckResult:
    findings: list[Finding]
    files_checked: int
    # Internal errors ("file or function: what went wrong"): the run is unreliable, exit 2.
    errors: list[str] = field(default_factory=list)
    # Files skipped on purpose (too large), said on stderr; not an error.
    notes: list[str] = field(default_factory=list)


def check_paths(paths: list[str], enabled: frozenset[str] | None = None) -> CheckResult:
    return check_files(discover(paths), enabled)


def check_files(
    files: Iterable[SourceFile],
    enabled: frozenset[str] | None = None,
    overrides: dict[str, str] | None = None,
    options: AnalysisOptions | None = None,
    on_file: Callable[[], None] | None = None,
) -> CheckResult:
    """Check these files; `overrides` gives in-memory text for some paths (fix verification);
    `on_file` is called after each file is read (progress)."""
    files = list(files)
    errors: list[str] = []
    notes: list[str] = []
    modules: list[ModuleFacts] = []
    notebooks: dict[str, NotebookSource | None] = {}
    for source in files:
        if on_file is not None:
            on_file()
        if overrides and source.path in overrides:
            modules.append(parse_source(overrides[source.path], source.path, source.module_name, errors))
            continue
        if source.path.endswith(".ipynb"):
            facts = read_notebook(source, errors, notebooks, notes)
        else:
            facts = read_and_parse(source, errors, notes)
        if facts is not None:
            modules.append(facts)
    context = context_modules([f for f in files if not f.path.endswith(".ipynb")], modules)
    result = check_modules(modules + context, enabled, report={m.path for m in modules}, options=options)
    if notebooks:
        result.findings = sorted(
            (_to_cells(f, notebooks) for f in result.findings),
            key=lambda f: (f.path, f.cell, f.line, f.column, f.code),
        )
    result.files_checked = len(files)
    result.errors[:0] = errors
    result.notes = notes
    return result


def read_notebook(source: SourceFile, errors: list[str], notebooks: dict, notes: list[str]) -> ModuleFacts | None:
    """A notebook's code cells as one module (magics neutralised); a malformed one is EG000."""
    data = _read_bytes(source, True, notes)
    if isinstance(data, ModuleFacts) or data is None:
        return data
    try:
        nb = notebook_source(data)
    except NotebookError as exc:
        notebooks[source.path] = None
        from evalguard.parsing.ir import ParseFailure

        return ModuleFacts(source.path, source.module_name, (), (), (), frozenset(), ParseFailure(str(exc), 1, 1))
    notebooks[source.path] = nb
    return parse_source(nb.text, source.path, source.module_name, errors)


def _to_cells(finding: Finding, notebooks: dict) -> Finding:
    if finding.path not in notebooks:
        return finding
    nb = notebooks[finding.path]
    if nb is None:  # malformed notebook: EG000 at the first cell
        return replace(finding, cell=1, fix=None)
    return map_finding(finding, nb)


def read_and_parse(
    source: SourceFile, errors: list[str] | None, notes: list[str] | None = None
) -> ModuleFacts | None:
    """Facts of one file; an unreadable file is an EG000 failure (None for context files)."""
    data = _read_bytes(source, errors is not None, notes)
    if isinstance(data, ModuleFacts) or data is None:
        return data
    return parse_source(data, source.path, source.module_name, errors if errors is not None else [])


def _read_bytes(source: SourceFile, report: bool, notes: list[str] | None) -> bytes | ModuleFacts | None:
    try:
        size = os.path.getsize(source.path)
        if size > MAX_FILE_BYTES:
            if notes is not None:
                notes.append(f"{source.path}: skipped, {size / 2**20:.0f} MB is larger than the {MAX_FILE_BYTES >> 20} MB limit")
            return None
        with open(source.path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        if not report:
            return None
        return facts_from_source_failure(source.path, source.module_name, f"cannot read file: {exc.strerror or exc}")


def context_modules(files: list[SourceFile], modules: list[ModuleFacts]) -> list[ModuleFacts]:
    """Modules imported by the checked files (transitively) that were not given: read for their
    summaries, never reported on."""
    seen = {os.path.realpath(f.path) for f in files}
    queue = [(f, m) for f, m in zip(files, modules)]
    out: list[ModuleFacts] = []
    while queue and len(out) < MAX_CONTEXT_FILES:
        source, facts = queue.pop(0)
        for dep in imported_files(facts, source):
            real = os.path.realpath(dep.path)
            if real in seen:
                continue
            seen.add(real)
            dep_facts = read_and_parse(dep, None)
            if dep_facts is not None and dep_facts.failure is None:
                out.append(dep_facts)
                queue.append((dep, dep_facts))
    return out


def parse_source(data: bytes | str, path: str, module_name: str, errors: list[str]) -> ModuleFacts:
    try:
        return facts_from_source(data, path, module_name)
    except RecursionError:
        return facts_from_source_failure(path, module_name, "file is nested too deeply to analyse")
    except Exception as exc:  # noqa: BLE001 - one broken file must not hide the others' results
        errors.append(f"{path}: internal error while parsing: {exc!r}, please report")
        return facts_from_source_failure(path, module_name, None)


def facts_from_source_failure(path: str, module_name: str, message: str | None) -> ModuleFacts:
    from evalguard.parsing.ir import ParseFailure

    failure = ParseFailure(message, 1, 1) if message else ParseFailure("", 0, 0)
    return ModuleFacts(path, module_name, (), (), (), frozenset(), failure)


def check_modules(
    modules: list[ModuleFacts],
    enabled: frozenset[str] | None = None,
    report: set[str] | None = None,
    options: AnalysisOptions | None = None,
) -> CheckResult:
    """Analyse these modules together; report findings in `report` paths only (default: all)."""
    findings: list[Finding] = []
    errors: list[str] = []
    for facts in modules:
        if facts.failure is not None and facts.failure.line > 0:
            failure = facts.failure
            findings.append(
                Finding(facts.path, failure.line, failure.col, "EG000", failure.message, failure.line, failure.col)
            )
    index = ProjectIndex(modules)
    options = options or AnalysisOptions()
    ctx, forwards, events = analyze_project(
        index, errors, Context(index, frozenset(options.model_names), frozenset(options.mode_owning))
    )
    seen: set[tuple[str, int, int, str]] = set()
    for event in sorted(events, key=lambda e: (e.path, e.loc.line, e.loc.col, e.kind)):
        for rule in EVENT_RULES:
            if enabled is not None and rule.CODE not in enabled:
                continue
            message = rule.check(event, ctx)
            key = (event.path, event.loc.line, event.loc.col, rule.CODE)
            if message is not None and key not in seen:
                seen.add(key)
                loc = event.loc
                fix = rule.fix(event) if hasattr(rule, "fix") else None
                findings.append(
                    Finding(event.path, loc.line, loc.col, rule.CODE, message, loc.end_line, loc.end_col, fix)
                )
    for fwd in sorted(forwards, key=lambda f: (f.path, f.loc.line, f.loc.col, f.fid)):
        for rule in FORWARD_RULES:
            if enabled is not None and rule.CODE not in enabled:
                continue
            try:
                message = rule.check(fwd, ctx)
            except Exception:  # noqa: BLE001
                errors.append(f"{fwd.path}: internal error in {rule.CODE}: {traceback.format_exc(limit=3)}")
                continue
            if message is None:
                continue
            key = (fwd.path, fwd.loc.line, fwd.loc.col, rule.CODE)
            if key in seen:
                continue
            seen.add(key)
            fix = rule.fix(fwd) if hasattr(rule, "fix") else None
            findings.append(
                Finding(fwd.path, fwd.loc.line, fwd.loc.col, rule.CODE, message, fwd.loc.end_line, fwd.loc.end_col, fix)
            )
    # Under no_grad it is EG003: a helper reached both with and without no_grad gets one finding.
    no_grad_sites = {(f.path, f.line, f.column) for f in findings if f.code == "EG003"}
    findings = [f for f in findings if not (f.code == "EG002" and (f.path, f.line, f.column) in no_grad_sites)]
    if enabled is not None:
        findings = [f for f in findings if f.code in enabled]
    if report is not None:
        findings = [f for f in findings if f.path in report]
    findings.sort()
    return CheckResult(findings, len(modules), errors)
