"""What the tracer remembers: mode switches and findings, one entry per (code, location).

Locations are `(co_filename, lineno)` pairs; they become realpaths only when written.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from evalguard.runtime.frames import real_path


@dataclass(slots=True)
class ModeRecord:
    """The last outermost `train()`/`eval()` call made on one module."""

    training: bool
    location: tuple | None
    seq: int
    site: tuple | None = None  # (code, line) of the first caller outside torch: the repeat check
    key: tuple | None = None  # its key in the tracer's mode counts


@dataclass
class Undo:
    """An ancestor's `train()` that switched a submodule frozen with `.eval()` back to train mode."""

    location: tuple | None  # the ancestor's train() call
    frozen_at: tuple | None  # the submodule's eval() call
    part: str  # class name of the frozen submodule
    ancestor: str
    seq: int
    sensitive: bool  # the part holds Dropout/BatchNorm-like layers


@dataclass
class RuntimeFinding:
    code: str
    location: tuple
    message: str
    related: list = field(default_factory=list)  # [(role, location)]
    count: int = 0

    def record(self) -> dict:
        return {
            "type": "finding",
            "code": self.code,
            "path": real_path(self.location[0]),
            "line": self.location[1],
            "message": self.message,
            "count": self.count,
            "related": [
                {"role": role, "path": real_path(loc[0]), "line": loc[1]} for role, loc in self.related if loc
            ],
        }


class FindingBook:
    """Deduplicates findings by (code, location) and counts them; `on_new` sees each first hit."""

    def __init__(self, on_new) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple, RuntimeFinding] = {}
        self._on_new = on_new

    def hit(self, code: str, location: tuple, message, related=(), times: int = 1) -> RuntimeFinding:
        """Count one occurrence; `message`/`related` may be callables, evaluated on first sight only."""
        key = (code, location)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                found.count += times
                return found
            found = RuntimeFinding(
                code,
                location,
                message() if callable(message) else message,
                list(related() if callable(related) else related),
                times,
            )
            self._items[key] = found
        self._on_new(found)
        return found

    def all(self) -> list[RuntimeFinding]:
        with self._lock:
            return list(self._items.values())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.all():
            out[f.code] = out.get(f.code, 0) + f.count
        return dict(sorted(out.items()))


class ObjectTable:
    """A dict keyed by object identity that forgets dead objects, cheaper than
    `WeakKeyDictionary` on the hot paths: `set` on a known object reuses its weak reference."""

    __slots__ = ("_items", "__weakref__")

    def __init__(self) -> None:
        self._items: dict[int, list] = {}  # id -> [weakref, value]

    def get(self, obj, default=None):
        entry = self._items.get(id(obj))
        if entry is not None and entry[0]() is obj:
            return entry[1]
        return default

    def __contains__(self, obj) -> bool:
        entry = self._items.get(id(obj))
        return entry is not None and entry[0]() is obj

    def set(self, obj, value) -> None:
        key = id(obj)
        entry = self._items.get(key)
        if entry is not None and entry[0]() is obj:
            entry[1] = value
            return
        table = weakref.ref(self)

        def forget(ref, key=key):
            owner = table()
            if owner is not None:
                current = owner._items.get(key)
                if current is not None and current[0] is ref:
                    del owner._items[key]

        self._items[key] = [weakref.ref(obj, forget), value]

    def pop(self, obj, default=None):
        entry = self._items.get(id(obj))
        if entry is not None and entry[0]() is obj:
            del self._items[id(obj)]
            return entry[1]
        return default

    def items(self) -> list:
        out = []
        for ref, value in list(self._items.values()):
            obj = ref()
            if obj is not None:
                out.append((obj, value))
        return out

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)
