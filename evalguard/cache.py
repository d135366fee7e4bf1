"""Persistent cache: per-file facts and whole-run results, in `.evalguard_cache/`.

Entries are keyed by content hashes plus everything else that changes the answer (evalguard
version, analysis settings, enabled rules), so a stale entry can never be found, only missed.
Writes go to a temporary file renamed into place, so concurrent runs (pre-commit starts several)
see either a whole entry or none; an entry that fails to load is deleted and recomputed, never
trusted. The cache only ever writes below its own directory.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import tempfile
from typing import Any

from evalguard import __version__

CACHE_DIR_NAME = ".evalguard_cache"
# Whole-run results kept per cache (oldest dropped): one per recent set of inputs and settings.
MAX_RESULTS = 64
# Whole-run analyses kept (see `analysis.incremental`; 1.8 MB for ultralytics, 46 MB for
# transformers): one per recent set of files checked, the oldest dropped.
MAX_STATES = 4
# Per-file facts kept (oldest dropped, after a run that parsed files): every edit of a file leaves
# its earlier entry behind, so without a bound the cache would only grow.
MAX_FACTS = 50_000
# Bump when the IR, the stored result shapes or what the analysis finds change without a version
# bump (development): 5 = allocation knowledge reaches earlier readers (results may differ);
# 6 = an assert's test is lowered as a value read, not a bare statement; 7 = `.training` read in
# a class's own train()/eval() does not make it mode-dependent; 8 = literal parameter defaults;
# 9 = assigning `x.training` is not a read of the flag; 10 = `yield` marked in the IR; 11 = this
# stop's analysis changes (callbacks stored by constructors, dict-held models, containers of
# models, DeepSpeed engines, deterministic deep copies: results differ); 12 = objects passed for a
# parameter are each caller's latest, and whole runs keep their analysis ("state"); 13 = analysis
# values pickled as (class, fields); 14 = `AveragedModel(m)` is a copy of `m`, imports that name
# the import root's own folder resolve, dict displays keep their literal keys (IR and results);
# 15 = `super().name()` recorded as a called name and followed (facts and results); 16 = abstract
# classes' own hooks, tensor-level and alpha dropouts (results); 17 = web request handlers run
# after their module's body (results); 18 = `getattr(x, "name")(...)` is a call of `x.name` (facts
# and results).
SCHEMA = "31"
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by evalguard.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(*parts: object) -> str:
    """A stable key for a tuple of plain values (strings, numbers, tuples, None)."""
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogateescape")).hexdigest()


class Cache:
    """A directory of pickled entries in namespaces: "facts", "results", "latest" and "state"."""

    def __init__(self, directory: str) -> None:
        self.directory = os.path.abspath(directory)
        self.base = os.path.join(self.directory, f"v{__version__}-{SCHEMA}")
        self._ready = False
        self.disabled_reason: str | None = None
        # Set by a run that parsed files (in this process or its workers): `trim` then bounds the facts.
        self.facts_written = False

    # ---------------------------------------------------------------- entries

    def get(self, namespace: str, key: str) -> Any | None:
        path = self._entry(namespace, key)
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - truncated, corrupted or foreign: recompute
            try:
                os.unlink(path)
            except OSError:
                pass
            return None

    def put(self, namespace: str, key: str, value: Any) -> None:
        """Store an entry; a cache that cannot be written is switched off for this run, quietly
        for the results (a read-only checkout must still be checkable)."""
        if self.disabled_reason is not None:
            return
        try:
            blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, RecursionError):
            return  # too deeply nested to pickle: recomputed next time, the other entries kept
        self.put_pickled(namespace, key, blob)

    def put_pickled(self, namespace: str, key: str, blob: bytes) -> None:
        """Store an entry already pickled (a parse worker pickles its facts once, for the cache
        and for the way back to the parent)."""
        if self.disabled_reason is not None:
            return
        if namespace == "facts":
            self.facts_written = True
        path = self._entry(namespace, key)
        try:
            self._prepare()
            folder = os.path.dirname(path)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pkl")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(blob)
                os.replace(tmp, path)
                if namespace == "results":
                    self._prune(os.path.join(self.base, namespace), MAX_RESULTS)
                elif namespace == "state":
                    self._prune(os.path.join(self.base, namespace), MAX_STATES)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError as exc:
            self.disabled_reason = f"cache disabled: cannot write {self.directory}: {getattr(exc, 'strerror', None) or exc}"

    def trim(self) -> None:
        """After a run: drop the oldest facts entries past MAX_FACTS, if the run added any."""
        if self.facts_written and self.disabled_reason is None:
            self._prune(os.path.join(self.base, "facts"), MAX_FACTS)
        self.facts_written = False

    @staticmethod
    def _prune(folder: str, keep: int) -> None:
        entries = []
        if not os.path.isdir(folder):
            return
        for sub in os.scandir(folder):
            if sub.is_dir():
                entries.extend(e for e in os.scandir(sub.path) if e.name.endswith(".pkl"))
        if len(entries) <= keep:
            return
        def age(entry: os.DirEntry) -> float:
            try:
                return entry.stat().st_mtime
            except OSError:
                return 0.0  # removed by a concurrent run

        entries.sort(key=age)
        for entry in entries[: len(entries) - keep]:
            try:
                os.unlink(entry.path)
            except OSError:
                pass  # another run pruned it first

    def _entry(self, namespace: str, key: str) -> str:
        return os.path.join(self.base, namespace, key[:2], key[2:] + ".pkl")

    def _prepare(self) -> None:
        """Create the directory with its `.gitignore` and CACHEDIR.TAG on first write."""
        if self._ready:
            return
        os.makedirs(self.base, exist_ok=True)
        self._drop_other_versions()
        for name, text in ((".gitignore", "# Created by evalguard.\n*\n"), ("CACHEDIR.TAG", _TAG)):
            target = os.path.join(self.directory, name)
            if not os.path.exists(target):
                fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(tmp, target)
        self._ready = True


    def _drop_other_versions(self) -> None:
        """Entries of other evalguard versions or schemas are never read again (the folder name is
        part of every key): remove their folders, and nothing else, on this version's first write."""
        current = os.path.basename(self.base)
        for entry in os.scandir(self.directory):
            if entry.name != current and _VERSION_DIR.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


_VERSION_DIR = re.compile(r"v[0-9][0-9A-Za-z.+!_-]*-[0-9]+")


def default_cache_dir(root: str) -> str:
    return os.path.join(root, CACHE_DIR_NAME)
