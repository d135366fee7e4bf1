"""Which source line an event belongs to: the first frame of the user's own code.

Walks `frame.f_back` links from `sys._getframe` (well under a microsecond for a few frames) and
classifies each file once. Never `inspect.stack()` or `traceback.extract_stack()`: they read
source files and cost milliseconds.

Three kinds of files:
  INTERNAL  torch and evalguard themselves, and frozen stdlib modules (`<frozen runpy>`)
  LIBRARY   everything else installed: the standard library and site-packages
  USER      the rest: the script, the project, notebook cells, `<string>`
"""

from __future__ import annotations

import os
import sys
import sysconfig

import torch  # noqa: F401  (its location classifies frames as INTERNAL)

USER, LIBRARY, INTERNAL = 0, 1, 2

Location = tuple  # (co_filename, lineno): cheap to build; resolved to a realpath only when written

_KIND: dict[str, int] = {}
_REAL: dict[str, str] = {}


def _dirs(*paths: str | None) -> tuple[str, ...]:
    out = []
    for path in paths:
        if path:
            real = os.path.realpath(path)
            out.append(real.rstrip(os.sep) + os.sep)
    return tuple(dict.fromkeys(out))


def _package_dir(name: str) -> str | None:
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    return os.path.dirname(file) if file else None


_INTERNAL_DIRS = _dirs(_package_dir("torch"), os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_LIBRARY_DIRS = _dirs(*(sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")))


def file_kind(filename: str) -> int:
    kind = _KIND.get(filename)
    if kind is None:
        kind = _KIND[filename] = _classify(filename)
    return kind


def _classify(filename: str) -> int:
    if filename.startswith("<"):
        return INTERNAL if filename.startswith("<frozen") else USER
    real = os.path.realpath(filename)
    if real.startswith(_INTERNAL_DIRS):
        return INTERNAL
    if real.startswith(_LIBRARY_DIRS):
        return LIBRARY
    return USER


def user_frame(frame, skip=None):
    """The first USER frame at or above `frame` for which `skip(frame)` is false; failing that
    the first LIBRARY frame (user code installed as a package), else None."""
    fallback = None
    while frame is not None:
        kind = _KIND.get(frame.f_code.co_filename)
        if kind is None:
            kind = file_kind(frame.f_code.co_filename)
        if kind == USER:
            if skip is None or not skip(frame):
                return frame
        elif kind == LIBRARY and fallback is None:
            fallback = frame
        frame = frame.f_back
    return fallback


def user_location(frame, skip=None) -> Location | None:
    found = user_frame(frame, skip)
    return (found.f_code.co_filename, found.f_lineno) if found is not None else None


def inside_code(frame, code) -> bool:
    """Whether any frame at or above `frame` runs `code` (e.g. `nn.Module._call_impl`: then the
    call happens inside another module's forward)."""
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def real_path(filename: str) -> str:
    """The realpath the trace records (pseudo-files such as `<string>` stay as they are)."""
    real = _REAL.get(filename)
    if real is None:
        real = _REAL[filename] = filename if filename.startswith("<") else os.path.realpath(filename)
    return real


def display_path(filename: str) -> str:
    """Relative to the current directory when the file is below it, for messages and summaries."""
    real = real_path(filename)
    if real.startswith("<"):
        return real
    try:
        rel = os.path.relpath(real)
    except ValueError:
        return real
    return real if rel.startswith(os.pardir) else rel
