"""The static pipeline: discover -> parse -> project index -> mode-flow -> rules -> findings."""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from evalguard.analysis.flow import Context, forget_roots
from evalguard.analysis.incremental import Snapshot, prepare, resume, snapshot
from evalguard.analysis.interprocedural import (
    CallerGraph,
    ProjectAnalysis,
    callees_first,
    needed_functions,
    relevant_functions,
)
from evalguard.analysis.project import ProjectIndex
from evalguard.cache import Cache, content_hash, digest
from evalguard.checks.registry import EVENT_RULES, FORWARD_RULES
from evalguard.discovery.context import MAX_CONTEXT_FILES, imported_files
from evalguard.discovery.files import SourceFile, discover
from evalguard.findings import Finding
from evalguard.parsing.ir import ModuleFacts
from evalguard.parsing.source import facts_from_source

if TYPE_CHECKING:  # the notebook reader is imported when a notebook is read
    from evalguard.parsing.notebook import NotebookSource


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
    # How the result was reached (`check --verbose`): from the cache, or what was analysed.
    analysis: str = ""


def check_paths(paths: list[str], enabled: frozenset[str] | None = None) -> CheckResult:
    return check_files(discover(paths), enabled)


@contextmanager
def _collector_off():
    """A run builds hundreds of thousands of long-lived objects (facts, summaries) and frees
    almost no cycles (measured: about 50 thousand small objects on timm, 5 MB), yet the cycle
    collector re-traverses the live ones again and again: with CPython's default thresholds, 45%
    of parsing and 25% of the analysis; with rare collections still about 5% of a run. So it is
    off for the run, and the facts are frozen once parsed (see `_freeze_parsed`); the caller's
    settings are restored after."""
    was_enabled = gc.isenabled()
    caller_froze = gc.get_freeze_count() > 0
    gc.disable()
    try:
        yield
    finally:
        if not caller_froze:
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _freeze_parsed() -> None:
    """Move everything alive now (the parsed facts) out of the collector's view for the rest of
    the run; undone by `_collector_off` unless the caller had frozen objects of its own."""
    if gc.get_freeze_count() == 0:
        gc.freeze()


# Set by `retain_objects`: what each run built, kept alive rather than freed when it returns.
_retained: list | None = None


def retain_objects() -> None:
    """Keep every run's facts and analysis alive: for a process that exits right after its run
    without freeing them (the console command; see `cli._leave`)."""
    global _retained
    _retained = []


# content_hash per file, computed once per run (the run key, the facts keys, the comparison
# with the last run and the kept analysis all need it): id -> (the bytes, kept alive, their hash).
_hashes: dict[int, tuple[bytes, str]] = {}


def _hash(data: bytes) -> str:
    entry = _hashes.get(id(data))
    if entry is None or entry[0] is not data:
        entry = _hashes[id(data)] = (data, content_hash(data))
    return entry[1]


@contextmanager
def _hashing():
    try:
        yield
    finally:
        _hashes.clear()


@_collector_off()
@_hashing()
def check_files(
    files: Iterable[SourceFile],
    enabled: frozenset[str] | None = None,
    overrides: dict[str, str] | None = None,
    options: AnalysisOptions | None = None,
    on_file: Callable[[], None] | None = None,
    cache: Cache | None = None,
    jobs: int = 1,
    prefilter: bool = True,
) -> CheckResult:
    """Check these files; `overrides` gives in-memory text for some paths (fix verification);
    `on_file` is called after each file is read (progress); `cache` reuses per-file facts and
    whole-run results; `jobs` processes parse uncached files (this one and `jobs - 1` workers);
    `prefilter`: see `check_modules` (results are the same either way, so it is not part of the
    cache key)."""
    files = list(files)
    options = options or AnalysisOptions()
    if overrides:
        cache = None  # in-memory text is never cached
    errors: list[str] = []
    notes: list[str] = []
    contents: dict[str, bytes | ModuleFacts | None] = {}
    for source in files:
        if overrides and source.path in overrides:
            continue
        notes_before = len(notes)
        contents[source.path] = _read_bytes(source, True, notes)
        if len(notes) > notes_before:
            contents[source.path] = None
    run_key = _run_key(files, contents, enabled, options) if cache is not None else None
    if run_key is not None:
        cached = _cached_result(cache, run_key) or _unchanged_facts_result(cache, files, contents, enabled, options)
        if cached is not None:
            if cached.findings is not None:
                cache.put("results", run_key, cached.entry)
                _remember_latest(cache, files, contents, enabled, options, run_key)
            if on_file is not None:
                for _ in files:
                    on_file()
            cached.result.notes = notes
            cached.result.analysis = (
                "result from the cache (nothing changed)"
                if cached.findings is None
                else "result from the cache (the edited files' facts did not change)"
            )
            cache.trim()
            return cached.result
    modules: list[ModuleFacts] = []
    notebooks: dict[str, NotebookSource | None] = {}
    parsed = _parse_all(files, contents, cache, jobs, errors)
    for source in files:
        if on_file is not None:
            on_file()
        if overrides and source.path in overrides:
            modules.append(parse_source(overrides[source.path], source.path, source.module_name, errors))
            continue
        if source.path.endswith(".ipynb"):
            facts = read_notebook(source, errors, notebooks, contents[source.path])
        else:
            facts = parsed.get(source.path)
        if facts is not None:
            modules.append(facts)
    python_files = [f for f in files if not f.path.endswith(".ipynb")]
    context, context_inputs = context_modules(python_files, modules, cache, jobs)
    _freeze_parsed()
    state_key = _targets_key(files, enabled, options) if cache is not None and prefilter else None
    previous = _previous_analysis(cache, state_key, files, contents, modules, context, context_inputs)
    kept: list = []
    result = check_modules(
        modules + context,
        enabled,
        report={m.path for m in modules},
        options=options,
        prefilter=prefilter,
        previous=previous,
        keep=kept,
    )
    if notebooks:
        result.findings = sorted(
            (_to_cells(f, notebooks) for f in result.findings),
            key=lambda f: (f.path, f.cell, f.line, f.column, f.code),
        )
    result.files_checked = len(files)
    result.errors[:0] = errors
    result.notes = notes + result.notes
    result.analysis = _describe(kept[0], previous)
    if run_key is not None and not result.errors:
        cache.put("results", run_key, (context_inputs, result.findings, result.files_checked))
        _remember_latest(cache, files, contents, enabled, options, run_key)
        if state_key is not None:
            _keep_analysis(cache, state_key, files, contents, context_inputs, kept[0])
    if cache is not None:
        cache.trim()
    if _retained is not None:
        _retained.append((contents, parsed, modules, context, kept, previous))
    return result


def _run_key(files, contents, enabled, options) -> str:
    """Everything a whole run's answer depends on, but the context files (checked on load)."""
    inputs = []
    for source in files:
        data = contents.get(source.path)
        state = _hash(data) if isinstance(data, bytes) else ("unreadable" if data is not None else "skipped")
        inputs.append((source.path, source.module_name, state))
    return digest("run", sorted(enabled) if enabled is not None else None, options, tuple(inputs))


@dataclass
class _Reused:
    result: CheckResult
    entry: tuple
    # Set when found through unchanged facts: the entry is stored again under the new run key.
    findings: list | None = None


def _cached_result(cache: Cache, key: str) -> _Reused | None:
    entry = cache.get("results", key)
    if not isinstance(entry, tuple) or len(entry) != 3:
        return None
    context_inputs, findings, files_checked = entry
    for path, _module, expected in context_inputs:
        try:
            with open(path, "rb") as handle:
                if content_hash(handle.read()) != expected:
                    return None
        except OSError:
            return None
    return _Reused(CheckResult(list(findings), files_checked), entry)


# Past this many edited files, comparing their old and new facts costs more than it can save.
MAX_FACTS_COMPARISONS = 32


def _unchanged_facts_result(cache: Cache, files, contents, enabled, options) -> _Reused | None:
    """The last run's result for the same files and settings when every edited file still has the
    same facts (a comment, blank line at the end, formatting inside a line): the analysis reads
    only facts, so its answer cannot differ."""
    latest = cache.get("latest", _targets_key(files, enabled, options))
    if not isinstance(latest, tuple) or len(latest) != 2:
        return None
    previous_key, previous_hashes = latest
    edited = _edited_files(cache, previous_hashes, files, contents, MAX_FACTS_COMPARISONS)
    if not edited:
        return None
    for source, data, before in edited:
        _path, after, errs = _parse_one((source, data, _facts_key(source, data)), cache)
        if errs or after != before:
            return None
    reused = _cached_result(cache, previous_key)
    if reused is not None:
        reused.findings = reused.result.findings
    return reused


def _describe(run: ProjectAnalysis, previous: tuple | None) -> str:
    analysed = len(run.results)
    functions = len(run.index.functions)
    if run.reopen is not None:
        edited = len(previous[2]) if previous else 0
        return (
            f"re-analysed {len(run.analysed):,} of {analysed:,} functions after edits to {edited} "
            f"file{'s' if edited != 1 else ''} (the others' results kept from the last run)"
        )
    note = " (the last run's analysis could not be resumed after these edits)" if previous else ""
    return f"analysed {analysed:,} of {functions:,} functions ({run.analyses:,} analyses){note}"


def _keep_analysis(cache: Cache, key: str, files, contents, context_inputs, run: ProjectAnalysis) -> None:
    """Store a finished analysis, for the next run of the same files after an edit."""
    snap = snapshot(run)
    if snap is None:
        return
    cache.put("state", key, (_file_hashes(files, contents), context_inputs, snap))


def _previous_analysis(cache: Cache | None, key: str | None, files, contents, modules, context, context_inputs):
    """(snapshot, the edited modules' old facts, their new facts, the old index) for
    `check_modules(previous=...)`, when the last run of the same files kept its analysis and only
    Python files changed (with their old facts still cached); else None."""
    if cache is None or key is None:
        return None
    entry = cache.get("state", key)
    if not isinstance(entry, tuple) or len(entry) != 3:
        return None
    hashes, old_context, snap = entry
    if not isinstance(snap, Snapshot) or old_context != context_inputs:
        return None
    edited = _edited_files(cache, hashes, files, contents)
    if edited is None:
        return None
    by_path = {m.path: m for m in modules}
    before = [old for _source, _data, old in edited]
    after = [by_path[source.path] for source, _data, _old in edited]
    paths = {source.path for source, _data, _old in edited}
    old_index = ProjectIndex([m for m in modules + context if m.path not in paths] + before)
    return snap, before, after, old_index


def _edited_files(cache: Cache, old_hashes, files, contents, limit: int | None = None):
    """The files whose bytes changed since a run that saw `old_hashes` (path -> content hash),
    each as (source, bytes, its facts then, from the cache); None when the files are not the same
    ones, one was unreadable then or now, a notebook changed, the old facts are gone, or more than
    `limit` changed."""
    if not isinstance(old_hashes, dict) or set(old_hashes) != {f.path for f in files}:
        return None
    changed = []
    for source in files:
        data = contents.get(source.path)
        now = _hash(data) if isinstance(data, bytes) else None
        old_hash = old_hashes[source.path]
        if now == old_hash:
            continue
        if now is None or old_hash is None or source.path.endswith(".ipynb"):
            return None
        changed.append((source, data, old_hash))
    if limit is not None and len(changed) > limit:
        return None
    edited = []
    for source, data, old_hash in changed:
        old = cache.get("facts", _facts_key_for(source, old_hash))
        if not isinstance(old, ModuleFacts):
            return None
        edited.append((source, data, old))
    return edited


def _targets_key(files, enabled, options) -> str:
    return digest("latest", sorted(enabled) if enabled is not None else None, options, tuple((f.path, f.module_name) for f in files))


def _remember_latest(cache: Cache, files, contents, enabled, options, run_key: str) -> None:
    cache.put("latest", _targets_key(files, enabled, options), (run_key, _file_hashes(files, contents)))


def _file_hashes(files, contents) -> dict[str, str | None]:
    """Each file's content hash (None: unreadable or skipped)."""
    return {f.path: _hash(d) if isinstance(d := contents.get(f.path), bytes) else None for f in files}


def _parse_all(
    files: list[SourceFile], contents: dict, cache: Cache | None, jobs: int, errors: list[str]
) -> dict[str, ModuleFacts]:
    """Facts of every readable Python file: from the cache, else parsed (in workers when many)."""
    out: dict[str, ModuleFacts] = {}
    todo: list[tuple[SourceFile, bytes, str | None]] = []
    for source in files:
        data = contents.get(source.path)
        if source.path.endswith(".ipynb") or source.path not in contents:
            continue
        if not isinstance(data, bytes):
            if data is not None:
                out[source.path] = data  # unreadable: its EG000 facts
            continue
        key, facts = _cached_facts(source, data, cache)
        if facts is not None:
            out[source.path] = facts
        else:
            todo.append((source, data, key))
    for path, facts, errs in _parse_batch(todo, cache, jobs):
        out[path] = facts
        errors.extend(errs)
    if todo and cache is not None:
        cache.facts_written = True  # (workers wrote theirs in their own processes)
    return out


def _facts_key(source: SourceFile, data: bytes) -> str:
    return _facts_key_for(source, _hash(data))


def _facts_key_for(source: SourceFile, data_hash: str) -> str:
    return digest("facts", source.path, source.module_name, data_hash)


# Below this many files per process, starting a worker costs more than it saves.
MIN_FILES_PER_WORKER = 32


def _parse_batch(todo, cache: Cache | None, jobs: int):
    """`jobs` processes in all: this one parses files while `jobs - 1` forked workers parse
    others."""
    workers = min(jobs - 1, len(todo) // MIN_FILES_PER_WORKER - 1)
    if workers >= 1:
        pooled = _parse_with_workers(todo, cache, workers)
        if pooled is not None:
            return pooled
    return [_parse_one(item, cache) for item in todo]


def _cached_facts(source: SourceFile, data: bytes, cache: Cache | None) -> tuple[str | None, ModuleFacts | None]:
    """(cache key, the stored facts or None)."""
    key = _facts_key(source, data) if cache is not None else None
    facts = cache.get("facts", key) if key is not None else None
    return key, facts if isinstance(facts, ModuleFacts) else None


def _parse_one(item, cache: Cache | None):
    source, data, key = item
    errs: list[str] = []
    facts = parse_source(data, source.path, source.module_name, errs)
    if cache is not None and key is not None and not errs:
        cache.put("facts", key, facts)
    return source.path, facts, errs


class _Claims:
    """The files of one parse, largest first, handed out one at a time to whichever process asks
    (this one and the forked workers, which inherit it): a process on a slower or busier core
    simply takes fewer, and all finish within about one file of each other."""

    def __init__(self, todo, context) -> None:
        self.todo = todo
        self.order = sorted(range(len(todo)), key=lambda i: -len(todo[i][1]))
        self.next = context.Value("l", 0)

    def __iter__(self):
        while True:
            with self.next.get_lock():
                n = self.next.value
                self.next.value = n + 1
            if n >= len(self.order):
                return
            yield self.order[n]


_claims: _Claims | None = None  # a worker's inherited share of the parse


def _adopt_claims(claims: _Claims) -> None:
    global _claims
    _claims = claims


def _parse_claimed(cache):
    """A worker's part: the files it claims, each one's facts pickled once, for the cache and for
    the way back (None when too deeply nested to pickle: the parent parses that file itself)."""
    out = []
    for i in _claims or ():
        source, data, key = _claims.todo[i]
        errs: list[str] = []
        facts = parse_source(data, source.path, source.module_name, errs)
        try:
            blob = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, RecursionError):
            blob = None
        if blob is not None and cache is not None and key is not None and not errs:
            cache.put_pickled("facts", key, blob)
        out.append((i, blob, errs))
    return out


def _parse_with_workers(todo, cache: Cache | None, workers: int):
    """Parse in this process and `workers` forked ones; None when no worker can be started here
    (no fork, no semaphores): then everything is parsed in-process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return None  # spawn re-imports everything per worker: slower than parsing here
    context = multiprocessing.get_context("fork")
    try:
        claims = _Claims(todo, context)
        # The files reach the workers by inheritance at fork, not pickled through a queue.
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_adopt_claims, initargs=(claims,))
        futures = [pool.submit(_parse_claimed, cache) for _ in range(workers)]
    except (OSError, RuntimeError, ImportError):
        return None
    with pool:
        results = {i: _parse_one(todo[i], cache) for i in claims}
        for future in futures:
            try:
                parsed = future.result()
            except Exception:  # noqa: BLE001 - a worker died (killed, out of memory...): its files are redone below
                parsed = []
            for i, blob, errs in parsed:
                if blob is not None:
                    results[i] = (todo[i][0].path, pickle.loads(blob), errs)
    for i in range(len(todo)):
        if i not in results:  # claimed by a worker that died, or its facts could not be pickled
            results[i] = _parse_one(todo[i], cache)
    return [results[i] for i in range(len(todo))]


def read_notebook(
    source: SourceFile, errors: list[str], notebooks: dict, data: bytes | ModuleFacts | None
) -> ModuleFacts | None:
    """A notebook's code cells as one module (magics neutralised); a malformed one is EG000.
    `data` is the file's bytes, its EG000 facts when unreadable, or None when skipped."""
    if isinstance(data, ModuleFacts) or data is None:
        return data
    from evalguard.parsing.notebook import NotebookError, notebook_source

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
    from evalguard.parsing.notebook import map_finding

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


def context_modules(
    files: list[SourceFile], modules: list[ModuleFacts], cache: Cache | None = None, jobs: int = 1
) -> tuple[list[ModuleFacts], list[tuple[str, str, str]]]:
    """Modules imported by the checked files (transitively) that were not given: read for their
    summaries, never reported on. Also (path, module, content hash) of each, for the run cache.

    Breadth-first, one import level at a time, so that each level's uncached files are parsed
    together (in `jobs` processes)."""
    seen = {os.path.realpath(f.path) for f in files}
    known = {os.path.abspath(f.path) for f in files}
    memo: dict = {}
    by_path = {m.path: m for m in modules}
    level = [(f, by_path[f.path]) for f in files if f.path in by_path]
    out: list[ModuleFacts] = []
    inputs: list[tuple[str, str, str]] = []
    while level and len(out) < MAX_CONTEXT_FILES:
        found: list[tuple[SourceFile, ModuleFacts | None]] = []
        todo: list[tuple[SourceFile, bytes, str | None]] = []
        reached = 0
        for source, facts in level:
            if len(out) + reached >= MAX_CONTEXT_FILES:
                break
            for dep in imported_files(facts, source, known, memo):
                real = os.path.realpath(dep.path)
                known.add(os.path.abspath(dep.path))
                if real in seen:
                    continue
                seen.add(real)
                data = _read_bytes(dep, False, None)
                if not isinstance(data, bytes):
                    continue
                inputs.append((dep.path, dep.module_name, _hash(data)))
                key, dep_facts = _cached_facts(dep, data, cache)
                if dep_facts is None:
                    todo.append((dep, data, key))
                elif dep_facts.failure is not None:
                    continue
                found.append((dep, dep_facts))
                reached += 1
        parsed = {path: facts for path, facts, _errs in _parse_batch(todo, cache, jobs)}
        level = []
        for dep, dep_facts in found:
            if dep_facts is None:
                dep_facts = parsed[dep.path]
            if dep_facts.failure is None:
                out.append(dep_facts)
                level.append((dep, dep_facts))
    return out, inputs


def parse_source(data: bytes | str, path: str, module_name: str, errors: list[str]) -> ModuleFacts:
    try:
        return facts_from_source(data, path, module_name)
    except RecursionError:
        return facts_from_source_failure(path, module_name, "file is nested too deeply to analyse")
    except Exception as exc:  # noqa: BLE001 - one broken file must not hide the others' results
        errors.append(f"EG000 internal error in {path}: while parsing: {exc!r}, please report")
        return facts_from_source_failure(path, module_name, None)


def facts_from_source_failure(path: str, module_name: str, message: str | None) -> ModuleFacts:
    from evalguard.parsing.ir import ParseFailure

    failure = ParseFailure(message, 1, 1) if message else ParseFailure("", 0, 0)
    return ModuleFacts(path, module_name, (), (), (), frozenset(), failure)


def _needed(
    index: ProjectIndex, report: set[str] | None, prefilter: bool, graph: CallerGraph | None = None
) -> tuple[frozenset[str] | None, CallerGraph | None]:
    """The functions to analyse (None: all): those that may lead to a finding (prefilter), and of
    those, when only some files are reported on, the ones that may lead to a finding there.
    `graph`: the caller graph, when already known."""
    if graph is None and (prefilter or report is not None):
        graph = CallerGraph(index)
    needed = relevant_functions(index, graph) if prefilter else None
    wanted = needed_functions(index, report, graph) if report is not None else None
    if needed is None:
        return wanted, graph
    if wanted is None:
        return needed, graph
    return needed & wanted, graph


def check_modules(
    modules: list[ModuleFacts],
    enabled: frozenset[str] | None = None,
    report: set[str] | None = None,
    options: AnalysisOptions | None = None,
    prefilter: bool = True,
    previous: tuple | None = None,
    keep: list | None = None,
) -> CheckResult:
    """Analyse these modules together; report findings in `report` paths only (default: all).
    `prefilter`: skip the functions that cannot change a finding (see `analysis.relevance`); off
    only to check that it changes nothing. `previous`: (snapshot, edited modules' old facts,
    their new facts, the old index) to re-analyse only what an edit may change (see
    `analysis.incremental`; the whole analysis runs when it cannot). `keep`: receives the
    finished `ProjectAnalysis`."""
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
    run = None
    notes: list[str] = []
    prepared = None
    if previous is not None and prefilter:
        try:
            prepared = prepare(*previous, index)
        except Exception as exc:  # noqa: BLE001 - the whole analysis below still gives the answer
            notes.append(_unresumed(exc))
    needed, graph = _needed(index, report, prefilter, prepared[1] if prepared else None)
    if prepared is not None:
        errors_before = len(errors)
        try:
            run = resume(previous[0], prepared[0], index, _context(index, options), needed, graph, errors)
        except Exception as exc:  # noqa: BLE001 - the whole analysis below still gives the answer
            notes.append(_unresumed(exc))
            run = None
        if run is None:
            del errors[errors_before:]  # (a resume given up after some analyses: they run again)
    if run is None:
        run = ProjectAnalysis(index, _context(index, options), needed, graph, errors)
        run.enqueue(callees_first(index, needed, graph))
        run.run()
    if keep is not None:
        keep.append(run)
    forwards, events = run.outputs()
    result = report_findings(run.ctx, forwards, events, findings, errors, enabled, report)
    result.files_checked = len(modules)
    result.notes = notes
    return result


def _unresumed(exc: Exception) -> str:
    return f"could not resume the last run's analysis ({exc!r}, please report): analysed everything"


def _context(index: ProjectIndex, options: AnalysisOptions) -> Context:
    return Context(index, frozenset(options.model_names), frozenset(options.mode_owning))


def report_findings(
    ctx: Context,
    forwards: list,
    events: list,
    findings: list[Finding],
    errors: list[str],
    enabled: frozenset[str] | None,
    report: set[str] | None,
) -> CheckResult:
    """The rules over what the analysis observed; `findings`: the EG000 ones already made."""
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
                import traceback

                errors.append(
                    f"{rule.CODE} internal error in {fwd.path}: {traceback.format_exc(limit=3).strip()}, please report"
                )
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
    forget_roots()
    return CheckResult(findings, 0, errors)
