"""Walk the given paths for Python files and give each a module name for import resolution."""

from __future__ import annotations

import os
from dataclasses import dataclass

from evalguard.discovery.ignore import PathFilter

# Directory names never worth descending into.
SKIP_DIRS = frozenset(
    {
        "__pycache__",
        "build",
        "dist",
        "node_modules",
        "site-packages",
        "venv",
        "env",
        "__pypackages__",
        "_build",
    }
)


# What discovery picks up in directories.
SOURCE_SUFFIXES: tuple[str, ...] = (".py", ".ipynb")


class DiscoveryError(Exception):
    """A path the user named does not exist (a usage error)."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # as shown to the user
    module_name: str
    # The sys.path entry the module name is relative to (absolute).
    root: str = ""


def discover(paths: list[str], path_filter: PathFilter | None = None) -> list[SourceFile]:
    """Python files and notebooks under `paths`, sorted and unique. Files named explicitly are
    checked unless the configured excludes match them (pre-commit names every file); .gitignore
    applies to what the walk finds."""
    seen: set[str] = set()
    out: list[SourceFile] = []
    for given in paths:
        if not os.path.lexists(given):
            raise DiscoveryError(f"path does not exist: {given}")
        if path_filter is not None and path_filter.excluded(given, os.path.isdir(given)) and given not in (".", "./"):
            continue
        if os.path.isdir(given):
            root = import_root(os.path.abspath(given))
            walk_filter = path_filter.for_walk_under(given) if path_filter is not None else None
            for path in _walk(given, walk_filter):
                real = os.path.realpath(path)
                if real not in seen:
                    seen.add(real)
                    out.append(SourceFile(_display(path), module_name_for(os.path.abspath(path), root), root))
        else:
            real = os.path.realpath(given)
            if real not in seen:
                seen.add(real)
                root = import_root(os.path.dirname(os.path.abspath(given)))
                out.append(SourceFile(_display(given), module_name_for(os.path.abspath(given), root), root))
    out.sort(key=lambda f: f.path)
    return out


def _walk(top: str, path_filter: PathFilter | None = None) -> list[str]:
    found: list[str] = []
    visited: set[str] = set()
    top_real = os.path.realpath(top)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not _skip_dir(dirpath, d, top_real)
            and not (path_filter is not None and path_filter.skipped(os.path.join(dirpath, d), True))
        )
        for name in sorted(filenames):
            if name.endswith(SOURCE_SUFFIXES):
                full = os.path.join(dirpath, name)
                if os.path.isfile(full) and not (path_filter is not None and path_filter.skipped(full, False)):
                    found.append(full)
    return found


def _skip_dir(parent: str, name: str, top_real: str | None = None) -> bool:
    if name.startswith(".") or name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    full = os.path.join(parent, name)
    if top_real is not None and os.path.islink(full):
        # A symlink leading out of the tree being checked is not part of it.
        target = os.path.realpath(full)
        if target != top_real and not target.startswith(top_real + os.sep):
            return True
    # Any virtualenv, whatever its name.
    return os.path.isfile(os.path.join(parent, name, "pyvenv.cfg"))


def import_root(directory: str) -> str:
    """The sys.path entry a file would be imported from: climb out of packages (`__init__.py`)."""
    root = directory
    while os.path.isfile(os.path.join(root, "__init__.py")):
        parent = os.path.dirname(root)
        if parent == root:
            break
        root = parent
    return root


def module_name_for(path: str, root: str) -> str:
    rel = os.path.relpath(path, root)
    if rel.endswith(".ipynb"):
        # Nothing imports a notebook; a name that cannot clash with a real module.
        return ".".join(p for p in rel[: -len(".ipynb")].split(os.sep) if p not in ("", ".")) + "-ipynb"
    parts = rel[: -len(".py")].split(os.sep) if rel.endswith(".py") else rel.split(os.sep)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    parts = [p for p in parts if p not in ("", ".")]
    return ".".join(parts) or "__init__"


def _display(path: str) -> str:
    return os.path.normpath(path)
