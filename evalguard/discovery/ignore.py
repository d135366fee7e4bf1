"""Which paths discovery skips: `.gitignore` files (via pathspec, git's own matching rules) and the
configured exclude patterns."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec


def _gitignore_spec(lines) -> "pathspec.PathSpec":
    # Imported on first use: most files are checked outside any repository with a .gitignore,
    # and pathspec's import (backends probed) is a tenth of the start-up.
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


class PathFilter:
    def __init__(self, exclude: list[str], root: str, respect_gitignore: bool) -> None:
        self.root = os.path.abspath(root)
        self.exclude = _gitignore_spec(exclude) if exclude else None
        self.respect_gitignore = respect_gitignore

    def skipped(self, path: str, is_dir: bool) -> bool:
        return self.excluded(path, is_dir) or (self.respect_gitignore and _git_ignored(os.path.abspath(path), is_dir))

    def excluded(self, path: str, is_dir: bool) -> bool:
        """Matched by the configured exclude patterns (these apply to files named explicitly too,
        as pre-commit names every file)."""
        if self.exclude is None:
            return False
        rel = os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        return not rel.startswith("../") and self.exclude.match_file(rel + ("/" if is_dir else ""))

    def for_walk_under(self, top: str) -> "PathFilter":
        """Inside a folder the user named although git ignores it, .gitignore rules that ignore the
        folder itself do not apply (the user asked for it)."""
        if self.respect_gitignore and _git_ignored(os.path.abspath(top), True):
            clone = PathFilter.__new__(PathFilter)
            clone.root, clone.exclude, clone.respect_gitignore = self.root, self.exclude, False
            return clone
        return self


def _git_ignored(absolute: str, is_dir: bool) -> bool:
    """Matched by a .gitignore in any folder from the repository root down to the path's folder."""
    top = _git_root(os.path.dirname(absolute))
    if top is None:
        return False
    folder = os.path.dirname(absolute)
    chain = []
    while True:
        chain.append(folder)
        if folder == top or os.path.dirname(folder) == folder:
            break
        folder = os.path.dirname(folder)
    for base in reversed(chain):
        spec = _spec(base)
        if spec is not None:
            rel = os.path.relpath(absolute, base).replace(os.sep, "/")
            if spec.match_file(rel + ("/" if is_dir else "")):
                return True
    return False


@lru_cache(maxsize=4096)
def _git_root(folder: str) -> str | None:
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


@lru_cache(maxsize=4096)
def _spec(folder: str) -> "pathspec.PathSpec | None":
    path = os.path.join(folder, ".gitignore")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return _gitignore_spec(handle)
    except OSError:
        return None
