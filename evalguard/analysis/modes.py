"""The abstract mode of a module reference: which modes it may be in, and why.

A `ModeVal` maps each possible mode to one origin (the first by source position, so results are
deterministic). TRAIN and EVAL are concrete; ENTRY means "whatever the caller passed in" (the
origin's `what` names the entry path); UNKNOWN means an origin we cannot see. Only concrete modes
with a visible origin ever produce findings.
"""

from __future__ import annotations

from dataclasses import replace

from evalguard.record import compact_pickle, record

TRAIN = "train"
EVAL = "eval"
ENTRY = "entry"
UNKNOWN = "unknown"
KINDS = (TRAIN, EVAL, ENTRY, UNKNOWN)


@compact_pickle
@record(order=True)
class Origin:
    """Where a mode came from.

    `what` describes the cause (`model.eval()`, `validate()`, `Net()`); `explicit` is False for
    PyTorch's construction default (train) and True for an explicit switch; `via` lists the calls
    the effect travelled through, innermost last (`validate()` at file:line).
    """

    path: str
    line: int
    col: int
    what: str
    explicit: bool = True
    via: tuple[tuple[str, str, int], ...] = ()

    def through(self, callee: str, path: str, line: int) -> "Origin":
        """This origin as seen by a caller that called `callee` at path:line."""
        if len(self.via) >= 6:
            return self
        # The constructor, not dataclasses.replace: this runs for every effect a summary carries.
        return Origin(self.path, self.line, self.col, self.what, self.explicit, ((callee, path, line), *self.via))


@compact_pickle
@record
class ModeVal:
    train: Origin | None = None
    eval: Origin | None = None
    entry: Origin | None = None
    unknown: Origin | None = None

    def get(self, kind: str) -> Origin | None:
        return getattr(self, kind)

    def kinds(self) -> frozenset[str]:
        return frozenset(k for k in KINDS if getattr(self, k) is not None)

    def join(self, other: "ModeVal") -> "ModeVal":
        if self == other:
            return self
        return ModeVal(*(_first(getattr(self, k), getattr(other, k)) for k in KINDS))

    def without(self, kind: str) -> "ModeVal":
        return replace(self, **{kind: None})

    @property
    def empty(self) -> bool:
        return self.train is None and self.eval is None and self.entry is None and self.unknown is None


def _first(a: Origin | None, b: Origin | None) -> Origin | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def only(kind: str, origin: Origin) -> ModeVal:
    return ModeVal(**{kind: origin})


def entry(path: str) -> ModeVal:
    return ModeVal(entry=Origin("", 0, 0, path))


BOTTOM = ModeVal()
