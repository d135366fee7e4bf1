"""Context files: modules the checked files import, read for their summaries only.

pre-commit hands evalguard just the changed files; the `evaluate()` that switches the model to
eval usually lives in a file that did not change. Imports of the checked files are looked up on
disk (relative to the file's import root and to its own directory, as scripts run from there)
and those modules join the analysis — their own findings are not reported.
"""

from __future__ import annotations

import os

from evalguard.discovery.files import SourceFile, import_root, module_name_for
from evalguard.parsing.ir import ImportBinding, ModuleFacts

# Bounds: context is a help, never a crawl of a whole monorepo.
MAX_CONTEXT_FILES = 400


def imported_files(
    facts: ModuleFacts, source: SourceFile, known: set[str] | None = None, memo: dict | None = None
) -> list[SourceFile]:
    """Files on disk that this module's imports name (project modules only). `known`: absolute
    paths to leave out (files already in the run); `memo`: shared between calls of one run, so
    that each import is looked up on disk once per root, not once per importing file."""
    abspath = os.path.abspath(source.path)
    here = os.path.dirname(abspath)
    roots = tuple(r for r in dict.fromkeys((source.root or import_root(here), here)) if r)
    bindings: list[ImportBinding] = list(facts.imports)
    for fn in facts.functions:
        bindings.extend(fn.imports)
    memo = {} if memo is None else memo
    out: list[SourceFile] = []
    for binding in bindings:
        # A relative import is looked up from this directory; an absolute one from each root,
        # each root once per run (most files of a package share the import root).
        for where in (here,) if binding.level else roots:
            key = (binding.level, binding.module, binding.name, where)
            found = memo.get(key)
            if found is None:
                found = memo[key] = [
                    (p, r) for p, r in _candidates(binding, abspath, (where,), memo) if _is_file(p, memo)
                ]
            out.extend(_files(found, source, known))
    return out


def _files(found: list[tuple[str, str]], source: SourceFile, known: set[str] | None) -> list[SourceFile]:
    out = []
    for path, root in found:
        if known is not None and path in known:
            continue
        out.append(SourceFile(os.path.relpath(path) if not os.path.isabs(source.path) else path,
                              module_name_for(path, root), root))
    return out


def _is_file(path: str, memo: dict) -> bool:
    hit = memo.get(path)
    if hit is None:
        hit = memo[path] = os.path.isfile(path)
    return hit


def _candidates(binding: ImportBinding, abspath: str, roots: tuple[str, ...], memo: dict):
    if binding.level:
        base = os.path.dirname(abspath)
        for _ in range(binding.level - 1):
            base = os.path.dirname(base)
        parts = binding.module.split(".") if binding.module else []
        root = memo.get(("root", base))
        if root is None:
            root = memo[("root", base)] = import_root(base)  # climbing packages: stat calls
        bases = [(os.path.join(base, *parts), root)]
    else:
        parts = binding.module.split(".")
        bases = [(os.path.join(root, *parts), root) for root in roots]
        # `proj.utils` (or `from proj import utils`) inside a `proj/` without `__init__.py` that is
        # its own import root (run as `python -m proj.train` from the parent): `proj/utils.py`.
        bases += [(os.path.join(root, *parts[1:]), root) for root in roots if parts[0] == os.path.basename(root)]
    for stem, root in bases:
        yield stem + ".py", root
        yield os.path.join(stem, "__init__.py"), root
        if binding.name and binding.name != "*":
            # `from pkg import module`
            yield os.path.join(stem, binding.name + ".py"), root
        if not binding.level:
            # `import a.b` binds `a`: its package file too.
            yield os.path.join(os.path.dirname(stem), "__init__.py") if len(parts) > 1 else stem + ".py", root
