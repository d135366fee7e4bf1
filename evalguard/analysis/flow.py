"""Mode-flow analysis of one function: abstract interpretation over its IR.

The state maps variables to abstract values (sets of object ids, plus taint from model forwards),
object fields to objects, and objects to their abstract mode. Branches join; loops iterate until
the state at the loop head stops changing, so a mode set late in iteration k reaches iteration
k+1. Calls to project functions apply the callee's summary; the function's own summary (exit mode
of every entry reference, requirements on them) comes out at the end.

Object ids: "E:<path>" an entry reference (parameter, `self`, global "G:mod|name", closure
"C:fn|name"); "N:<file>:<line>:<col>" an allocation; "U:<...>" an unknown value; "<id>.<attr>" a
sub-object reached through an attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TypeVar

from evalguard.analysis import knowledge as K
from evalguard.analysis import modes as M
from evalguard.analysis.gradients import updates_from_own_grad
from evalguard.analysis.training_tests import is_zero, training_test, zeroed_outside_training
from evalguard.analysis.modes import ModeVal, Origin
from evalguard.analysis.project import (
    ProjectIndex,
    Symbol,
    external_class_kind,
    func_key,
    is_property,
)
from evalguard.analysis.summaries import (
    EMPTY_SUMMARY,
    Event,
    Forward,
    FunctionResult,
    ObjInfo,
    Requirement,
    Summary,
)
from evalguard.parsing import ir
from evalguard.parsing.evidence import Walk
from evalguard.parsing.ir import Loc, dotted_name, path_text
from evalguard.record import record

MAX_LOOP_ITERATIONS = 8
# Longest attribute chain tracked below an object, and most objects one reference may denote.
MAX_PATH_ATTRS = 4
MAX_OBJECTS = 24
# Objects remembered per parameter from all callers (beyond that, what a caller passes is not added).
MAX_PASSED_OBJECTS = 64
# Stands for "some object we lost track of": its mode is unknown, so it never yields a finding.
UNKNOWN_OBJ = "U:lost"


# A child id standing for "whatever the caller froze inside this entry reference" (see
# `_note_unfreezing`): `E:model` + this.
_CALLER_FROZEN = ".<frozen by a caller>"
_NO_FREEZE = Origin("", 0, 0, "")


def _instance_children(state: State, obj: str, own: set[str]) -> list[tuple[str, bool]]:
    """The objects inside `obj` that have a mode of their own, each with whether it is shared: a
    sub-object reached by path belongs to this instance, and so does one this function built
    (`own`); one bound to a field elsewhere (and what is inside it) stands for that field in every
    instance of the holder's class."""
    prefix = obj + "."
    out = [(k, False) for k in state.modes if k.startswith(prefix)]
    if not state.fields:
        return out
    seen = {obj}
    holders = [obj]
    while holders:
        holder = holders.pop()
        inside = holder + "."
        for (h, _attr), vals in state.fields.items():
            if h != holder and not h.startswith(inside):
                continue
            for v in vals:
                if v in seen:
                    continue
                seen.add(v)
                holders.append(v)
                shared = root_of(v) not in own
                out.append((v, shared))
                below = v + "."
                out.extend((k, shared) for k in state.modes if k.startswith(below))
    return out


def _capped(objs: frozenset[str]) -> frozenset[str]:
    if len(objs) <= MAX_OBJECTS:
        return objs
    return frozenset(sorted(objs)[:MAX_OBJECTS]) | {UNKNOWN_OBJ}


@record
class Value:
    objs: frozenset[str] = frozenset()
    taint: frozenset[str] = frozenset()
    sym: Symbol | None = None
    # `was = model.training`: a snapshot of one object's mode, restorable with `model.train(was)`.
    saved: tuple[frozenset[str], ModeVal] | None = None
    const: object = None
    is_const: bool = False
    # Result of `x.parameters()`: whose parameters these are.
    params_of: frozenset[str] = frozenset()
    # A tuple/list display: its elements, for unpacking.
    elts: tuple["Value", ...] | None = None
    # `functools.partial(f, *args)`: the arguments bound in front.
    partial: tuple["Value", ...] = ()
    # Several project functions this may be (`for cb in [lambda: ..., lambda: ...]: cb()`).
    alts: tuple[Symbol, ...] = ()
    # A dict display with literal keys, as built here: `elts` are its values, in the keys' order
    # (`nets["decoder"]` is that value; the dict itself stays opaque to everything else).
    keys: tuple[str, ...] | None = None
    # A bound method that puts `saved`'s objects back in their saved mode when called:
    # `restore = model.train if model.training else model.eval`.
    restorer: bool = False

    def join(self, other: "Value") -> "Value":
        if self is other or self == other or other == NOTHING:
            return self
        if self == NOTHING:
            return other
        functions = {s for v in (self, other) for s in (v.alts or ((v.sym,) if v.sym else ())) if s.kind == "function"}
        return Value(
            objs=_capped(self.objs | other.objs),
            taint=self.taint | other.taint,
            alts=tuple(sorted(functions, key=lambda s: s.target))[:8] if self.sym != other.sym else (),
            sym=self.sym if self.sym == other.sym else None,
            saved=self.saved if self.saved == other.saved else None,
            restorer=self.restorer and other.restorer and self.saved == other.saved,
            params_of=self.params_of | other.params_of,
        )


NOTHING = Value()


def _const(value: object) -> Value:
    # Literals repeat across a run (`None`, `True`, `0`, `"cpu"`), and values are immutable: one
    # shared Value per literal (the type in the key keeps `1`, `1.0` and `True` apart).
    key = (type(value), value)
    found = _CONSTS.get(key)
    if found is None:
        if len(_CONSTS) > _MEMO_LIMIT:
            _CONSTS.clear()
        found = _CONSTS[key] = Value(const=value, is_const=True)
    return found


_CONSTS: dict[tuple[type, object], Value] = {}


class State:
    __slots__ = ("vars", "fields", "modes", "loaded", "optimized", "stepped", "unfrozen", "conds", "snaps")

    def __init__(self) -> None:
        self.vars: dict[str, Value] = {}
        self.fields: dict[tuple[str, str], frozenset[str]] = {}
        self.modes: dict[str, ModeVal] = {}
        self.loaded: frozenset[str] = frozenset()
        self.optimized: frozenset[str] = frozenset()
        # Objects that ran a training step since their last explicit train() call.
        self.stepped: frozenset[str] = frozenset()
        # Submodules frozen with eval() that an ancestor's train() re-enabled, not re-frozen yet:
        # (submodule, the train() call's location, the freeze's origin, the ancestor's text).
        # (child, where the train() is, the freeze, receiver label, that train()'s file or "" for here)
        self.unfrozen: frozenset[tuple[str, Loc, Origin, str, str]] = frozenset()
        # Modes an `if flag:` left depending on the flag: (flag text, object) -> (mode where the
        # flag held, mode where it did not, the joined mode after the `if`). Never changed in
        # place (copies share it).
        self.conds: dict[tuple[str, str], tuple[ModeVal, ModeVal, ModeVal]] = _NO_CONDS
        # Mode snapshots kept in fields, `self.was = self.model.training` (or a bound restorer,
        # `self.restore = m.train if m.training else m.eval`): (holder, attribute) -> (the objects
        # saved, their mode then, a restorer?). Never changed in place, like `conds`.
        self.snaps: dict[tuple[str, str], tuple[frozenset[str], ModeVal, bool]] = _NO_CONDS

    def copy(self) -> "State":
        s = State.__new__(State)  # every slot is set below: no empty dicts built to be replaced
        s.vars = self.vars.copy()
        s.fields = self.fields.copy()
        s.modes = self.modes.copy()
        s.loaded = self.loaded
        s.optimized = self.optimized
        s.stepped = self.stepped
        s.unfrozen = self.unfrozen
        s.conds = self.conds
        s.snaps = self.snaps
        return s

    def same(self, other: "State") -> bool:
        return (
            self.vars == other.vars
            and self.fields == other.fields
            and self.modes == other.modes
            and self.loaded == other.loaded
            and self.optimized == other.optimized
            and self.stepped == other.stepped
            and self.unfrozen == other.unfrozen
            and self.conds == other.conds
            and self.snaps == other.snaps
        )


_NO_CONDS: dict = {}


def entry_path(obj: str) -> str | None:
    return obj[2:] if obj.startswith("E:") else None


def root_of(obj: str) -> str:
    """The allocation/entry root of an object id (strip `.attr` steps)."""
    root = _ROOTS.get(obj)
    if root is None:
        if len(_ROOTS) > _MEMO_LIMIT:
            _ROOTS.clear()
        root = _ROOTS[obj] = _root_of(obj)
    return root


# Object ids repeat endlessly across a run: their roots are worth remembering (bounded, and
# dropped after each run by `forget_roots`).
_ROOTS: dict[str, str] = {}
_MEMO_LIMIT = 1 << 18


def forget_roots() -> None:
    _ROOTS.clear()


def _root_of(obj: str) -> str:
    if obj.startswith("E:G:") or obj.startswith("E:C:"):
        bar = obj.index("|")
        dot = obj.find(".", bar)
        return obj if dot < 0 else obj[:dot]
    if obj.startswith("N:") or obj.startswith("U:"):
        # "N:<file>:<line>:<col>" — the file may contain dots; attrs follow the last colon group.
        head, _, tail = obj.rpartition(":")
        dot = tail.find(".")
        return obj if dot < 0 else f"{head}:{tail[:dot]}"
    dot = obj.find(".")
    return obj if dot < 0 else obj[:dot]


class Context:
    """Project-wide facts shared by every function analysis."""

    def __init__(
        self,
        index: ProjectIndex,
        model_names: frozenset[str] = frozenset(),
        mode_owning: frozenset[str] = frozenset(),
    ) -> None:
        self.index = index
        # From the config: extra names that denote models, extra framework bases/trainer classes
        # that own their models' modes.
        self.model_names = model_names
        self.mode_owning = mode_owning
        self.allocs: dict[str, ObjInfo] = {}
        # Allocation id -> the functions whose analyses read its info: analysed again when another
        # analysis learns more about it (evidence that it is a module), so that the result does
        # not depend on which of them ran first.
        self.alloc_readers: dict[str, set[str]] = {}
        # Allocations of unknown classes that evidence showed to be modules.
        self.upgraded: set[str] = set()
        # Allocation id -> project class key, for method resolution on constructed objects.
        self.alloc_classes: dict[str, str] = {}
        # (function key, parameter) -> objects callers pass for it (to judge mode sensitivity, and
        # to resolve methods called on the parameter).
        self.param_objects: dict[tuple[str, str], set[str]] = {}
        # (function, parameter) -> the functions whose analyses read what callers pass for it (to
        # resolve a method on the parameter, or on a field the constructor stores it in), and the
        # functions to analyse again because the callers have passed more since.
        self.watched_params: dict[tuple[str, str], set[str]] = {}
        self.stale: set[str] = set()
        # Functions that started watching a parameter since the driver last looked.
        self.new_watchers: list[str] = []
        self.summaries: dict[str, Summary] = {}
        # (constructor, attribute) -> (constructor, parameter) it stores there, if any.
        self.constructor_params: dict[tuple[str, str], tuple[str, str] | None] = {}
        # A guard's `__exit__` -> whether it (or its class's methods it calls) sets a mode from a
        # saved value (see `FunctionAnalysis._restores_some_flag`).
        self.flag_restorers: dict[str, bool] = {}
        # Who passes which objects for a parameter, as of each caller's latest analysis (an
        # earlier analysis, with less known about its callees, may have passed others: they do
        # not count, so the objects are the same in any visit order and after an edit), and what
        # the analysis running now passes (`commit_passes` makes it that caller's).
        self.param_sources: dict[tuple[str, str], dict[str, frozenset[str]]] = {}
        self.passes_of: dict[str, set[tuple[str, str]]] = {}
        self.pending_passes: dict[tuple[str, str], set[str]] = {}
        # Provenance, for re-analysing after an edit (`analysis.incremental`): who set an
        # allocation's info, and who read an allocation's class or info without being made
        # stale by a change (`info_of` readers are).
        self.alloc_setters: dict[str, set[str]] = {}
        self.quiet_readers: dict[str, set[str]] = {}
        # While re-analysing after an edit: what each analysis set, read or called, in the
        # order it happened ((kind, target) per function), for the retraction's reverse maps.
        self.journal: dict[str, list[tuple[str, object]]] | None = None

    def set_alloc(self, obj: str, info: ObjInfo, by: str) -> None:
        """What is known about allocation `obj`, (re)stated by function `by`'s analysis. Knowledge
        only grows: an allocation site analysed again does not forget that another function
        showed its object to be a module."""
        if info.is_module is None and obj in self.upgraded:
            info = replace(info, is_module=True)
        self._record(self.alloc_setters, obj, by, "set")
        known = self.allocs.get(obj)
        if known == info:
            return
        self.allocs[obj] = info
        if known is not None:
            self.stale |= self.alloc_readers.get(obj, set()) - {by}

    def summary(self, key: str) -> Summary:
        return self.summaries.get(key, EMPTY_SUMMARY)

    def pass_objects(self, key: str, param: str, objs: frozenset[str]) -> None:
        """The analysis running now passes these objects for `param` of function `key`."""
        pending = self.pending_passes.get((key, param))
        if pending is None:
            self.pending_passes[(key, param)] = set(objs)
        else:
            pending |= objs

    def commit_passes(self, by: str) -> None:
        """Function `by`'s analysis finished: what it passed replaces what it passed before; the
        readers of a parameter whose objects changed are analysed again."""
        pending, self.pending_passes = self.pending_passes, {}
        before = self.passes_of.get(by, set())
        if not pending and not before:
            return
        for param in before | pending.keys():
            sources = self.param_sources.setdefault(param, {})
            objs = pending.get(param)
            if objs:
                old = sources.get(by)
                if old == objs:
                    continue
                sources[by] = frozenset(objs)
                current = self.param_objects.get(param)
                if (old is None or old <= objs) and current is not None and objs <= current and len(current) < MAX_PASSED_OBJECTS:
                    continue  # (what it passes now was passed already: the union is the same)
            elif sources.pop(by, None) is None:
                continue
            self.recompute_passed(param)
        self.passes_of[by] = set(pending)

    def discard_passes(self) -> None:
        """The running analysis's result is dropped: so is what it passed."""
        self.pending_passes = {}

    def recompute_passed(self, param: tuple[str, str]) -> None:
        """`param_objects` from the sources (bounded: past the cap, the first in sorted order,
        so the subset depends on what the callers pass, never on the order they ran in)."""
        sources = self.param_sources.get(param)
        objs: set[str] = set()
        for passed in (sources or {}).values():
            objs |= passed
        if not sources:
            self.param_sources.pop(param, None)
        if len(objs) > MAX_PASSED_OBJECTS:
            objs = set(sorted(objs)[:MAX_PASSED_OBJECTS])
        if objs != self.param_objects.get(param, set()):
            if objs:
                self.param_objects[param] = objs
            else:
                self.param_objects.pop(param, None)
            readers = self.watched_params.get(param)
            if readers:
                self.stale |= readers

    def read_class(self, obj: str, by: str) -> str | None:
        """The project class allocation `obj` was constructed from, read by function `by`."""
        class_key = self.alloc_classes.get(obj)
        if class_key is not None:
            self.read_quietly(obj, by)
        return class_key

    def read_quietly(self, obj: str, by: str) -> None:
        self._record(self.quiet_readers, obj, by, "quiet")

    def read_alloc(self, obj: str, by: str) -> None:
        self._record(self.alloc_readers, obj, by, "read")

    def _record(self, table: dict, target, by: str, kind: str) -> None:
        """Function `by` set or read `target` (in `table`: target -> functions)."""
        functions = table.get(target)
        if functions is None:
            table[target] = {by}
        else:
            functions.add(by)
        self.log(by, kind, target)

    def log(self, by: str, kind: str, target) -> None:
        """Journal what function `by` set, read or called, while re-analysing after an edit."""
        if self.journal is not None:
            self.journal.setdefault(by, []).append((kind, target))

    def passed_objects(self, key: str, param: str, reader: str | None = None) -> set[str]:
        """What callers pass for `param` of function `key` so far, read by the analysis of
        `reader` (default: that function itself): it is analysed again if that grows."""
        readers = self.watched_params.get((key, param))
        if readers is None:
            readers = self.watched_params[(key, param)] = set()
            self.new_watchers.append(key)  # (its callers must be analysed: they pass the objects)
        readers.add(reader or key)
        self.log(reader or key, "watch", (key, param))
        return self.param_objects.get((key, param), set())

    def class_info(self, class_key: str, label: str, weights: bool = False) -> ObjInfo:
        is_module, sensitive = self.index.class_props(class_key)
        return ObjInfo(label=label, is_module=is_module, sensitive=sensitive, weights=weights)


class FunctionAnalysis:
    """Interprets one function with the current callee summaries."""

    def __init__(self, ctx: Context, key: str, on_call: Callable[[str], None] | None = None) -> None:
        self.ctx = ctx
        self.key = key
        self.fn = ctx.index.functions[key]
        self.facts = ctx.index.function_module[key]
        self.module = self.facts.module_name
        self.path = self.facts.path
        self.on_call = on_call
        self.is_module_body = self.fn.kind == "module"
        # Every name this function reads is keyed by itself (no module body, no `global`).
        self._plain_names = not self.is_module_body and not self.fn.global_names
        self.display = self.fn.qualname if not self.is_module_body else "<module>"
        self.forwards: dict[str, Forward] = {}
        # For fixes: (header line, first body line) of the enclosing loops, and where the current
        # no_grad block starts.
        self.loop_lines: list[tuple[int, int]] = []
        self.loop_ends: list[int] = []  # last line of each enclosing loop, innermost last
        self.loop_spans: set[tuple[int, int]] = set()  # (first, last line) of every loop met
        self.no_grad_line = 0
        # Objects this function switches to train() somewhere: models being trained, not frozen.
        self.trained_explicitly: set[str] = set()
        # Submodules frozen by a call here (`Tuner(model)` whose constructor runs
        # `self.model.backbone.eval()`): (object, its eval origin) -> the objects on the path the
        # call froze it through. Field objects stand for every instance of their class: this says
        # which instance the freeze reached (see `_note_unfreezing`).
        self.call_freezes: dict[tuple[str, Origin], frozenset[str]] = {}
        self.own_allocs: set[str] = set()  # objects built by this function's own calls
        # `model.backbone.modules()` here: its submodules' object -> the texts it was reached by
        # (field objects are shared by every instance: the text says which one, see
        # `_froze_this_instance`).
        self.sub_paths: dict[str, set[str]] = {}
        # (container built here, a part frozen before it was wrapped, that freeze).
        self.wrapped_freezes: set[tuple[str, str, Origin]] = set()
        # `model.train()` then a training step on entry references (see `Summary.unfreezes`).
        self.unfreeze_reqs: set[tuple[str, Loc, str, str, tuple[tuple[str, str, int], ...]]] = set()
        self.events: dict[tuple[str, Loc], Event] = {}
        self.current_loc: Loc = self.fn.loc
        # torch.jit.script/trace results: object -> (location of the call, the mode is baked in:
        # a trace). Reported once saved, a trace also once returned (see `_scripted_saved`).
        self.scripted: dict[str, tuple[Loc, bool]] = {}
        self.breaks: list[list[State]] = []
        self.continues: list[list[State]] = []
        self.no_grad = False
        # Inside branches that run only in training (`if self.training:`): how many.
        self.training_only = 0
        # The `self.<flag>` tests around the statement analysed now: (flag, branch taken).
        self.flag_guards: list[tuple[str, bool]] = []
        self.loop_stack: list[int] = []
        self.loop_counter = 0
        self.loop_fixpoints: dict[int, tuple[State, State]] = {}  # id(loop) -> (entry, head) of its last run
        self.step_loops: set[int | None] = set()
        # Loops whose backward() visibly consumes some forward's output: there, taint decides
        # which forwards are training steps (a logging forward beside them is not one).
        self.taint_known_loops: set[int | None] = set()
        self.has_step = False
        # An optimizer step (or a framework's) here or in a callee, and a `.grad` read: a backward
        # without an update whose gradients are read is gradient inspection, not training (see
        # `_inspects_gradients`).
        self.has_update = False
        self.reads_grad = False
        # Where backward() and weight updates run: (taint, enclosing loop headers, line, innermost
        # loop id) and (enclosing loop headers, line). See `_drop_dead_end_backwards`.
        self.backward_sites: list[tuple[frozenset[str], tuple[int, ...], int, int | None]] = []
        self.update_sites: list[tuple[tuple[int, ...], int]] = []
        self.other_step_loops: set[int | None] = set()
        self.backward_taint: set[str] = set()
        self.returns: list[Value] = []
        self.return_states: list[State] = []
        # States where the function yields, and the call being entered as a `with` item or a `for`
        # loop's iterable (see `with_stmt`, `loop`): a generator's block runs where it yields.
        self.yield_states: list[State] = []
        self.entering_block: ir.Call | None = None
        self.with_exits: list[tuple[tuple[tuple[str, ModeVal], ...], State, Callable, str, ir.Call]] = []
        self.requirement_paths: dict[str, set[str]] = {}
        self.evidence_names = self.fn.evidence_names
        self.in_init = self.fn.name == "__init__"
        self.framework_managed = self._framework_managed()
        self.loss_hook_model = self._loss_hook_model()
        self.param_taints: dict[str, int] = {}
        # Parameters whose values this function uses as predictions (`output.topk(5)` in an
        # `accuracy(output, target)` helper): the caller's forward behind them is inference.
        self.inference_params: set[int] = set()
        self.in_module_class = (
            self.fn.class_qualname is not None
            and self.fn.kind == "instance"
            and ctx.index.class_props(func_key(self.module, self.fn.class_qualname))[0] is not False
        )
        self.forwards_self = False
        # Enclosing `if isinstance(x, C)` tests: (path text of x, project class keys).
        self.narrowed: list[tuple[str, tuple[str, ...]]] = []
        self.with_depth = 0  # `with` blocks around the statement being analysed
        self.calls_passed: set[tuple[str, tuple[str, ...]]] = set()  # see `Summary.calls_passed`
        # `self.model.train(self.was)` with a flag read from an entry field: the unknown mode it
        # sets (its origin) -> that field's path, which a caller may know to hold a snapshot.
        self.restore_flags: dict[Origin, str] = {}
        # `self.restore()` on an entry field that may hold a bound restorer: its path.
        self.restorer_calls: set[str] = set()
        # Entry fields whose class the constructor says (`ProjectIndex.constructor_wiring`).
        self.field_classes: dict[str, str] = {}
        # While calling a function a caller passed in: its closure variables' objects here.
        self.closure_env: dict[str, frozenset[str]] | None = None
        self.evaluation_like = K.is_evaluation_name(self.fn.name) and not (
            self.fn.name.startswith("test_") and K.is_test_file(self.path)
        )

    # ================================================================== driver

    def run(self) -> FunctionResult:
        state = State()
        for i, param in enumerate(self.fn.params):
            obj = f"E:{param.name}"
            taint = f"P:{i}"
            self.param_taints[taint] = i
            state.vars[self._var_key(param.name)] = Value(objs=frozenset({obj}), taint=frozenset({taint}))
        if self.fn.kind == "instance" and self.fn.params and self.fn.params[0].name == "self":
            self._seed_field_aliases(state)
        for dec in self.fn.decorators:
            if self._is_no_grad_ctx(dec, state):
                self.no_grad = True
                self.no_grad_line = self.fn.body[0].loc.line if self.fn.body else 0
        switched = self._mode_decorated_param(state)
        if switched is not None:
            param, mode, origin, _restores = switched
            state.modes[f"E:{param}"] = M.only(mode, origin)
        if self.framework_managed:
            # Lightning sets the mode before calling its hooks; treat `self` as of unknown mode.
            state.modes["E:self"] = M.only(M.UNKNOWN, self._origin(self.fn.loc, "the framework"))
        if self.loss_hook_model is not None:
            model = f"E:{self.loss_hook_model}"
            state.modes[model] = M.only(M.TRAIN, self._origin(self.fn.loc, "the trainer's training step"))
            state.optimized = state.optimized | {model}
        end = self.block(self.fn.body, state)
        if self.is_module_body and end is not None:
            self._serve_requests(end)
        exits = [s for s in (end, *self.return_states) if s is not None]
        exit_state = _join_all(exits) if exits else State()
        if switched is not None and switched[3]:
            # The decorator puts the caller's mode back (and train()/eval() reach the children).
            exit_state.modes.pop(f"E:{switched[0]}", None)
            _drop_children(exit_state.modes, f"E:{switched[0]}")
        if end is not None:
            self.returns.append(NOTHING)
        if self.loss_hook_model is not None:
            # The trainer back-propagates the returned loss and steps its optimizer.
            self._note_update()
            for value in self.returns:
                if value.taint:
                    self._training_step(value.taint, exit_state)
        if self._inspects_gradients():
            self.backward_taint.clear()
            self.step_loops.clear()
            self.has_step = False
        else:
            self._drop_dead_end_backwards()
        self._note_fed_training()
        return FunctionResult(self._summary(exit_state), self._finish_forwards(), list(self.events.values()))

    def _seed_field_aliases(self, state: State) -> None:
        """In a method of a plain class (a trainer, a guard), fields its constructor bound to one
        object are that object: `self.evaluator.model` is `self.model` when `__init__` did
        `self.model = model; self.evaluator = Evaluator(model)`, so what `self.evaluator.run()`
        does to its model happens to `self.model`. (A module's methods rarely need it, and
        their constructors are many: they are left out.)"""
        if self.fn.name == "__init__":
            return
        wiring = self.ctx.index.constructor_wiring(func_key(self.module, self.fn.class_qualname))  # type: ignore[arg-type]
        for path, canonical in wiring.aliases:
            holder, _, attr = path.rpartition(".")
            state.fields[(f"E:{holder}", attr)] = frozenset({f"E:{canonical}"})
        if wiring.classes:
            self.field_classes = {f"E:{path}": class_key for path, class_key in wiring.classes}

    def _serve_requests(self, state: State) -> None:
        """The module's web request handlers run after its body, on the globals it left: a model
        built at import time and used by `@app.post("/predict")` is judged in the mode the module
        leaves it in; a TorchServe handler class is built and run through its lifecycle. Their
        arguments come from requests (unknown)."""
        index = self.ctx.index
        for key in index.route_handlers(self.module):
            fn = index.functions[key]
            call = ir.Call(func=ir.Name(fn.name), args=(), kwargs=(), loc=fn.loc)
            self.call_project(call, key, [], {}, None, state)
        # A TorchServe handler: the server builds one, initializes it, then handles requests.
        for class_key, methods in index.serving_handlers(self.module):
            cls = index.classes[class_key]
            handler = self.construct_project(ir.Call(func=ir.Name(cls.name), args=(), kwargs=(), loc=cls.loc), class_key, [], {}, state)
            for key in methods:
                fn = index.functions[key]
                call = ir.Call(func=ir.Attr(ir.Name("handler"), fn.name), args=(), kwargs=(), loc=fn.loc)
                self.call_project(call, key, [], {}, handler, state)

    def _inspects_gradients(self) -> bool:
        """A backward() whose gradients are read and never applied: no optimizer step here or in
        a callee, no parameter updated from its own `.grad` (`p -= lr * p.grad`). Fisher and
        importance estimates, gradient similarity, saliency maps and adversarial inputs run on a
        model in eval mode on purpose; the weights do not change, so it is not a training step."""
        if not (self.has_step and self.reads_grad) or self.has_update:
            return False
        return not updates_from_own_grad(self.fn.body)

    def _drop_dead_end_backwards(self) -> None:
        """In a function that updates weights, a backward() no update can follow (after the
        training loop: a gradient check, a saliency map) trains nothing: its forwards are not
        training steps. An update follows when it comes later in the function or shares a loop
        with the backward (the next iteration). A function with no update of its own leaves its
        backward() to the callers, and a hand-written update counts everywhere."""
        if not self.update_sites or not self.backward_sites or updates_from_own_grad(self.fn.body):
            return
        applied: set[str] = set()
        live_loops: set[int | None] = set()
        dead: set[str] = set()
        dead_loops: set[int | None] = set()
        for taint, loops, line, loop in self.backward_sites:
            if any(u_line >= line or set(u_loops) & set(loops) for u_loops, u_line in self.update_sites):
                applied |= taint
                live_loops.add(loop)
            else:
                dead |= taint
                dead_loops.add(loop)
        self.backward_taint -= dead - applied
        self.step_loops -= dead_loops - live_loops - self.other_step_loops

    def _loss_hook_model(self) -> str | None:
        """The model parameter of a Hugging Face trainer's `compute_loss` override: the trainer
        hands it over in train mode and back-propagates the returned loss."""
        if self.fn.class_qualname is None or self.fn.name not in K.HF_LOSS_HOOKS or len(self.fn.params) < 2:
            return None
        class_key = func_key(self.module, self.fn.class_qualname)
        if not any(b in K.HF_TRAINER_BASES for b in self.ctx.index.external_bases(class_key)):
            return None
        return self.fn.params[1].name

    def _framework_managed(self) -> bool:
        if self.fn.class_qualname is None or self.fn.name not in K.FRAMEWORK_STEP_METHODS:
            return False
        class_key = func_key(self.module, self.fn.class_qualname)
        owning = K.MODE_OWNING_BASES | self.ctx.mode_owning
        bases = self.ctx.index.external_bases(class_key)
        return any(b in owning or b.rsplit(".", 1)[-1] in self.ctx.mode_owning for b in bases)

    # ================================================================== statements

    def block(self, stmts: Iterable[ir.Stmt], state: State | None) -> State | None:
        """Run statements; None means no normal exit (return/raise/break/continue)."""
        for stmt in stmts:
            if state is None:
                return None
            state = self.stmt(stmt, state)
        return state

    def stmt(self, stmt: ir.Stmt, state: State) -> State | None:
        self.current_loc = stmt.loc
        t = type(stmt)  # exact types: IR classes have no subclasses
        if t is ir.ExprStmt:
            expr = stmt.expr
            if isinstance(expr, ir.Attr) and expr.attr in ("eval", "train"):
                # `model.eval` without parentheses: a no-op statement.
                recv = self.expr(expr.value, state)
                # Any object's `.train`/`.eval` as a statement is a no-op (also `trainer.train`);
                # a module namespace (`np.eval`) is not an object.
                if recv.sym is None:
                    self._event("bare-mode-attr", stmt.loc, path_text(expr.value) or "model", expr.attr)
                return state
            self.expr(stmt.expr, state)
            return state
        if t is ir.Assign:
            value = self.expr(stmt.value, state)
            for target in stmt.targets:
                self.assign(target, value, state, stmt.value)
            return state
        if t is ir.If:
            return self.if_stmt(stmt, state)
        if t is ir.Loop:
            return self.loop(stmt, state)
        if t is ir.With:
            return self.with_stmt(stmt, state)
        if t is ir.Try:
            return self.try_stmt(stmt, state)
        if t is ir.Match:
            self.expr(stmt.subject, state)
            outs = [self.block(case, state.copy()) for case in stmt.cases]
            if not stmt.exhaustive:
                outs.append(state)
            live = [s for s in outs if s is not None]
            return self.join_branches(state, live) if live else None
        if t is ir.Return:
            value = self.expr(stmt.value, state) if stmt.value is not None else NOTHING
            self._mark_used(value)
            self._scripted_saved(value, returned=True)
            self.returns.append(value)
            self.return_states.append(state)
            return None
        if t is ir.Raise:
            return None
        if t is ir.Break:
            self.breaks[-1].append(state)
            return None
        if t is ir.Continue:
            self.continues[-1].append(state)
            return None
        if t is ir.Delete:
            for target in stmt.targets:
                if isinstance(target, ir.Name):
                    state.vars.pop(self._var_key(target.id), None)
                elif isinstance(target, ir.Subscript):
                    self._forget_keys(target.value, state)  # `del nets["decoder"]`
            return state
        if t is ir.DefStmt:
            key = func_key(self.module, stmt.qualname)
            kind = "class" if key in self.ctx.index.classes else "function"
            state.vars[self._var_key(stmt.name)] = Value(sym=Symbol(kind, key))
            return state
        return state

    def if_stmt(self, stmt: ir.If, state: State) -> State | None:
        saved = self._saved_flag_test(stmt.test, state)
        self.expr(stmt.test, state)
        narrowed = self._isinstance_test(stmt.test)
        tested_modules, negated = self._module_type_test(stmt.test, state)
        flag = _flag_test(stmt.test)
        then_entry, else_entry = state.copy(), state.copy()
        recalled = self._recall_flag_modes(flag, state, then_entry, else_entry) if flag and state.conds else []
        # (Only functional dropout in a module's methods reads `training_only`.)
        training_branch = training_test(stmt.test) if self.in_module_class else None
        guard = flag if flag is not None and flag[0].startswith("self.") else None
        returns_before = len(self.return_states)
        then_state = self._branch(stmt.body, then_entry, training_branch is True, narrowed, guard)
        returns_between = len(self.return_states)
        else_state = self._branch(
            stmt.orelse, else_entry, training_branch is False, None, (guard[0], not guard[1]) if guard else None
        )
        if tested_modules:
            # `if isinstance(m, nn.Module): m.eval()`: where `m` is not a module it has no mode,
            # so after the `if` its mode is the one the module branch left, not "eval or unchanged".
            if negated:
                not_module = [then_state, *self.return_states[returns_before:returns_between]]
            else:
                not_module = [else_state, *self.return_states[returns_between:]]
            for branch in not_module:
                if branch is not None:
                    for obj in tested_modules:
                        self.set_mode(branch, obj, M.BOTTOM)
        if saved is not None and then_state is not None:
            # `if was_training: model.train()` restores the saved mode: on the other branch the
            # model was not training when saved, so its mode there is the saved one too.
            objs, mode = saved
            for obj in objs:
                if self.mode_of(then_state, obj).kinds() == {M.TRAIN}:
                    self.set_mode(then_state, obj, mode)
                    if else_state is not None and self.mode_of(else_state, obj).kinds() <= {M.EVAL}:
                        self.set_mode(else_state, obj, mode)
        branches = [s for s in (then_state, else_state) if s is not None]
        if not branches:
            return None
        joined = self.join_branches(state, branches)
        if flag is not None and then_state is not None and else_state is not None:
            self._remember_flag_modes(flag, then_state, else_state, joined)
        for key, cond, then_mode, else_mode in recalled:
            # Neither branch switched it: the mode still depends on the flag as before the `if`.
            obj = key[1]
            if all(s is None or s.modes.get(obj) is m for s, m in ((then_state, then_mode), (else_state, else_mode))):
                joined.modes[obj] = cond[2]
                joined.conds = {**joined.conds, key: cond}
        if state.unfrozen and joined.unfrozen:
            # `model.train()` then `if cfg.freeze_bn: model.backbone.eval()`: a part re-frozen on
            # one branch is re-frozen on purpose (frozen under the same condition, as a rule).
            refrozen = {u for u in state.unfrozen if any(u not in b.unfrozen for b in branches)}
            if refrozen:
                joined.unfrozen = joined.unfrozen - refrozen
        return joined

    def _branch(
        self,
        body: tuple[ir.Stmt, ...],
        state: State,
        training_only: bool,
        narrowed: tuple[str, tuple[str, ...]] | None,
        guard: tuple[str, bool] | None = None,
    ) -> State | None:
        """One branch of an `if`, inside a training-only branch, an `isinstance` narrowing and
        a `self.<flag>` test when the test says so."""
        self.training_only += training_only
        if narrowed is not None:
            self.narrowed.append(narrowed)
        if guard is not None:
            self.flag_guards.append(guard)
        try:
            return self.block(body, state)
        finally:
            self.training_only -= training_only
            if narrowed is not None:
                self.narrowed.pop()
            if guard is not None:
                self.flag_guards.pop()

    def _remember_flag_modes(self, flag: tuple[str, bool], then_state: State, else_state: State, joined: State) -> None:
        """`if args.distill: teacher.eval()`: the teacher's mode now depends on the flag; a later
        `if args.distill:` sees the mode of the branch where the flag held (see `_recall_flag_modes`)."""
        text, positive = flag
        conds = None
        then_modes, else_modes = then_state.modes, else_state.modes
        for obj in set(then_modes) | set(else_modes):
            mine = then_modes.get(obj)
            if mine is not None and mine is else_modes.get(obj):
                continue  # the same entry in both branches: not switched by either
            held, other = self.mode_of(then_state, obj), self.mode_of(else_state, obj)
            if held == other:
                continue
            if not positive:
                held, other = other, held
            if conds is None:
                conds = dict(joined.conds)
            conds[(text, obj)] = (held, other, self.mode_of(joined, obj))
        if conds is not None:
            joined.conds = conds

    def _recall_flag_modes(
        self, flag: tuple[str, bool], state: State, then_entry: State, else_entry: State
    ) -> list[tuple[tuple[str, str], tuple[ModeVal, ModeVal, ModeVal], ModeVal, ModeVal]]:
        """Branches of a test repeated from an earlier `if` take the modes that `if` left on the
        same side, for objects not switched since (their mode is still the joined one). The flag
        is assumed not to change in between: a name or attribute path (`args.distill`,
        `self.use_ema`), a configuration rather than a computed value."""
        text, positive = flag
        recalled = []
        for (cond_text, obj), (held, other, joined) in state.conds.items():
            if cond_text != text or self.mode_of(state, obj) != joined:
                continue
            then_mode, else_mode = (held, other) if positive else (other, held)
            then_entry.modes[obj], else_entry.modes[obj] = then_mode, else_mode
            recalled.append(((cond_text, obj), (held, other, joined), then_mode, else_mode))
        return recalled

    def _module_type_test(self, test: ir.Expr, state: State) -> tuple[list[str], bool]:
        """(the objects tested, negated) for `isinstance(m, nn.Module)` / `not isinstance(...)`."""
        negated = type(test) is ir.Not
        call = _isinstance_call(test.operand if negated else test)  # type: ignore[union-attr]
        if call is None:
            return [], False
        name = dotted_name(call.args[1])
        sym = self.ctx.index.resolve_name(name, self.facts, self.fn.imports) if name else None
        if sym is None or sym.kind != "external" or sym.target not in K.TORCH_MODULE_CLASSES:
            return [], False
        return sorted(self.expr(call.args[0], state).objs), negated

    def _isinstance_test(self, test: ir.Expr) -> tuple[str, tuple[str, ...]] | None:
        """`isinstance(m, C)` / `isinstance(m, (C, D))` with project classes: (`m`, class keys)."""
        call = _isinstance_call(test)
        if call is None:
            return None
        subject = path_text(call.args[0])
        kinds = call.args[1].elts if isinstance(call.args[1], ir.Seq) else (call.args[1],)
        keys = []
        for kind in kinds:
            name = dotted_name(kind)
            sym = self.ctx.index.resolve_name(name, self.facts, self.fn.imports) if name else None
            if sym is None or sym.kind != "class":
                return None
            keys.append(sym.target)
        return (subject, tuple(keys)) if subject else None

    def _narrowed_classes(self, path: str) -> tuple[str, ...]:
        for subject, keys in reversed(self.narrowed):
            if subject == path:
                return keys
        return ()

    def _saved_flag_test(self, test: ir.Expr, state: State) -> tuple[frozenset[str], ModeVal] | None:
        if isinstance(test, ir.Name):
            value = state.vars.get(self._var_key(test.id))
            if value is not None and value.saved is not None:
                return value.saved
        return None

    def join_branches(self, before: State, branches: list[State]) -> State:
        """Join branch states; a reference set to train in one branch and eval in the other (a
        flag-dependent mode, as in `if is_train: m.train() else: m.eval()`) becomes UNKNOWN."""
        if len(branches) == 1:
            return branches[0]
        joined = _join_all(branches)
        if len(branches) == 2 and branches[0].modes != branches[1].modes:
            a, b = branches
            a_modes, b_modes = a.modes, b.modes
            for obj in set(a_modes) | set(b_modes):
                mine = a_modes.get(obj)
                if mine is not None and mine is b_modes.get(obj):
                    continue  # the same entry in both branches: not switched differently
                pre = self.mode_of(before, obj)
                ma, mb = self.mode_of(a, obj), self.mode_of(b, obj)
                if ma == pre or mb == pre:
                    continue
                ka, kb = ma.kinds(), mb.kinds()
                if {frozenset(ka), frozenset(kb)} == {frozenset({M.TRAIN}), frozenset({M.EVAL})}:
                    origin = min(ma.train or ma.eval, mb.train or mb.eval)  # type: ignore[type-var]
                    joined.modes[obj] = M.only(M.UNKNOWN, replace(origin, what="a flag-dependent switch"))
        return joined

    def loop(self, stmt: ir.Loop, state: State) -> State | None:
        self.loop_counter += 1
        loop_id = self.loop_counter
        generator_exits: list = []
        if stmt.iter is not None:
            # `for batch in inference_batches(model, loader):` runs the body where the generator
            # yields, and the rest of it (a restore in its `finally`) once the loop is over.
            exits_before = len(self.with_exits)
            self.entering_block = stmt.iter if type(stmt.iter) is ir.Call else None
            iter_value = self.expr(stmt.iter, state)
            self.entering_block = None
            generator_exits = self.with_exits[exits_before:]
            del self.with_exits[exits_before:]
        else:
            iter_value = NOTHING
            self.expr(stmt.test, state)  # type: ignore[arg-type]
        head = state
        last = self.loop_fixpoints.get(id(stmt))
        if last is not None:
            # Entered again (the next iteration of an enclosing loop) with at least what it was
            # entered with last time: its fixpoint then is below its fixpoint now, so the iteration
            # starts there instead of climbing the same steps again (nested loops would cost the
            # product of their iteration counts).
            last_entry, last_head = last
            if _join_all([state, last_entry]).same(state):
                head = _join_all([state, last_head])
        entry = state.copy()
        exits: list[State] = []
        # States at the end of an iteration: the loop's normal exit. Loops are taken to run at
        # least once — after `for epoch in ...: train(); evaluate()` the model is in eval mode,
        # and reporting the zero-iteration path would be noise.
        after_iteration: State | None = None
        self.loop_stack.append(loop_id)
        self.loop_spans.add((stmt.loc.line, stmt.loc.end_line))
        self.loop_lines.append((stmt.loc.line, stmt.body[0].loc.line if stmt.body else 0))
        self.loop_ends.append(stmt.loc.end_line)
        for _ in range(MAX_LOOP_ITERATIONS):
            body_state = head.copy()
            if stmt.target is not None:
                self.assign(stmt.target, self._element_of(iter_value), body_state, None)
            self.breaks.append([])
            self.continues.append([])
            end = self.block(stmt.body, body_state)
            breaks = self.breaks.pop()
            continues = self.continues.pop()
            exits = breaks
            back = [s for s in (end, *continues) if s is not None]
            if back:
                after_iteration = _join_all(back if after_iteration is None else [after_iteration, *back])
            new_head = _join_all([head, *back]) if back else head
            if new_head.same(head):
                break
            head = new_head
        self.loop_stack.pop()
        self.loop_lines.pop()
        self.loop_ends.pop()
        self.loop_fixpoints[id(stmt)] = (entry, head.copy())
        if stmt.test is not None:
            self.expr(stmt.test, head)
        if isinstance(stmt.test, ir.Const) and stmt.test.value is True:
            # `while True:` ends only through break (or return/raise).
            normal: State | None = None
        else:
            exit_state = after_iteration if after_iteration is not None else head
            normal = self.block(stmt.orelse, exit_state.copy()) if stmt.orelse else exit_state
        outs = [s for s in (normal, *exits) if s is not None]
        if not outs:
            return None
        out = _join_all(outs)
        for effects, pre, resolve, callee, node in reversed(generator_exits):
            self._apply_effects(effects, out, pre, resolve, callee, node)
        return out

    def _element_of(self, iterable: Value) -> Value:
        if iterable.elts is not None:
            out = NOTHING
            for elt in iterable.elts:
                out = out.join(elt)
            return out
        # Iterating a container of models (`for m in models`) yields those models; parameters
        # yield parameters.
        return Value(
            objs=iterable.objs if iterable.sym is None else frozenset(), taint=iterable.taint, params_of=iterable.params_of
        )

    def with_stmt(self, stmt: ir.With, state: State) -> State | None:
        outer = self.no_grad
        restores: list[tuple[str, ModeVal]] = []
        exits_before = len(self.with_exits)
        self.with_depth += 1
        try:
            return self._with_block(stmt, state, outer, restores, exits_before)
        finally:
            self.with_depth -= 1

    def _enter_context(self, node: ir.Call, state: State) -> Value:
        """`stack.enter_context(cm)` inside a `with ExitStack() as stack:` block (detectron2's
        `inference_context`, `torch.no_grad()`): `cm` is entered here and left where the
        enclosing `with` block ends, like a `with` of its own."""
        inner = node.args[0]
        if self._is_no_grad_ctx(inner, state):
            self._enter_no_grad(self.current_loc.line)
        self.entering_block = inner if type(inner) is ir.Call else None
        try:
            return self.expr(inner, state)
        finally:
            self.entering_block = None

    def _enter_no_grad(self, line: int) -> None:
        if not self.no_grad:
            self.no_grad_line = line
        self.no_grad = True

    def _with_block(
        self, stmt: ir.With, state: State, outer: bool, restores: list[tuple[str, ModeVal]], exits_before: int
    ) -> State | None:
        # Objects of project classes entered, with what their `__enter__` switched (and from what).
        guards: list[tuple[ir.Expr, Value, list[tuple[str, ModeVal]]]] = []
        for ctx_expr, target in stmt.items:
            mode_ctx = self._mode_context(ctx_expr, state)
            if mode_ctx is not None:
                # `with eval_mode(model):` switches for the block and restores afterwards.
                assert isinstance(ctx_expr, ir.Call)
                args, _ = self.eval_args(ctx_expr, state)
                origin = self._origin(ctx_expr.loc, f"{path_text(ctx_expr.func)}(...)")
                for arg in args:
                    for obj in arg.objs:
                        restores.append((obj, self.mode_of(state, obj)))
                        self.set_mode(state, obj, M.only(mode_ctx, origin))
                value = NOTHING
            else:
                self.entering_block = ctx_expr if type(ctx_expr) is ir.Call else None
                value = self.expr(ctx_expr, state)
                self.entering_block = None
                before = state.copy()
                entered = self._guard_method(ctx_expr, "__enter__", value, state, stmt.loc)
                if entered is not None:
                    switched = [(o, self.mode_of(before, o)) for o, m in state.modes.items() if before.modes.get(o) is not m]
                    guards.append((ctx_expr, value, switched))
                    value = entered  # what `as` binds
            if self._is_no_grad_ctx(ctx_expr, state):
                self._enter_no_grad(stmt.loc.line)
            elif self._is_grad_enabling_ctx(ctx_expr):
                self.no_grad = False
            if target is not None:
                self.assign(target, value, state, ctx_expr)
        saved_line = self.no_grad_line
        # Exits from inside the block (return, break, continue) leave it too: what it restores
        # applies to them as to its normal end.
        leaving = [(self.return_states, len(self.return_states))]
        if self.breaks:
            leaving += [(self.breaks[-1], len(self.breaks[-1])), (self.continues[-1], len(self.continues[-1]))]
        end = self.block(stmt.body, state)
        self.no_grad = outer
        if not outer:
            self.no_grad_line = 0
        else:
            self.no_grad_line = saved_line
        exits = self.with_exits[exits_before:]
        del self.with_exits[exits_before:]
        if guards or restores or exits:
            for states, start in leaving:
                for left in states[start:]:
                    self._leave_with(stmt, left, guards, restores, exits)
            if end is not None:
                self._leave_with(stmt, end, guards, restores, exits)
        return end

    def _leave_with(
        self,
        stmt: ir.With,
        state: State,
        guards: list[tuple[ir.Expr, Value, list[tuple[str, ModeVal]]]],
        restores: list[tuple[str, ModeVal]],
        exits: list,
    ) -> None:
        """What a `with` statement does as the block ends: guards' `__exit__`, the modes held by
        mode context managers put back, the rest of `@contextmanager` helpers."""
        for ctx_expr, guard, switched in reversed(guards):
            self._guard_method(ctx_expr, "__exit__", guard, state, stmt.loc)
            if switched and self._restores_some_flag(guard, state):
                # An `__exit__` that puts back flags it saved in a way not followed (per module,
                # `for m, flag in self.saved: m.train(flag)`): what `__enter__` switched is back.
                for obj, mode in switched:
                    self.set_mode(state, obj, mode)
        for obj, mode in reversed(restores):
            self.set_mode(state, obj, mode)
        for effects, pre, resolve, callee, node in reversed(exits):
            # The rest of a `@contextmanager` helper: its whole-body effects, from where it began.
            self._apply_effects(effects, state, pre, resolve, callee, node)

    def _restores_some_flag(self, guard: Value, state: State) -> bool:
        """Does the guard's `__exit__` (or a method of its class it calls) set a mode from a saved
        value, `m.train(flag)` or `m.training = flag`?"""
        exit_key = self._resolve_method(guard, "__exit__", state)
        if exit_key is None:
            return False
        memo = self.ctx.flag_restorers
        if exit_key not in memo:
            index = self.ctx.index
            class_key = exit_key.rpartition(".")[0]
            keys = [exit_key]
            for name in sorted(index.functions[exit_key].called_names):
                head, _, meth = name.partition(".")
                found = index.find_method(class_key, meth) if head == "self" and meth and "." not in meth else None
                if found is not None:
                    keys.append(found)
            memo[exit_key] = any(_sets_mode_from_value(index.functions[k].body) for k in keys)
        return memo[exit_key]

    def _guard_method(self, ctx_expr: ir.Expr, name: str, guard: Value, state: State, loc: Loc) -> Value | None:
        """`with Guard(model):` on an object of a project class: its `__enter__` runs before the
        block, its `__exit__` after it (a guard that saves the mode and restores it, or one that
        forgets to). The value `__enter__` returns is what `as` binds. None when the object has
        no such method (or is of no known class)."""
        if not guard.objs:
            return None
        target = self._resolve_method(guard, name, state)
        if target is None:
            return None
        label = path_text(ctx_expr.func if type(ctx_expr) is ir.Call else ctx_expr) or "guard"
        node = ir.Call(ir.Attr(ir.Name(label), name), (), (), loc)
        return self.call_project(node, target, [], {}, guard, state)

    def _mode_context(self, expr: ir.Expr, state: State) -> str | None:
        """`eval_mode(model)` / `train_mode(model)` style context managers (evalguard's own,
        MONAI's, most projects'): the mode they hold for the block, by name -- unless the project
        defines it and its summary says what it does where it yields (one that forgets to
        restore is a bug)."""
        if not isinstance(expr, ir.Call) or not expr.args:
            return None
        mode = _mode_context_kind(expr.func)
        if mode is None:
            return None
        sym = self._project_symbol(expr.func, state)
        if sym is not None and sym.kind == "class" and self.ctx.index.find_method(sym.target, "__enter__") is not None:
            return None  # a project guard class: its `__enter__`/`__exit__` say what it does
        key = self._project_function(expr.func, state)
        if key is not None:
            if self.on_call is not None:
                self.on_call(key)  # (its summary decides: analyse this again when it changes)
            entered = self.ctx.summary(key).enter_effects
            # (Effects on `*models` cannot be bound to the arguments: the name says more then.)
            packed = {p.name for p in self.ctx.index.functions[key].params if p.kind in ("star", "dstar")}
            if entered and not any(path.partition(".")[0] in packed for path, _ in entered):
                return None
        return mode

    def _mode_decorated_param(self, state: State) -> tuple[str, str, Origin, bool] | None:
        """`@eval_mode def evaluate(model, loader)`: a decorator that runs the function with its
        first argument in a mode -- named like the mode context managers (read as `with
        eval_mode(model):` is: restored after), or a project decorator whose wrapper switches its
        first argument first (restored when the wrapper leaves it as it found it: `was =
        m.training; m.eval(); try: return fn(m, ...) finally: m.train(was)`). (parameter, mode,
        origin, restored), or None."""
        if self.fn.kind != "function" or not self.fn.params or self.fn.params[0].kind not in ("pos", "posonly"):
            return None
        for dec in self.fn.decorators:
            target = dec.func if type(dec) is ir.Call else dec
            mode = _mode_context_kind(target)
            restores = True
            if mode is None and type(dec) is not ir.Call:
                mode, restores = self._wrapper_switch(target, state)
            if mode is not None:
                return self.fn.params[0].name, mode, self._origin(self.fn.loc, f"@{path_text(target)}"), restores
        return None

    def _wrapper_switch(self, decorator: ir.Expr, state: State) -> tuple[str | None, bool]:
        """The mode a project decorator's wrapper (the nested function it returns) switches its
        first argument to before anything else (None: it does not), and whether its summary says
        the argument ends as it came in (restored)."""
        key = self._project_function(decorator, state)
        found = self.ctx.index.mode_switching_wrapper(key) if key is not None else None
        if found is None:
            return None, False
        wrapper_key, first, mode = found
        if self.on_call is not None:
            self.on_call(wrapper_key)  # (analyse this again when its summary changes)
        return mode, all(path.partition(".")[0] != first for path, _ in self.ctx.summary(wrapper_key).effects)

    def _project_function(self, func: ir.Expr, state: State) -> str | None:
        """The key of this callee (a name or dotted path) when it is a function of the checked
        project."""
        sym = self._project_symbol(func, state)
        if sym is not None and sym.kind == "function" and sym.target in self.ctx.index.functions:
            return sym.target
        return None

    def _project_symbol(self, func: ir.Expr, state: State) -> Symbol | None:
        """What a callee named by a name or dotted path resolves to (None: neither)."""
        if type(func) is ir.Name:
            return self.read_name(func.id, state).sym
        if type(func) is ir.Attr and (base := dotted_name(func.value)) is not None:
            head = self.read_name(base.split(".")[0], state).sym
            return self.ctx.index.resolve_dotted(head, [*base.split(".")[1:], func.attr]) if head is not None else None
        return None

    def try_stmt(self, stmt: ir.Try, state: State) -> State | None:
        before = state.copy()
        # Exits from inside the block (return, break, continue) run the `finally` on their way
        # out: `try: ... return score finally: model.train(was_training)` restores the mode.
        exits = [(self.return_states, len(self.return_states))]
        if self.breaks:
            exits += [(self.breaks[-1], len(self.breaks[-1])), (self.continues[-1], len(self.continues[-1]))]
        body_end = self.block(stmt.body, state)
        outs: list[State] = []
        if body_end is not None:
            normal = self.block(stmt.orelse, body_end) if stmt.orelse else body_end
            if normal is not None:
                outs.append(normal)
        handler_entry = _join_all([before, body_end]) if body_end is not None else before
        for handler in stmt.handlers:
            out = self.block(handler, handler_entry.copy())
            if out is not None:
                outs.append(out)
        if stmt.finalbody:
            for states, start in exits:
                leaving = states[start:]
                del states[start:]
                for exit_state in leaving:
                    after = self.block(stmt.finalbody, exit_state)
                    if after is not None:
                        states.append(after)
        if not outs:
            if stmt.finalbody:
                self.block(stmt.finalbody, handler_entry.copy())
            return None
        joined = _join_all(outs)
        if stmt.finalbody:
            return self.block(stmt.finalbody, joined)
        return joined

    # ================================================================== assignment

    def assign(self, target: ir.Expr, value: Value, state: State, source: ir.Expr | None) -> None:
        if isinstance(target, ir.Name):
            key = self._var_key(target.id)
            if target.id in self.evidence_names or target.id in self.ctx.model_names:
                if not value.objs and value.sym is None and type(source) is ir.Call:
                    value = self._untracked_model(source, value, state)
                self._upgrade_evidence(value, state)
            state.vars[key] = value
        elif isinstance(target, ir.Attr):
            holders = self.expr(target.value, state)
            if (
                target.attr == "training"
                and (not isinstance(source, ir.Const) or isinstance(source.value, bool))
                and self._sets_one_module_flag(holders, state, path_text(target.value), type(source) is ir.Const)
            ):
                self._event("training-assign", self.current_loc, path_text(target.value) or "module")
            if holders.objs:
                if value.objs and f"{path_text(target)}" in self.evidence_names:
                    self._upgrade_evidence(value, state)
                self._keep_snapshot(holders.objs, target.attr, value, state)
                for holder in holders.objs:
                    # A strong update when there is one holder; otherwise add to what was there.
                    key = (holder, target.attr)
                    if len(holders.objs) == 1:
                        state.fields[key] = value.objs
                        _drop_children(state.modes, f"{holder}.{target.attr}")
                    else:
                        state.fields[key] = state.fields.get(key, frozenset()) | value.objs
        elif isinstance(target, ir.Seq):
            elements = value.elts
            starred = any(isinstance(e, ir.Starred) for e in target.elts)
            for i, elt in enumerate(target.elts):
                if elements is not None and not starred and len(elements) == len(target.elts):
                    part = elements[i]
                else:
                    part = Value(taint=value.taint, params_of=value.params_of)
                self.assign(elt, part, state, None)
        elif isinstance(target, ir.Starred):
            self.assign(target.value, Value(taint=value.taint), state, None)
        elif isinstance(target, ir.Subscript):
            self.expr(target.value, state)
            self.expr(target.index, state)
            self._forget_keys(target.value, state)  # `nets["decoder"] = other`
            if value.taint:
                self._into_container(target.value, value.taint, state)  # `outputs[k] = model(x)`

    @staticmethod
    def _keep_snapshot(holders: frozenset[str], attr: str, value: Value, state: State) -> None:
        """`self.was = self.model.training`: the field holds the mode the model has now, for a
        later `self.model.train(self.was)` here or in another method (a guard's `__exit__`)."""
        keys = [(holder, attr) for holder in holders]
        if value.saved is not None and not value.objs:
            state.snaps = {**state.snaps, **{key: (value.saved[0], value.saved[1], value.restorer) for key in keys}}
        elif state.snaps and any(key in state.snaps for key in keys):
            state.snaps = {k: v for k, v in state.snaps.items() if k not in keys}

    def _bound_restorer(self, node: ir.IfExp, test: Value, state: State) -> Value | None:
        """`model.train if model.training else model.eval`: the bound method that puts the model
        back in the mode it has now (a guard keeps it, to call on exit)."""
        body, orelse = node.body, node.orelse
        if test.saved is None or type(body) is not ir.Attr or type(orelse) is not ir.Attr:
            return None
        if body.attr != "train" or orelse.attr != "eval" or body.value != orelse.value:
            return None
        base = self.expr(body.value, state)
        if not base.objs or base.objs != test.saved[0]:
            return None
        return Value(saved=test.saved, restorer=True)

    def _restore_saved(self, state: State, saved: tuple[frozenset[str], ModeVal]) -> None:
        for obj in sorted(saved[0]):
            self.set_mode(state, obj, saved[1])

    def _forget_keys(self, container: ir.Expr, state: State) -> None:
        """A local dict display changed in place: its values are no longer known by key."""
        if type(container) is not ir.Name:
            return
        key = self._var_key(container.id)
        old = state.vars.get(key)
        if old is not None and old.keys is not None:
            state.vars[key] = replace(old, elts=None, keys=None)

    def _into_container(self, container: ir.Expr, taint: frozenset[str], state: State) -> None:
        """A forward's output stored in a local list or dict (`values.append(value)`): what is
        later read from it (`torch.stack(values)`) carries that forward, so a loss built from it
        makes the forward a training step."""
        if type(container) is not ir.Name:
            return
        key = self._var_key(container.id)
        old = state.vars.get(key)
        if old is None or not (taint - old.taint):
            return
        state.vars[key] = replace(old, taint=old.taint | taint)

    def _sets_one_module_flag(self, holders: Value, state: State, path: str | None = None, literal: bool = True) -> bool:
        """`x.training = ...` on a module reference. In a class's own train() override, only on
        a submodule attribute (`self.backbone.training = False` after `super().train(mode)` leaves
        the backbone's BatchNorm children training); `self.training = mode` there, or on loop
        variables over modules, is how the override does its job."""
        if self.fn.name == "train" and self.fn.class_qualname is not None:
            if not path or not self._built_with_children(path):
                return False
        if not holders.objs:
            return False
        narrowed = self._narrowed_classes(path) if path else ()
        if narrowed and all(self._reads_own_flag(key) for key in narrowed):
            # Under `isinstance(m, Detect)` where Detect's own code branches on `self.training`:
            # flipping that one flag (e.g. for a head's training outputs) is the point.
            return False
        if all(_is_self_rooted(o) for o in holders.objs) and self.fn.class_qualname is not None:
            if not literal and (self.fn.name == "__init__" or (path != "self" and not (path and self._built_with_children(path)))):
                # A flag copied (`self.config.training = self.training`, a constructor's `self.training
                # = root.training`): only a submodule built with children is known to be a module.
                return False
            # Only a class known to subclass nn.Module (not e.g. a Keras layer).
            class_key = func_key(self.module, self.fn.class_qualname)
            if path == "self" and self._reads_own_flag(class_key) and _restores_flag(self.fn.body, "self"):
                # `was = self.training; self.training = False; super().forward(...); self.training
                # = was`: the class's own code branches on the flag, flipped for one call.
                return False
            is_module, sensitive = self.ctx.index.class_props(class_key)
            # A module with nothing mode-dependent inside (convolutions, activations) behaves the
            # same whatever its children's flags: setting its own flag is harmless.
            return self.fn.kind == "instance" and is_module is True and sensitive
        # A leaf or a module with nothing mode-dependent inside: setting its flag changes nothing.
        if self._is_model_value(holders, state) and self._objs_sensitive(holders.objs):
            return True
        if len(holders.objs) == 1 and self._passed_sensitive_models(next(iter(holders.objs)), self.key):
            return True  # `def apply_mode(model, mode): model.training = mode.training`
        # A pickled model (`torch.load(path)`): only a module has a training flag to set.
        return all(
            o == root_of(o) and (info := self.info_of(o)) is not None and info.label == _LOADED_LABEL
            for o in holders.objs
        )

    def _passed_sensitive_models(self, obj: str, key: str, depth: int = 0) -> bool:
        """`obj` is a parameter of function `key` for which the project's callers pass only
        mode-sensitive models (through their own parameters too, a few calls up). A function
        handed to `model.apply(fn)` has no such callers: it is called with every submodule."""
        param = entry_path(obj)
        fn = self.ctx.index.functions[key]
        if param is None or param == "self" or "." in param or all(p.name != param for p in fn.params):
            return False
        if not self.ctx.passed_objects(key, param, reader=self.key):  # (analysed again when it grows)
            return False
        for caller, objs in sorted(self.ctx.param_sources.get((key, param), {}).items()):
            for other in objs:
                if other.startswith("E:"):
                    # The caller's own parameter: what its callers pass.
                    if depth >= 3 or not self._passed_sensitive_models(other, caller, depth + 1):
                        return False
                    continue
                info = self.info_of(other)
                if info is None or info.is_module is not True or not info.sensitive:
                    return False
        return True

    def _built_with_children(self, path: str) -> bool:
        """`self.<attr>` is assigned, in this class's constructor, a module with children of its
        own (`nn.Sequential(...)`, a project model, a factory's network), not a single layer (for
        a BatchNorm layer, setting its own flag is enough)."""
        parts = path.split(".")
        if len(parts) != 2 or parts[0] != "self" or self.fn.class_qualname is None:
            return False
        init = self.ctx.index.find_method(func_key(self.module, self.fn.class_qualname), "__init__")
        init_fn = self.ctx.index.functions.get(init) if init is not None else None
        if init_fn is None or init_fn.class_qualname != self.fn.class_qualname:
            return False
        for stmt in ir.walk_statements(init_fn.body):
            if type(stmt) is not ir.Assign or type(stmt.value) is not ir.Call:
                continue
            if any(type(t) is ir.Attr and t.attr == parts[1] and path_text(t.value) == "self" for t in stmt.targets):
                built = self._qualify(stmt.value.func) or ""
                nn_class = K.torch_nn_class(built)
                if nn_class is not None:
                    return nn_class in K.TORCH_NN_CONTAINERS
                # A factory's network, or a class (a project function may build anything).
                return bool(built) and (K.is_factory(built) or self._project_function(stmt.value.func, State()) is None)
        return False

    def _reads_own_flag(self, class_key: str) -> bool:
        index = self.ctx.index
        return any(index.classes[key].reads_training_flag for key in index.mro(class_key))

    def _upgrade_evidence(self, value: Value, state: State) -> None:
        """A constructed object of an unknown class used as a module (`.parameters()`, `.eval()`):
        it is a module, in train mode from construction."""
        for obj in value.objs:
            info = self.ctx.allocs.get(obj)
            if info is None:
                continue
            self.ctx.read_quietly(obj, self.key)
            if info.wrapper:
                continue
            if info.is_module is None:
                self.ctx.upgraded.add(obj)
                self.ctx.set_alloc(obj, info, self.key)
            if obj in self.ctx.upgraded:
                current = state.modes.get(obj)
                if current is not None and current.kinds() == {M.UNKNOWN}:
                    state.modes[obj] = M.only(M.TRAIN, replace(current.unknown, explicit=False))  # type: ignore[arg-type]

    # ================================================================== names and objects

    def _var_key(self, name: str) -> str:
        if self._plain_names:
            return name
        if self.is_module_body:
            return f"G:{self.module}|{name}"
        if name in self.fn.global_names:
            return f"G:{self.module}|{name}"
        return name

    def read_name(self, name: str, state: State) -> Value:
        value = state.vars.get(name if self._plain_names else self._var_key(name))
        if value is not None:
            return value
        if self.is_module_body or name in self.fn.local_names:
            # A local read before any assignment we saw (loop variables, comprehension names).
            if self.is_module_body:
                sym = self.ctx.index.lookup_global(self.module, name)
                if sym is not None and sym.kind != "global":
                    return Value(sym=sym)
                for binding in reversed(self.facts.imports):
                    if binding.local == name:
                        return Value(sym=self.ctx.index.resolve_import(binding, self.facts))
            return NOTHING
        for binding in reversed(self.fn.imports):
            if binding.local == name:
                return Value(sym=self.ctx.index.resolve_import(binding, self.facts))
        parent = self.fn.parent
        while parent is not None:
            parent_fn = self.ctx.index.functions.get(func_key(self.module, parent))
            if parent_fn is None:
                break
            if name in parent_fn.local_names:
                key = f"C:{parent}|{name}"
                return self._entry_var(key, state)
            parent = parent_fn.parent
        sym = self.ctx.index.lookup_global(self.module, name)
        if sym is None:
            return NOTHING
        if sym.kind == "global":
            return self._entry_var(sym.target, state)
        return Value(sym=sym)

    def _entry_var(self, key: str, state: State) -> Value:
        value = state.vars.get(key)
        if value is None:
            value = Value(objs=frozenset({f"E:{key}"}))
            state.vars[key] = value
        return value

    def attr_objs(self, state: State, objs: frozenset[str], attr: str) -> frozenset[str]:
        out: set[str] = set()
        for obj in objs:
            bound = state.fields.get((obj, attr))
            if bound is not None:
                out |= bound
            elif attr in ("module", "_orig_mod") and not self._plain_object(obj):
                # DataParallel/DDP `.module`, torch.compile `._orig_mod`: the same model, the same
                # mode (on an object of a project class that is no module, a field of its own).
                out.add(obj)
                if obj.startswith("E:") and "." not in obj and obj != "E:self":
                    # A parameter may also be such a plain object (an EMA helper holding its copy
                    # as `.module`): its caller resolves that path too.
                    out.add(f"{obj}.{attr}")
            elif obj.count(".", len(root_of(obj))) >= MAX_PATH_ATTRS:
                # k-limiting: `while hasattr(m, "module"): m = m.module` must not grow paths forever.
                out.add(UNKNOWN_OBJ)
            else:
                out.add(f"{obj}.{attr}")
        return _capped(frozenset(out))

    def mode_of(self, state: State, obj: str) -> ModeVal:
        mode = state.modes.get(obj)
        if mode is not None:
            return mode
        if obj.startswith("E:"):
            parent = _parent(obj)
            if parent is None:
                return M.entry(obj[2:])
            # A sub-reference of an entry object has its own entry mode unless the parent was switched.
            parent_mode = state.modes.get(parent)
            if parent_mode is not None or _has_set_ancestor(state.modes, parent):
                return self.mode_of(state, parent)
            return M.entry(obj[2:])
        parent = _parent(obj)
        if parent is not None:
            return self.mode_of(state, parent)
        return M.only(M.UNKNOWN, Origin(self.path, 0, 0, "an unknown value"))

    def _note_unfreezing(self, state: State, recv: Value, loc: Loc, label: str, path: str = "") -> None:
        """`model.train()` while a submodule was frozen with its own eval(): it is trained again
        unless frozen anew before the next training step (checked there). `path`: the file of a
        train() that ran inside a callee (`train_one_epoch(model)` starting with `model.train()`),
        reported there; "" for one in this function. On an entry reference (a parameter,
        `self.model`), what the caller froze is not known here: a placeholder child stands for
        it, and a training step turns it into a summary entry for the callers (`unfreezes`)."""
        if not path:
            for obj in recv.objs:
                if obj.startswith("E:") and not self._trains_itself(obj):
                    state.unfrozen = state.unfrozen | {(obj + _CALLER_FROZEN, loc, _NO_FREEZE, label, "")}
        found = self._unfrozen_by(state, recv.objs, loc, label, path)
        if found:
            state.unfrozen = state.unfrozen | found

    def _trains_itself(self, obj: str) -> bool:
        """Its class has its own train(), which may re-freeze what it should."""
        class_key = self._class_of(obj)
        return class_key is not None and self.ctx.index.find_method(class_key, "train") is not None

    def _unfrozen_by(
        self, state: State, objs: frozenset[str], loc: Loc, label: str, path: str
    ) -> set[tuple[str, Loc, Origin, str, str]]:
        """The submodules of `objs` frozen on their own that a train() of them at `loc` re-enables."""
        found: set[tuple[str, Loc, Origin, str, str]] = set()
        if not any(m.eval is not None and m.eval.explicit for m in state.modes.values()):
            return found
        for obj in objs:
            if self._trains_itself(obj):
                continue
            parent_mode = self.mode_of(state, obj)
            for child, shared in _instance_children(state, obj, self.own_allocs):
                mode = state.modes.get(child)
                # Frozen on its own: in eval by an explicit switch that is not the parent's.
                if (
                    mode is not None
                    and mode.eval is not None
                    and mode.eval.explicit
                    # (A container built around frozen parts runs in their mode: its eval is theirs.)
                    and (mode.eval != parent_mode.eval or (obj, child, mode.eval) in self.wrapped_freezes)
                    and child != f"N:{mode.eval.path}:{mode.eval.line}:{mode.eval.col}"  # built in eval
                    and (not shared or self._froze_this_instance(obj, child, mode.eval, label, path))
                    and not self._later_in_loop(mode.eval)
                ):
                    found.add((child, loc, mode.eval, label, path))
        return found

    def _apply_unfreezes(self, summary: Summary, callee: str, node: ir.Call, pre: State, resolve) -> None:
        """A callee that runs `model.train()` and then trains (`train_one_epoch(model)`): what this
        function froze inside the model it passed is trained again (reported at that train()); on
        an entry reference of this function, the callers decide."""
        step = (callee, self.path, node.loc.line)
        for path, loc, label, file, via in summary.unfreezes:
            objs = resolve(path)
            for obj in objs:
                if obj.startswith("E:"):
                    self.unfreeze_reqs.add((obj[2:], loc, label, file, _through_call(step, via)[:6]))
            found = self._unfrozen_by(pre, objs, loc, label, file)
            for _child, at, freeze, _label, _path in sorted(found, key=lambda u: (u[0], u[2].path, u[2].line, u[2].col)):
                self._event("train-undoes-freeze", at, label, f"{freeze.what}|{freeze.path}|{freeze.line}", path=file)

    def _froze_this_instance(self, obj: str, child: str, freeze: Origin, label: str, path: str) -> bool:
        """Objects bound to fields are per allocation site (shared by every instance of a class):
        a freeze of one counts for `obj` only when it went through `obj` -- by name, in this
        function (`model.backbone.eval()` before `model.train()`; through a call, the label is
        the callee's own name for the model, which says nothing about how this function reached
        a field's object), or along a path through `obj` that a call here froze."""
        if not path and (
            freeze.what.startswith(label + ".")
            or any(t == label or t.startswith(label + ".") for t in self.sub_paths.get(child, ()))
        ):
            return True
        return obj in self.call_freezes.get((child, freeze), ())

    def _note_fresh_freeze(
        self, obj: str, freeze: Origin, fields: tuple, resolve: Callable[[str], frozenset[str]]
    ) -> None:
        """A call built `obj` (or what holds it) and froze it (a model whose constructor runs
        `self.backbone.eval()`): the path is the field the call stored it in (`self.backbone`), or
        a field of a model the call built and made reachable (a trainer's constructor building
        `self.model` and freezing `self.model.backbone`)."""
        held = {obj}
        inner = _parent(obj)
        while inner is not None:
            held.add(inner)
            inner = _parent(inner)
        for holder_path, attr, values in fields:
            if held.isdisjoint(values):
                continue
            # What the field holds on the way to `obj` (the trainer's `self.model`) is on the path too.
            inside = {v for v in values if v in held and v != obj}
            if holder_path.startswith("N:"):
                # A model the call built and returned, frozen inside (`build_model()` freezing
                # its backbone): through that instance.
                self._remember_freeze_path(obj, freeze, {holder_path} | inside)
            else:
                self._note_call_freeze(obj, freeze, f"{holder_path}.{attr}", resolve)
                self._remember_freeze_path(obj, freeze, inside)

    def _note_argument_freeze(
        self, obj: str, freeze: Origin, path: str, fn: ir.FunctionFacts, node: ir.Call, pre: State
    ) -> None:
        """`freeze_module(model.backbone)`: the objects along the argument's own path here
        (`model`) are on the way to what the callee froze too."""
        param = path.partition(".")[0]
        expr = _argument_expr(fn, node, param)
        text = dotted_name(expr) if expr is not None else None
        if not text or "." not in text:
            return
        parts = text.split(".")
        objs = self.read_name(parts[0], pre).objs
        along = set(objs)
        for attr in parts[1:-1]:
            objs = self.attr_objs(pre, objs, attr)
            along |= objs
        self._remember_freeze_path(obj, freeze, along)

    def _note_call_freeze(self, obj: str, freeze: Origin, path: str, resolve: Callable[[str], frozenset[str]]) -> None:
        """A call froze `obj` through the entry path `path` (`self.model.backbone`): remember the
        objects along the way (see `call_freezes`)."""
        # (A module-level root, `G:pkg.mod|name`, has dots of its own.)
        start = path.find("|") + 1 if path.startswith(("G:", "C:")) else 0
        along: set[str] = set()
        dot = path.find(".", start)
        while dot >= 0:
            along |= resolve(path[:dot])
            dot = path.find(".", dot + 1)
        self._remember_freeze_path(obj, freeze, along)

    def _remember_freeze_path(self, obj: str, freeze: Origin, along: set[str]) -> None:
        if along:  # (a freeze of a reference itself, `module.eval()`, goes through nothing)
            key = (obj, freeze)
            self.call_freezes[key] = self.call_freezes.get(key, frozenset()) | along

    def _anchors(self) -> tuple[int, int, int]:
        """Lines where a fix would insert a statement: the top of the innermost loop body (for
        `model.train()`), the start of the no_grad block or else of the outermost loop or else the
        statement itself (for `model.eval()`)."""
        loop_body = self.loop_lines[-1][1] if self.loop_lines else 0
        before = self.no_grad_line or (self.loop_lines[0][0] if self.loop_lines else self.current_loc.line)
        return (loop_body, before, self.current_loc.line)

    def _objs_by_mode(self, state: State, objs: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
        """Which of these objects may be in train mode, and which in eval mode."""
        modes = {obj: self.mode_of(state, obj) for obj in objs}
        return (
            frozenset(o for o, m in modes.items() if m.train is not None),
            frozenset(o for o, m in modes.items() if m.eval is not None),
        )

    def _note_train_origins(self, fwd: Forward, state: State, objs: frozenset[str]) -> None:
        """Each object's train origin, kept when a forward calls several objects whose origins
        differ (joined over visits: the earliest per object)."""
        if len(objs) < 2 and not fwd.train_origins:
            return
        merged = dict(fwd.train_origins)
        for obj in objs:
            origin = self.mode_of(state, obj).train
            if origin is not None:
                merged[obj] = min(merged[obj], origin) if obj in merged else origin
        if len(set(merged.values())) > 1:
            fwd.train_origins = tuple(sorted(merged.items()))

    def mode_of_all(self, state: State, objs: Iterable[str]) -> ModeVal:
        out = M.BOTTOM
        for obj in objs:
            out = out.join(self.mode_of(state, obj))
        return out

    def set_mode(self, state: State, obj: str, mode: ModeVal, _seen: set[str] | None = None) -> None:
        if state.unfrozen and mode.eval is not None:
            # Frozen again (the idiom: `model.train(); freeze_bn(model)`); any part of an entry
            # reference frozen again may be what its caller froze.
            state.unfrozen = frozenset(
                u for u in state.unfrozen
                if u[0] != obj and not u[0].startswith(obj + ".")
                and not (u[0].endswith(_CALLER_FROZEN) and obj.startswith(u[0][: -len(_CALLER_FROZEN)] + "."))
            )
        state.modes[obj] = mode
        # train()/eval() recurse into children: their own settings are overwritten, including
        # submodules held in attributes (`self.backbone = Backbone()`).
        _drop_children(state.modes, obj)
        seen = _seen if _seen is not None else {obj}
        prefix = obj + "."
        for (holder, _attr), children in list(state.fields.items()):
            if holder == obj or holder.startswith(prefix):
                for child in children:
                    if child not in seen:
                        seen.add(child)
                        self.set_mode(state, child, mode, seen)

    def info_of(self, obj: str) -> ObjInfo | None:
        root = root_of(obj)
        info = self.ctx.allocs.get(root)
        if info is not None:
            self.ctx.read_alloc(root, self.key)
        return info

    # ================================================================== expressions

    def expr(self, node: ir.Expr | None, state: State) -> Value:
        # One dict lookup on the exact node type (IR classes have no subclasses) instead of a
        # chain of isinstance tests: this runs for every sub-expression of every analysis.
        t = type(node)
        if t is ir.Name:  # a third of all sub-expressions
            return self.read_name(node.id, state)
        handler = _EXPR_HANDLERS.get(t)
        return handler(self, node, state) if handler is not None else NOTHING

    def _name(self, node: ir.Name, state: State) -> Value:
        return self.read_name(node.id, state)

    def _constant(self, node: ir.Const, state: State) -> Value:
        return _const(node.value)

    def _seq(self, node: ir.Seq, state: State) -> Value:
        elts = tuple(self.expr(e, state) for e in node.elts)
        objs: frozenset[str] = frozenset()
        taint: frozenset[str] = frozenset()
        params_of: frozenset[str] = frozenset()
        for v in elts:
            objs |= v.objs
            taint |= v.taint
            params_of |= v.params_of  # `[*encoder.parameters(), *head.parameters()]`
        return Value(objs=objs, taint=taint, elts=elts, params_of=params_of)

    def _subscript(self, node: ir.Subscript, state: State) -> Value:
        base = self.expr(node.value, state)
        self.expr(node.index, state)
        if base.keys is not None:
            # `nets["decoder"]` of a dict display built here: that value; any other key, opaque.
            index = node.index
            if type(index) is ir.Const and index.value in base.keys and base.elts is not None:
                return base.elts[base.keys.index(index.value)]  # type: ignore[arg-type]
            return Value(taint=base.taint, alts=base.alts)
        if base.elts is not None:
            return self._element_of(base)  # `steps[0](model)`: one of the display's elements
        key = _constant_key(node.index)
        if key is not None and base.objs and base.sym is None:
            # `self.nets["G"]`: that element, apart from `self.nets["D"]` (a path, like an
            # attribute: switching one does not switch the other; the container's train() does).
            return Value(objs=self.attr_objs(state, base.objs, key), taint=base.taint)
        # `models[i]`, `outputs["logits"]`: an element of the container; `hooks["eval"](model)`:
        # one of the functions in the dict display; `ema_params[name]`: one of those parameters.
        return Value(
            objs=base.objs if base.sym is None else frozenset(), taint=base.taint, alts=base.alts, params_of=base.params_of
        )

    def _starred(self, node: ir.Starred, state: State) -> Value:
        return self.expr(node.value, state)

    def _ifexp(self, node: ir.IfExp, state: State) -> Value:
        test = self.expr(node.test, state)
        restorer = self._bound_restorer(node, test, state)
        if restorer is not None:
            return restorer
        a = state.copy()
        b = state.copy()
        va = self.expr(node.body, a)
        vb = self.expr(node.orelse, b)
        merged = self.join_branches(state, [a, b])
        flag = _flag_test(node.test)
        if flag is not None:
            self._remember_flag_modes(flag, a, b, merged)  # as for an `if` statement
        _replace_state(state, merged)
        return va.join(vb)

    def _not(self, node: ir.Not, state: State) -> Value:
        inner = self.expr(node.operand, state)
        return Value(taint=inner.taint)

    def _funcref(self, node: ir.FuncRef, state: State) -> Value:
        return Value(sym=Symbol("function", func_key(self.module, node.qualname)))

    def _other(self, node: ir.Other, state: State) -> Value:
        taint = _NO_OBJS
        params_of = _NO_OBJS
        functions: list[Symbol] = []
        values: list[Value] = []
        for child in node.children:
            v = self.expr(child, state)
            values.append(v)
            if v.taint:
                self._mark_used(v)
                taint = taint | v.taint
            if v.params_of:
                params_of = params_of | v.params_of  # `[p for p in model.parameters() if p.requires_grad]`
            if v.alts:
                functions.extend(v.alts)
            elif v.sym is not None and v.sym.kind == "function" and not v.partial:
                functions.append(v.sym)  # a dict display of callbacks (a partial's bound arguments would be lost)
        if node.yields:
            self.yield_states.append(state.copy())
        if node.either:
            # `callbacks or []`, `hook or default_hook`: one of the operands.
            either = values[0]
            for v in values[1:]:
                either = either.join(v)
            return either
        alts = tuple(sorted(set(functions), key=lambda s: s.target))[:8]
        if node.keys is not None:
            return Value(taint=taint, alts=alts, params_of=params_of, elts=tuple(values[1::2]), keys=node.keys)
        if functions:
            return Value(taint=taint, alts=alts, params_of=params_of)
        if params_of:
            return Value(taint=taint, params_of=params_of)
        return Value(taint=taint) if taint else NOTHING

    def attribute(self, node: ir.Attr, state: State) -> Value:
        base = self.expr(node.value, state)
        if base.sym is not None:
            sym = self.ctx.index.resolve_dotted(base.sym, [node.attr])
            if sym.kind == "global":
                return self._entry_var(sym.target, state)
            if sym.kind != "unknown":
                return Value(sym=sym)
            return NOTHING
        if base.objs and state.snaps:
            snap = _snapshot(state, base.objs, node.attr)
            if snap is not None:
                return Value(saved=snap[:2], restorer=snap[2])
        if base.objs and node.attr in self.ctx.index.property_names():
            read = self._property_read(node, base, state)
            if read is not None:
                return read
        if node.attr == "training" and base.objs:
            return Value(saved=(base.objs, self.mode_of_all(state, base.objs)))
        if node.attr in K.SHAPE_ATTRS and base.taint:
            self._mark(base.taint, shape_used=True)
            return NOTHING
        if node.attr == "grad":
            self.reads_grad = True
        if not base.objs:
            if base.params_of and node.attr == "data":
                return Value(taint=base.taint, params_of=base.params_of)  # `ema_p.data.mul_(d)`
            return Value(taint=base.taint)
        return Value(objs=self.attr_objs(state, base.objs, node.attr), taint=base.taint)

    # ------------------------------------------------------------------ calls

    def call(self, node: ir.Call, state: State) -> Value:
        func = node.func
        if isinstance(func, ir.Attr):
            target = self._super_method(func)
            if target is not None:
                # `super().set_train_mode()`: the base class's method, on this method's `self`.
                self.expr(func.value, state)
                args, kwargs = self.eval_args(node, state)
                me = self.read_name(self.fn.params[0].name, state)
                return self.call_project(node, target, args, kwargs, me, state)
            recv = self.expr(func.value, state)
            if recv.sym is not None:
                sym = self.ctx.index.resolve_dotted(recv.sym, [func.attr])
                if sym.kind == "global":
                    return self.call_objects(node, self._entry_var(sym.target, state), state)
                return self.call_symbol(node, sym, state, None)
            return self.method_call(node, func.attr, recv, state)
        named = self._getattr_call(node, state)
        if named is not None:
            return named
        if type(func) is ir.IfExp:
            # `(model.train if training else model.eval)()`: a call of one or the other.
            return self._ifexp(ir.IfExp(func.test, replace(node, func=func.body), replace(node, func=func.orelse)), state)
        if type(func) is ir.Subscript and type(func.value) is ir.Attr and func.value.attr == "__dict__":
            built = self._factory_by_name(node, func.value.value, func.index, state, "{}.__dict__[{}]()")
            if built is not None:
                return built
        callee = self.expr(func, state)
        if callee.restorer and callee.saved is not None:
            self._restore_saved(state, callee.saved)  # `restore()`
            return NOTHING
        if callee.sym is not None:
            return self.call_symbol(node, callee.sym, state, None, callee.partial)
        if callee.alts:
            # One of several functions runs.
            return self._one_of(
                state, [lambda branch, sym=sym: self.call_symbol(node, sym, branch, None) for sym in callee.alts]
            )
        if callee.objs and type(func) is ir.Name:
            passed = self._call_passed_functions(node, callee, state)
            if passed is not None:
                return passed
        if callee.objs:
            targets = self._dunder_call_targets(node, callee)
            if targets:
                args, kwargs = self.eval_args(node, state)
                return self._call_any(node, targets, args, kwargs, callee, state)
        if isinstance(func, ir.Call) and self.fn.name == "forward" and self.in_module_class:
            built = self._qualify(func.func) or ""
            if K.torch_nn_class(built) in K.DROPOUT_CLASSES:
                # `nn.Dropout(p)(x)`: a fresh module, in train mode whatever the model's mode.
                self._event("module-dropout-in-forward", node.loc, built.rsplit(".", 1)[-1])
        return self.call_objects(node, callee, state)

    def _getattr_call(self, node: ir.Call, state: State) -> Value | None:
        """`getattr(model, "eval")()` is `model.eval()`; `getattr(model, "train" if t else "eval")()`
        switches the model to a mode chosen at run time (unknown), and neither is a forward. None
        when the call is not of that shape."""
        inner = node.func
        if not (type(inner) is ir.Call and type(inner.func) is ir.Name and inner.func.id == "getattr"):
            return None
        if len(inner.args) < 2 or inner.has_star or self.read_name("getattr", state).sym != Symbol("builtin", "getattr"):
            return None
        literal = ir.literal_getattr(inner)
        if literal is not None:
            return self.call(replace(node, func=ir.Attr(*literal)), state)
        obj, name = inner.args[0], inner.args[1]
        built = self._factory_by_name(node, obj, name, state, "getattr({}, {})()")
        if built is not None:
            return built
        recv = self.expr(obj, state)
        self.expr(name, state)
        args, kwargs = self.eval_args(node, state)
        if any(type(e) is ir.Const and e.value in ("train", "eval") for e in ir.walk_expr(name)):
            self._make_unknown(recv.objs, state, node, "`getattr(...)()`")
        return self._opaque_result(args, kwargs)

    def _factory_by_name(
        self, node: ir.Call, namespace: ir.Expr, name: ir.Expr, state: State, shape: str
    ) -> Value | None:
        """`getattr(torchvision.models, args.arch)(...)` / `models.__dict__[args.arch](...)`: a
        model builder picked by name at run time is still a model builder (train mode). None for
        other namespaces. `shape`: how the call reads, for messages."""
        qualname = self._qualify(namespace)
        if not qualname or not K.is_factory(qualname + ".model"):
            return None
        self.expr(name, state)
        _args, kwargs = self.eval_args(node, state)
        label = shape.format(path_text(namespace) or qualname, path_text(name) or "...")
        return self._alloc_module(node, state, qualname, M.TRAIN, weights=_pretrained_kwargs(kwargs), label=label)

    def _super_method(self, func: ir.Attr) -> str | None:
        """The project method `super().<name>` calls from this instance method (None when it is
        not such a call, or not one evalguard can resolve)."""
        name = ir.super_attr(func)
        if name is None or self.fn.kind != "instance" or not self.fn.params or self.fn.class_qualname is None:
            return None
        inner = func.value
        if inner.args and not _super_of_own_class(inner, self.fn):  # type: ignore[union-attr]
            return None  # `super(Other, obj)`: another class's view, another receiver
        return self.ctx.index.super_method(func_key(self.module, self.fn.class_qualname), name)

    def eval_args(self, node: ir.Call, state: State) -> tuple[list[Value], dict[str, Value]]:
        args = [self.expr(a, state) for a in node.args]
        kwargs = {k: self.expr(v, state) for k, v in node.kwargs}
        return args, kwargs

    def call_symbol(
        self, node: ir.Call, sym: Symbol, state: State, recv: Value | None, bound: tuple[Value, ...] = ()
    ) -> Value:
        if sym.kind == "function":
            args, kwargs = self.eval_args(node, state)
            args = [*bound, *args]
            fn = self.ctx.index.functions.get(sym.target)
            if recv is None and fn is not None and fn.kind == "instance" and args:
                # `Base.set_train_mode(self)`: a method through its class, the receiver passed first.
                recv, args = args[0], args[1:]
            return self.call_project(node, sym.target, args, kwargs, recv, state)
        if sym.kind == "class":
            args, kwargs = self.eval_args(node, state)
            return self.construct_project(node, sym.target, args, kwargs, state)
        if sym.kind == "external":
            return self.call_external(node, sym.target, state)
        args, kwargs = self.eval_args(node, state)
        if sym.kind == "builtin" and sym.target == "getattr" and len(args) >= 2:
            return self._getattr_value(node, args, state)
        if sym.kind == "builtin" and sym.target in ("list", "tuple", "sorted", "reversed", "iter") and len(args) == 1:
            return Value(objs=args[0].objs, taint=args[0].taint, params_of=args[0].params_of)  # the same elements
        result = self._opaque_result(args, kwargs)
        if sym.kind == "builtin" and sym.target in ("zip", "enumerate", "dict"):
            # `zip(ema.parameters(), model.parameters())`: tuples of those parameters;
            # `dict(ema.named_parameters())`: those parameters by name.
            params_of = frozenset().union(*(a.params_of for a in args))
            if params_of:
                return Value(taint=result.taint, params_of=params_of)
        return result

    def _getattr_value(self, node: ir.Call, args: list[Value], state: State) -> Value:
        """`getattr(obj, "name")`: that attribute (`getattr(model, "module", model)`: the model
        either way); with a name known only at run time (`getattr(backbone, f"layer{i}")`) some
        attribute, an object we lost track of (never the object itself: `.eval()` on it would
        freeze the whole model). A default joins in."""
        name = node.args[1]
        if type(name) is ir.Const and type(name.value) is str:
            objs = self.attr_objs(state, args[0].objs, name.value)
        else:
            objs = frozenset({UNKNOWN_OBJ}) if args[0].objs else _NO_OBJS
        if len(args) >= 3:
            objs = objs | args[2].objs
        return Value(objs=objs)

    def _opaque_result(self, args: list[Value], kwargs: dict[str, Value], recv: Value | None = None) -> Value:
        taint: frozenset[str] = _NO_OBJS
        for v in (*args, *kwargs.values(), *((recv,) if recv is not None else ())):
            if v.taint:
                self._mark_used(v)
                taint = taint | v.taint
        # (Most opaque results carry nothing: the shared empty value, not a new one.)
        return Value(taint=taint) if taint else NOTHING

    # ------------------------------------------------------------------ method calls on objects

    def method_call(self, node: ir.Call, meth: str, recv: Value, state: State) -> Value:
        if state.snaps and recv.objs:
            snap = _snapshot(state, recv.objs, meth)
            if snap is not None and snap[2]:
                self._restore_saved(state, snap[:2])  # `self.restore()`, a bound restorer kept
                return NOTHING
        if meth == "enter_context" and self.with_depth and len(node.args) == 1 and not node.kwargs and not node.has_star:
            return self._enter_context(node, state)
        # Project method through the receiver's class.
        if meth == "train" and recv.objs:
            literal = _bad_mode_literal(node)
            label = path_text(node.func.value) or "model"  # type: ignore[union-attr]
            if literal is not None and self._may_be_module(recv) and (
                self._is_model_value(recv, state)
                or label in self.evidence_names
                or K.MODEL_NAME.search(label)
                or label.rsplit(".", 1)[-1] in self.ctx.model_names
            ):
                self._event("bad-mode-arg", node.loc, label, literal)
                # PyTorch raises here; analyse the rest as the author meant it (`train(0)` is eval),
                # so one typo does not cascade into other findings.
                intent = _mode_intent(node)
                origin = self._origin(node.loc, f"{label}.train({literal})")
                new = M.only(intent, origin) if intent is not None else M.only(M.UNKNOWN, origin)
                for obj in recv.objs:
                    self.set_mode(state, obj, new)
                return Value(objs=recv.objs)
        target = self._resolve_method(recv, meth, state)
        if target is not None and is_property(self.ctx.index.functions[target]):
            # `self.model(x)` where `model` is a property: call what it returns.
            read = self._property_read(node.func, recv, state)  # type: ignore[arg-type]
            return self.call_objects(node, read if read is not None else NOTHING, state)
        is_mode_call = _mode_call_signature(node, meth)
        if target is not None and not (is_mode_call and self._is_module_objs(recv) and _mode_override(
            self.ctx.index.functions[target], meth
        )):
            args, kwargs = self.eval_args(node, state)
            # `self.evaluate()` in a base class: any subclass override may run.
            overrides = self._overrides(recv, meth, target)
            targets = overrides if overrides and self._only_overrides_run(meth, overrides) else [target, *overrides]
            return self._call_any(node, targets, args, kwargs, recv, state)
        if target is None and not is_mode_call:
            passed = self._passed_methods(recv, meth)
            if passed:
                args, kwargs = self.eval_args(node, state)
                return self._call_any(node, passed, args, kwargs, recv, state)
        if is_mode_call and recv.objs and self._may_be_module(recv):
            return self.mode_call(node, meth, recv, state)
        args, kwargs = self.eval_args(node, state)
        if meth in _CONTAINER_ADDS and not recv.objs and recv.sym is None:
            added = frozenset().union(*(v.taint for v in (*args, *kwargs.values())))
            if added:
                self._into_container(node.func.value, added, state)  # type: ignore[union-attr]
        if meth == "backward":
            self._training_step(recv.taint, state)
            return NOTHING
        if meth == "step" and self._is_optimizer(recv, node, state):
            self._note_update()
            self._training_step(frozenset(), state)
            return NOTHING
        if meth == "forward" and recv.objs:
            return self.forward(node, recv, args, kwargs, state)
        if target is None and recv.objs:
            # `self.evaluator(self.model)`: an evaluator object held in an attribute, called.
            held = Value(objs=self.attr_objs(state, recv.objs, meth))
            calls = self._dunder_call_targets(node, held)
            if calls:
                return self._call_any(node, calls, args, kwargs, held, state)
        callee = self._called_attribute(recv, meth, state)
        if callee is not None:
            if not args and not kwargs and len(callee.objs) == 1:
                path = entry_path(next(iter(callee.objs)))
                if path is not None:
                    self.restorer_calls.add(path)  # (may be a bound restorer its caller kept there)
            # `self.model(x)`: a module held in an attribute, called.
            return self.forward(node, callee, args, kwargs, state)
        if (
            meth == "generate"
            and recv.objs
            and self._may_be_module(recv)
            and (self._is_model_value(recv, state) or K.MODEL_NAME.search(path_text(node.func.value) or ""))  # type: ignore[union-attr]
        ):
            # Hugging Face `model.generate(...)`: forwards of the model in its current mode, for
            # predictions (sampling or beam search with Dropout on is the train-mode bug).
            ran = self.forward(node, recv, args, kwargs, state, label=path_text(node.func.value))  # type: ignore[union-attr]
            self._mark(ran.taint, inference_hint=True)
            return ran
        if meth == "save":
            self._scripted_saved(recv)
        if meth in ("load_state_dict", "load_weights", "load_pretrained"):
            state.loaded = state.loaded | _with_fields(state, recv.objs)
            self._mark_used_all(args)
            return NOTHING
        if meth in ("parameters", "named_parameters") or (meth == "state_dict" and not args and recv.objs):
            return Value(params_of=recv.objs)
        if recv.params_of and not recv.objs:
            if meth in _WEIGHT_WRITES:
                # `ema_p.mul_(d).add_(p, alpha=1 - d)`, `shadow.copy_(live[name])`: weights set
                # in place (an EMA copy's), as meaningful as loaded ones.
                state.loaded = state.loaded | _with_fields(state, recv.params_of)
                self._mark_used_all(args)
                return Value(params_of=recv.params_of)
            if meth in ("items", "values", "detach") and not args:
                return Value(params_of=recv.params_of)
        held = _dict_values(recv)
        if meth == "values" and held and not args:
            return Value(objs=held)  # `for net in self.nets.values(): net.train()`
        if meth == "items" and held and not args:
            # `for name, net in self.nets.items()`: (key, model) pairs.
            return Value(elts=(Value(elts=(NOTHING, Value(objs=held))),))
        if recv.keys is not None and meth == "copy" and not args:
            return recv  # a shallow copy holds the same values under the same keys
        if recv.keys is not None and meth not in _DICT_READS:
            self._forget_keys(node.func.value, state)  # type: ignore[union-attr]  # `nets.update(...)`, `nets.pop(k)`
        if meth in ("modules", "children"):
            # Some submodules: switching them must not change the model's own mode, but a later
            # train() on the model re-enables them (EG009).
            subs = frozenset(f"{o}.<sub>" for o in recv.objs if not o.startswith("U:"))
            text = path_text(node.func.value)  # type: ignore[union-attr]
            if text:
                for sub in subs:
                    self.sub_paths.setdefault(sub, set()).add(text)
            return Value(objs=subs)
        if meth in ("named_modules", "named_children"):
            return NOTHING
        if meth in ("detach", "item", "tolist", "numpy"):
            # The value is read (a prediction leaves the model), but gradients stop here.
            self._mark_used(recv)
            return NOTHING
        if meth in K.SELF_RETURNING_METHODS and recv.objs and (meth not in ("train", "eval") or is_mode_call):
            self._mark_used_all(args)
            return Value(objs=recv.objs, taint=recv.taint)
        if meth in K.INFERENCE_OPS and recv.taint:
            self._note_prediction(recv.taint, meth)
        if recv.objs and self._is_mode_owner_call(recv, meth):
            for v in (*args, *kwargs.values()):
                self._make_unknown(v.objs, state, node, f"`{meth}()`")
        elif K.may_change_mode(meth):
            for v in (*args, *kwargs.values()):
                self._make_unknown(v.objs, state, node, f"`{meth}()`")
        if meth == "manual_backward":
            for v in args:
                self._training_step(v.taint, state)
            self._note_update()  # the framework steps the optimizer
        result = self._opaque_result(args, kwargs, recv)
        if recv.objs and self._may_be_module(recv) and self._is_model_value(recv, state):
            return result
        return self._passthrough(node, result, args, state)

    def _is_model_value(self, value: Value, state: State) -> bool:
        for obj in value.objs:
            info = self.info_of(obj)
            if info is not None and info.is_module:
                return True
            if self.mode_of(state, obj).kinds() & {M.TRAIN, M.EVAL}:
                return True
        return False

    def _passthrough(self, node: ir.Call, result: Value, args: list[Value], state: State) -> Value:
        """An unknown call handed models may return them (`model = quantize(model)`,
        `model, opt = accelerator.prepare(model, opt)`): keep their identity in the result. It may
        also run them (`loss = compute_loss(model, batch)`): a synthetic forward, which counts as a
        training step when its result reaches backward()."""
        models = [Value(objs=a.objs) if self._is_model_value(a, state) else NOTHING for a in args]
        if not any(m.objs for m in models):
            return result
        objs: frozenset[str] = frozenset()
        for m in models:
            objs |= m.objs
        label = next((path_text(e) for e, m in zip(node.args, models) if m.objs), None)
        ran = self.forward(node, Value(objs=objs), [], {}, state, synthetic=True, label=label)
        return Value(objs=objs, taint=result.taint | ran.taint, elts=tuple(models))

    def _called_attribute(self, recv: Value, attr: str, state: State) -> Value | None:
        """The object called by `recv.attr(...)` when that is an attribute holding a module rather
        than a method: the receiver's project class (with no unknown external base) defines no
        such method, or the attribute is bound to a known object."""
        if attr in K.MODULE_API_METHODS or not recv.objs:
            return None
        for obj in recv.objs:
            if any((obj, attr) in state.fields for obj in recv.objs):
                break
            class_key = self._class_of(obj)
            if class_key is None:
                if obj.startswith("E:") and obj != "E:self" and "." not in obj and K.MODEL_NAME.fullmatch(attr):
                    continue  # `trainer.model(x)` on a parameter: the model the trainer holds
                return None
            if not self.ctx.index.fully_known_class(class_key) and not (
                # (An outside base may define a method of that name, but hardly one named like a
                # model: `self.model(x)` in a TorchServe handler runs the model it holds.)
                self.ctx.index.find_method(class_key, attr) is None and K.MODEL_NAME.fullmatch(attr)
            ):
                return None
        return Value(objs=self.attr_objs(state, recv.objs, attr))

    def _is_mode_owner_call(self, recv: Value, meth: str) -> bool:
        """`trainer.fit(model)`, `trainer.validate(model)` on a framework trainer: it owns the mode."""
        for obj in recv.objs:
            info = self.info_of(obj)
            if info is not None and (
                K.is_non_module_class_name(info.label.rstrip("()")) or info.label.rstrip("()") in self.ctx.mode_owning
            ):
                return True
        return False

    def _property_read(self, node: ir.Attr, recv: Value, state: State) -> Value | None:
        """`self.model` where the class defines `@property def model(self): return self._model`:
        the property's result, so `self.model` and `self._model` are one object."""
        target = self._resolve_method(recv, node.attr, state)
        if target is None or not is_property(self.ctx.index.functions[target]):
            return None
        call = ir.Call(func=node, args=(), kwargs=(), loc=self.current_loc)
        return self.call_project(call, target, [], {}, recv, state)

    def _resolve_method(self, recv: Value, meth: str, state: State) -> str | None:
        for obj in sorted(recv.objs):
            class_key = self._class_of(obj)
            if class_key is not None:
                target = self.ctx.index.find_method(class_key, meth)
                if target is not None:
                    return target
        return None

    def _overrides(self, recv: Value, meth: str, target: str) -> list[str]:
        """Overrides of `meth` in project subclasses, when the receiver is this method's `self`
        (whose concrete class may be any subclass)."""
        if recv.objs != {"E:self"} or self.fn.class_qualname is None:
            return []
        class_key = func_key(self.module, self.fn.class_qualname)
        out = []
        for sub in self.ctx.index.subclasses(class_key):
            found = self.ctx.index.find_method(sub, meth)
            if found is not None and found != target and found not in out:
                out.append(found)
        # With several overrides (TrainEpoch/ValidEpoch), joining them would mix one subclass's
        # train() with another's inference; only a single override is followed.
        return out if len(out) == 1 else []

    def _only_overrides_run(self, meth: str, overrides: list[str]) -> bool:
        """`self.meth()` in an abstract class (one with an `@abstractmethod`) whose every project
        subclass overrides `meth`: no object ever runs this class's own `meth`."""
        index = self.ctx.index
        class_key = func_key(self.module, self.fn.class_qualname)  # type: ignore[arg-type]
        cls = index.classes.get(class_key)
        if cls is None or not any(_is_abstract(index.functions.get(func_key(self.module, q))) for _, q in cls.methods):
            return False
        return all(index.find_method(sub, meth) in overrides for sub in index.subclasses(class_key))

    def _call_any(
        self, node: ir.Call, targets: list[str], args: list[Value], kwargs: dict[str, Value], recv: Value, state: State
    ) -> Value:
        """One of these methods runs."""
        if len(targets) == 1:
            return self.call_project(node, targets[0], args, kwargs, recv, state)
        return self._one_of(
            state, [lambda branch, t=t: self.call_project(node, t, args, kwargs, recv, branch) for t in targets]
        )

    @staticmethod
    def _one_of(state: State, calls: list[Callable[[State], Value]]) -> Value:
        """One of these calls runs: the join of what each would do, each from a copy of `state`."""
        outcomes = []
        for call in calls:
            branch = state.copy()
            outcomes.append((branch, call(branch)))
        _replace_state(state, _join_all([b for b, _ in outcomes]))
        result = outcomes[0][1]
        for _, value in outcomes[1:]:
            result = result.join(value)
        return result

    def _passed_methods(self, recv: Value, meth: str) -> list[str]:
        """`cb.on_epoch_end(model)` where `cb` comes from a parameter (callbacks, hooks,
        strategies): the methods of the project objects the callers pass for it. Nothing when any
        passed object is of no known project class, or when the candidates pull the mode opposite
        ways (a train and an eval strategy: joining them would mix the two)."""
        if len(recv.objs) != 1 or meth not in self.ctx.index.method_names():
            return []
        passed = self._passed_for(recv)
        targets: list[str] = []
        for passed_obj in sorted(passed):
            if passed_obj.startswith("F:"):
                continue  # a function passed beside the objects: it has no methods to run
            class_key = self.ctx.read_class(passed_obj, self.key)
            target = self.ctx.index.find_method(class_key, meth) if class_key is not None else None
            if target is None:
                return []
            if target not in targets:
                targets.append(target)
        return [] if self._pull_apart(targets) else targets

    def _dunder_call_targets(self, node: ir.Call, callee: Value) -> list[str]:
        """`evaluator(model)` on an object of a project class that is no module (an evaluator, a
        validator, a hook): its `__call__` runs. Also on a parameter or a constructor-stored field
        named for what may switch modes (`self.evaluator(...)`), for the objects its callers pass.
        Empty when any candidate is a module (calling it is a forward) or of no known class."""
        if "__call__" not in self.ctx.index.method_names():
            return []  # (every model forward comes through here: the common case, cheaply)
        objs = sorted(callee.objs)
        classes = [self._class_of(o) for o in objs]
        passed = None in classes
        if passed:
            name = (path_text(node.func) or "").rpartition(".")[2]
            if len(objs) != 1 or not K.may_change_mode(name):
                return []
            objs = sorted(o for o in self._passed_for(callee) if not o.startswith("F:"))
            classes = [self.ctx.read_class(o, self.key) for o in objs]
            if not objs or None in classes:
                return []
        targets: list[str] = []
        for class_key in classes:
            target = self._call_method_of(class_key)
            if target is None:
                return []
            if target not in targets:
                targets.append(target)
        return [] if passed and self._pull_apart(targets) else targets

    def _call_method_of(self, class_key: str | None) -> str | None:
        """The `__call__` that calling an object of this class runs: a project class that is no
        module (calling a module is a forward) and defines one."""
        if class_key is None:
            return None
        target = self.ctx.index.find_method(class_key, "__call__")
        return target if target is not None and self.ctx.index.class_props(class_key)[0] is False else None

    def _pull_apart(self, targets: list[str]) -> bool:
        """Whether these candidate callees switch modes opposite ways (joining them would mix a
        train and an eval strategy). Each is watched: a change of its summary re-runs this."""
        pulls = []
        for target in targets:
            if self.on_call is not None:
                self.on_call(target)  # analysed again when a candidate's summary changes
            kinds: set[str] = set()
            for _, mode in self.ctx.summary(target).effects:
                kinds |= mode.kinds() & {M.TRAIN, M.EVAL}
            pulls.append(kinds)
        for i, a in enumerate(pulls):
            if M.TRAIN in a and any(M.EVAL in b for j, b in enumerate(pulls) if j != i):
                return True
        return False

    def _call_passed_functions(self, node: ir.Call, callee: Value, state: State) -> Value | None:
        """`hook(model, epoch)` or `for cb in callbacks: cb(epoch)` where every caller passes a
        project function for the parameter (`fit(..., hook=validate)`, a lambda, a
        `functools.partial`) or an object whose class (no module) defines `__call__`
        (`run_epoch(model, loader, TrainStep(opt))`): one of them runs. None when the parameter is
        no such thing (then calling it is a forward, as for any object), when it is named or used
        as a model, or when the candidates pull apart."""
        name = node.func.id if type(node.func) is ir.Name else ""
        if not name or K.MODEL_NAME.search(name) or name in self.evidence_names:
            return None  # (a model's forward: not worth watching what the callers pass)
        passed = self._passed_for(callee)
        if not passed:
            return None
        calls: list[tuple[str, Callable[[State], Value]]] = []
        for obj in sorted(passed):
            if obj.startswith("F:"):
                value = decode_function_value(obj)
                if value[0] not in self.ctx.index.functions:
                    return None
                calls.append((value[0], lambda branch, v=value: self._call_function_value(node, v, branch)))
                continue
            target = self._call_method_of(self.ctx.read_class(obj, self.key))
            if target is None:
                return None
            calls.append((target, lambda branch, t=target, o=obj: self._call_passed_object(node, t, o, branch)))
        if self._pull_apart(sorted({key for key, _ in calls})):
            if all(o.startswith("F:") for o in passed):
                # Each caller's own function is run at its call (see `Summary.calls_passed`).
                self.calls_passed.add((name, tuple(self._entry_path_of(a, state) for a in node.args)))
            return None
        return self._one_of(state, [call for _, call in calls])

    def _entry_path_of(self, arg: ir.Expr, state: State) -> str:
        """The entry path a positional argument's objects all are ("" when not one): `m` in
        `for m in models: fn(m)` is an element of `models`."""
        if type(arg) is not ir.Name:
            return ""  # (evaluated once, by the call itself: no expression is run twice)
        objs = self.read_name(arg.id, state).objs
        paths = {entry_path(o) for o in objs}
        return next(iter(paths)) if len(paths) == 1 and None not in paths else ""

    def _apply_calls_of_passed(self, node: ir.Call, summary: Summary, bound: dict[str, Value], state: State, resolve) -> None:
        """The callee calls a function parameter with functions that differ between its callers
        (`apply_to_all(models, lambda m: m.eval())`): run the function passed here, on the
        objects its arguments stand for here."""
        for param, paths in summary.calls_passed:
            value = bound.get(param)
            if value is None:
                continue
            keys = [sym.target for sym in _function_syms(value) if sym.target in self.ctx.index.functions]
            if len(keys) != 1 or any(not p for p in paths):
                continue
            args = [Value(objs=resolve(p)) for p in paths]
            self.call_project(node, keys[0], [*value.partial, *args] if value.sym is not None else args, {}, None, state)

    def _call_passed_object(self, node: ir.Call, target: str, obj: str, state: State) -> Value:
        args, kwargs = self.eval_args(node, state)
        return self.call_project(node, target, args, kwargs, Value(objs=frozenset({obj})), state)

    def _call_function_value(self, node: ir.Call, value: FunctionValue, state: State) -> Value:
        """Call a function passed in by a caller: its bound arguments and the closure variables it
        reads stand for the objects they held in the caller, found here among what the callers
        pass for this function's parameters (`model` bound in the partial and passed as `model`
        too); objects not found here are dropped."""
        key, bound, closure = value
        args, kwargs = self.eval_args(node, state)
        front = [Value(objs=self._here(objs)) for objs in bound]
        saved = self.closure_env
        self.closure_env = {name: self._here(objs) for name, objs in closure}
        try:
            return self.call_project(node, key, [*front, *args], kwargs, None, state)
        finally:
            self.closure_env = saved

    def _here(self, objs: frozenset[str]) -> frozenset[str]:
        """The entry objects of this function that the callers' objects `objs` came in as."""
        found: set[str] = set()
        for param in self.fn.params:
            if param.name not in ("self", "cls") and objs & self.ctx.passed_objects(self.key, param.name):
                found.add(f"E:{param.name}")
        return frozenset(found)

    def function_objects(self, value: Value, state: State) -> frozenset[str]:
        """The project functions `value` may be, as objects to pass to a callee (see
        `encode_function_value`): a function, a partial, a lambda or nested function with the
        objects its closure reads here, or a list/tuple display of them."""
        out: set[str] = set()
        for sym in _function_syms(value):
            fn = self.ctx.index.functions.get(sym.target)
            if fn is None:
                continue
            bound = tuple(v.objs for v in value.partial) if sym is value.sym else ()
            out.add(encode_function_value(sym.target, bound, self._closure_of(sym.target, fn, state)))
        for elt in value.elts or ():
            out |= self.function_objects(elt, state)
        return frozenset(out)

    def _closure_of(self, key: str, fn: ir.FunctionFacts, state: State) -> tuple[tuple[str, frozenset[str]], ...]:
        """(name, objects) of this function's variables that nested function `key` reads."""
        if fn.parent != self.fn.qualname or self.is_module_body or not key.startswith(f"{self.module}:"):
            return ()
        if self.on_call is not None:
            self.on_call(key)  # what it reads may change with its analysis: this one runs again
        out = []
        for name in sorted(_free_names(fn) & self.fn.local_names):
            objs = self.read_name(name, state).objs
            if objs:
                out.append((name, objs))
        return tuple(out)

    def _passed_for(self, value: Value) -> set[str]:
        """What the callers pass for the parameter `value` is (empty when it is no parameter):
        `cb` in `for cb in callbacks:`, or `self.callbacks` when the constructor stored its
        parameter there. Read through `passed_objects`: this analysis runs again when it grows."""
        if len(value.objs) != 1:
            return set()
        (obj,) = value.objs
        if not obj.startswith("E:"):
            return set()
        param = obj[2:]
        if param.startswith("self.") and param.count(".") == 1:
            source = self._constructor_param(param[5:])
            return self.ctx.passed_objects(*source, reader=self.key) if source is not None else set()
        if param in ("self", "cls") or all(p.name != param for p in self.fn.params):
            return set()
        return self.ctx.passed_objects(self.key, param)

    def _constructor_param(self, attr: str) -> tuple[str, str] | None:
        """(the class's `__init__`, its parameter) when `__init__` stores that parameter, as
        given, in `self.<attr>` (`self.callbacks = callbacks`, `list(callbacks or [])`). Read from
        the constructor's statements, not its summary: no dependency on its analysis."""
        if self.fn.class_qualname is None or self.fn.kind != "instance":
            return None
        init = self.ctx.index.find_method(func_key(self.module, self.fn.class_qualname), "__init__")
        if init is None:
            return None
        memo = self.ctx.constructor_params
        if (init, attr) not in memo:
            memo[(init, attr)] = self._stored_param(init, attr)
        return memo[(init, attr)]

    def _stored_param(self, init: str, attr: str) -> tuple[str, str] | None:
        fn = self.ctx.index.functions[init]
        params = {p.name for p in fn.params}
        found: str | None = None
        for value in ir.self_assignments(fn.body).get(attr, ()):
            if type(value) is ir.Call and type(value.func) is ir.Name and value.func.id in ("list", "tuple") and len(value.args) == 1:
                value = value.args[0]
            if type(value) is ir.Other and value.either and value.children:
                value = value.children[0]  # `callbacks or []`
            if type(value) is not ir.Name or value.id not in params or found not in (None, value.id):
                return None  # assigned something else too
            found = value.id
        return (init, found) if found is not None else None

    def _class_of(self, obj: str) -> str | None:
        if obj == "E:self" and self.fn.class_qualname is not None and self.fn.kind == "instance":
            return func_key(self.module, self.fn.class_qualname)
        if self.field_classes:
            class_key = self.field_classes.get(obj)
            if class_key is not None:
                return class_key
        return self.ctx.read_class(obj, self.key)

    def _plain_object(self, obj: str) -> bool:
        """An object of a project class that is no module (a guard, a trainer)."""
        class_key = self._class_of(obj)
        return class_key is not None and self.ctx.index.class_props(class_key)[0] is False

    def _is_module_objs(self, recv: Value) -> bool:
        for obj in recv.objs:
            class_key = self._class_of(obj)
            if class_key is not None and self.ctx.index.class_props(class_key)[0] is not False:
                return True
        return False

    def _may_be_module(self, recv: Value) -> bool:
        for obj in recv.objs:
            class_key = self._class_of(obj)
            if class_key is not None:
                if self.ctx.index.class_props(class_key)[0] is False:
                    continue
                return True
            info = self.info_of(obj)
            if info is not None and (info.is_module is False or info.optimizer):
                continue
            return True
        return False

    def _is_optimizer(self, recv: Value, node: ir.Call, state: State) -> bool:
        for obj in recv.objs:
            info = self.info_of(obj)
            if info is not None and info.optimizer:
                return True
        assert isinstance(node.func, ir.Attr)
        name = path_text(node.func.value) or ""
        last = name.rsplit(".", 1)[-1]
        if K.SCALER_NAME.search(last) and node.args:
            return True
        return bool(last) and bool(K.OPTIMIZER_NAME.search(last)) and "sched" not in last.lower()

    def mode_call(self, node: ir.Call, meth: str, recv: Value, state: State) -> Value:
        args, kwargs = self.eval_args(node, state)
        label = path_text(node.func.value) if isinstance(node.func, ir.Attr) else None  # type: ignore[union-attr]
        label = label or "model"
        origin = self._origin(node.loc, f"{label}.{meth}()")
        if meth == "eval":
            new: ModeVal | None = M.only(M.EVAL, origin)
        else:
            flag = args[0] if args else kwargs.get("mode")
            if flag is None:
                new = M.only(M.TRAIN, origin)
            elif flag.is_const and isinstance(flag.const, bool):
                what = f"{label}.train({flag.const})"
                new = M.only(M.TRAIN if flag.const else M.EVAL, replace(origin, what=what))
            elif flag.saved is not None and flag.saved[0] & recv.objs:
                new = flag.saved[1]  # `model.train(was_training)` (another object's flag is a flag)
            else:
                new = M.only(M.UNKNOWN, replace(origin, what=f"{label}.train(<flag>)"))
                path = entry_path(next(iter(flag.objs))) if len(flag.objs) == 1 else None
                if path is not None:
                    self.restore_flags[new.unknown] = path  # type: ignore[index]  # `train(self.was)`
        # A strong update even with several candidate objects: whichever one the reference holds
        # at run time is the one switched.
        if new.train is not None:
            state.stepped = state.stepped - recv.objs
            self.trained_explicitly |= recv.objs
            if new.kinds() == {M.TRAIN}:
                self._note_unfreezing(state, recv, node.loc, label)
        for obj in recv.objs:
            self.set_mode(state, obj, new)  # type: ignore[arg-type]
        if meth == "train" and new.kinds() == {M.UNKNOWN}:
            self._remember_mode_flag(node, label, origin, recv, new, state)
        return Value(objs=recv.objs, taint=recv.taint)

    def _remember_mode_flag(
        self, node: ir.Call, label: str, origin: Origin, recv: Value, new: ModeVal, state: State
    ) -> None:
        """`model.train(training)` with a parameter: train or eval as the flag says. Kept like an
        `if training:` (see `_remember_flag_modes`), so a caller passing a literal gets that mode."""
        flag = node.args[0] if node.args else dict(node.kwargs).get("mode")
        if type(flag) is not ir.Name or all(p.name != flag.id for p in self.fn.params):
            return
        what = f"{label}.train({flag.id})"
        held = M.only(M.TRAIN, replace(origin, what=what))
        other = M.only(M.EVAL, replace(origin, what=what))
        state.conds = {**state.conds, **{(flag.id, obj): (held, other, new) for obj in recv.objs}}

    # ------------------------------------------------------------------ calling objects (forwards)

    def call_objects(self, node: ir.Call, callee: Value, state: State) -> Value:
        args, kwargs = self.eval_args(node, state)
        if callee.objs and not self._is_optimizer_objs(callee):
            return self.forward(node, callee, args, kwargs, state)
        return self._opaque_result(args, kwargs, callee)

    def _is_optimizer_objs(self, value: Value) -> bool:
        return any((info := self.info_of(o)) is not None and info.optimizer for o in value.objs)

    def forward(
        self,
        node: ir.Call,
        model: Value,
        args: list[Value],
        kwargs: dict[str, Value],
        state: State,
        synthetic: bool = False,
        label: str | None = None,
    ) -> Value:
        if self.in_module_class and all(_is_self_rooted(o) for o in model.objs):
            self.forwards_self = True
        for v in (*args, *kwargs.values()):
            if v.taint:
                self._mark_used(v)
        fid = f"{self.path}:{node.loc.line}:{node.loc.col}"
        if label is None:
            callee = node.func.value if isinstance(node.func, ir.Attr) and node.func.attr == "forward" else node.func
            label = path_text(callee) or "model"
        mode = self.mode_of_all(state, model.objs)
        fwd = self.forwards.get(fid)
        loop = self.loop_stack[-1] if self.loop_stack else None
        optimized = bool(model.objs & state.optimized)
        stepped = _marked(model.objs, state.stepped)
        train_objs, eval_objs = self._objs_by_mode(state, model.objs)
        loaded = _loaded_weights(model.objs, train_objs, state)
        flags = self._flag_conds(state, model.objs)
        carried_eval = self._later_in_loop(mode.eval)
        guards = tuple(self.flag_guards)
        if fwd is None:
            fwd = Forward(
                fid=fid,
                path=self.path,
                loc=node.loc,
                function=self.display,
                label=label,
                objs=model.objs,
                mode=mode,
                no_grad=self.no_grad,
                in_init=self.in_init,
                inference_hint=self.evaluation_like,
                loop=loop,
                optimized=optimized,
                loaded=loaded,
                stepped=stepped,
                synthetic=synthetic,
                train_objs=train_objs,
                eval_objs=eval_objs,
                anchors=self._anchors(),
                flags=flags,
                carried_eval=carried_eval,
                guards=guards,
            )
            self.forwards[fid] = fwd
        else:
            fwd.flags = _common_flags(fwd.flags, flags)
            fwd.guards = _common_flags(fwd.guards, guards)
            fwd.carried_eval = fwd.carried_eval or carried_eval
            fwd.mode = fwd.mode.join(mode)
            fwd.objs = fwd.objs | model.objs
            fwd.no_grad = fwd.no_grad and self.no_grad
            fwd.optimized = fwd.optimized or optimized
            fwd.loaded = fwd.loaded or loaded
            fwd.stepped = fwd.stepped or stepped
            fwd.train_objs = fwd.train_objs | train_objs
            fwd.eval_objs = fwd.eval_objs | eval_objs
        self._note_train_origins(fwd, state, model.objs)
        # The output depends on the inputs too: `criterion(model(x), y)` carries model's forward.
        carried = frozenset().union(*(v.taint for v in (*args, *kwargs.values())))
        return Value(taint=carried | {fid})

    # ------------------------------------------------------------------ project calls

    def call_project(
        self,
        node: ir.Call,
        key: str,
        args: list[Value],
        kwargs: dict[str, Value],
        recv: Value | None,
        state: State,
    ) -> Value:
        fn = self.ctx.index.functions.get(key)
        if fn is None:
            return self._opaque_result(args, kwargs)
        if self.on_call is not None:
            self.on_call(key)
        summary = self.ctx.summary(key)
        bound = _bind(fn, args, kwargs, recv)
        for name, value in bound.items():
            passed = value.objs
            if value.sym is not None or value.alts or value.elts:
                passed = passed | self.function_objects(value, state)
            if passed:
                self.ctx.pass_objects(key, name, passed)
        self._mark_used_all([*args, *kwargs.values()])
        result = self.apply_summary(node, key, fn, summary, bound, state)
        if summary.forwards_self and recv is not None and recv.objs and fn.name not in K.MODULE_API_METHODS:
            # `model.forward_features(x)`, `model.encode(x)`: the module runs, in its current mode.
            # Named by its receiver (`module`): the messages and fixes switch that.
            receiver = node.func.value if type(node.func) is ir.Attr else node.func
            fwd = self.forward(node, recv, [], {}, state, synthetic=True, label=path_text(receiver))
            result = Value(objs=result.objs, taint=result.taint | fwd.taint, elts=result.elts)
        return result

    def construct_project(
        self, node: ir.Call, class_key: str, args: list[Value], kwargs: dict[str, Value], state: State
    ) -> Value:
        cls = self.ctx.index.classes[class_key]
        obj = self._alloc_id(node)
        info = self.ctx.class_info(class_key, f"{cls.name}()")
        self.ctx.set_alloc(obj, info, self.key)
        self.ctx.alloc_classes[obj] = class_key
        origin = self._origin(node.loc, f"{cls.name}()", explicit=False)
        if info.is_module is True:
            state.modes[obj] = M.only(M.TRAIN, origin)
        else:
            state.modes[obj] = M.only(M.UNKNOWN, origin)
        _drop_children(state.modes, obj)
        init = self.ctx.index.find_method(class_key, "__init__")
        value = Value(objs=frozenset({obj}))
        if init is not None:
            self.call_project(node, init, args, kwargs, value, state)
        else:
            self._mark_used_all([*args, *kwargs.values()])
        return value

    def _flag_effects_here(
        self,
        flag_effects: tuple[tuple[str, str, ModeVal, ModeVal], ...],
        fn: ir.FunctionFacts,
        bound: dict[str, Value],
        node: ir.Call,
    ) -> dict[str, ModeVal]:
        """The effects of flag parameters this call settles: `load(path, eval_mode=False)`, or a
        default `eval_mode=True` left alone (not when `**kwargs` might pass it)."""
        chosen: dict[str, ModeVal] = {}
        for param, path, held, other in flag_effects:
            truth = _flag_truth(param, fn, bound, node)
            if truth is not None:
                chosen[path] = held if truth else other
        return chosen

    def _carry_receiver_flags(
        self,
        flag_effects: tuple[tuple[str, str, ModeVal, ModeVal], ...],
        node: ir.Call,
        state: State,
        pre: State,
        resolve: Callable[[str], frozenset[str]],
        callee: str,
    ) -> None:
        """`self.set_eval()` doing `if self.normalize: self.norm.eval()`: the mode depends on a
        flag of the receiver, which the caller sees as `self.normalize` too (`trainer.normalize`
        for `trainer.set_eval()`). The caller remembers the mode under each value of the flag, as
        after an `if` of its own, so a later `if self.normalize:` (or a callee's forward under
        that test, see `_guarded_mode`) sees the one that applies. The flag is assumed not to
        change in between (a configuration)."""
        receiver = _receiver_text(node)
        if not receiver:
            return
        conds = None
        for text, path, held, other in flag_effects:
            if not text.startswith("self.") or path.startswith("N:"):
                continue
            flag = _as_receiver(text, receiver)
            for obj in sorted(resolve(path)):
                before = self.mode_of(pre, obj)
                prior = pre.conds.get((flag, obj))
                base_held, base_other = (prior[0], prior[1]) if prior is not None and prior[2] == before else (before, before)
                if conds is None:
                    conds = dict(state.conds)
                conds[(flag, obj)] = (
                    self._flag_branch_mode(held, base_held, path, pre, obj, resolve, callee, node),
                    self._flag_branch_mode(other, base_other, path, pre, obj, resolve, callee, node),
                    self.mode_of(state, obj),
                )
        if conds is not None:
            state.conds = conds

    def _receiver_guards(self, guards: tuple[tuple[str, bool], ...], node: ir.Call) -> tuple[tuple[str, bool], ...]:
        """A callee's `self.<flag>` tests as this caller writes them (`trainer.<flag>` for
        `trainer.prepare()`); none for a call without a receiver."""
        receiver = _receiver_text(node) if guards else None
        if not receiver:
            return ()
        return tuple((_as_receiver(text, receiver), positive) for text, positive in guards)

    def _flag_branch_mode(
        self,
        mode: ModeVal,
        base: ModeVal,
        path: str,
        pre: State,
        obj: str,
        resolve: Callable[[str], frozenset[str]],
        callee: str,
        node: ir.Call,
    ) -> ModeVal:
        """A callee's mode for one value of a flag, seen by the caller: "unchanged" is the mode
        the object had under that value before the call."""
        if mode.entry is not None and mode.entry.what == path:
            return self._through(mode.without(M.ENTRY), callee, node).join(base)
        return self._instantiate_mode(mode, pre, obj, resolve, callee, node)

    def _guarded_mode(self, state: State, objs: frozenset[str], guards: tuple[tuple[str, bool], ...]) -> ModeVal:
        """The mode of these objects at a forward that runs only under `guards` (`if
        self.normalize:` around it, in a callee): where the flag's earlier test or call left a
        mode for each value (see `_remember_flag_modes`), the one the guard selects."""
        if not guards or not state.conds:
            return self.mode_of_all(state, objs)
        out = M.BOTTOM
        for obj in objs:
            mode = self.mode_of(state, obj)
            for text, positive in guards:
                cond = state.conds.get((text, obj))
                if cond is not None and cond[2] == mode:
                    mode = cond[0] if positive else cond[1]
                    break
            out = out.join(mode)
        return out

    def _settled_by_flag(self, req: Requirement, fn: ir.FunctionFacts, bound: dict[str, Value], node: ir.Call) -> bool:
        """The argument for a flag parameter makes the callee switch the model itself before
        this forward (`evaluate(model, loader)` with `is_training=False` by default, and
        `if not is_training: model.eval()` inside): the caller's mode does not matter."""
        for param, held, other in req.flags:
            truth = _flag_truth(param, fn, bound, node)
            if truth is not None and (held if truth else other).entry is None:
                return True
        return False

    def _flag_conds(self, state: State, objs: frozenset[str]) -> tuple[tuple[str, str, ModeVal, ModeVal], ...]:
        """(flag, object, mode if true, if false) for the objects whose mode here is the one an
        earlier `if <flag>:` left (see `_remember_flag_modes`)."""
        if not state.conds:
            return ()
        return tuple(
            sorted(
                (text, obj, held, other)
                for (text, obj), (held, other, joined) in state.conds.items()
                if obj in objs and self.mode_of(state, obj) == joined
            )
        )

    def _later_in_loop(self, origin: Origin | None) -> bool:
        """The switch (or the call that made it) comes later in the body of the innermost loop
        around the statement analysed now: it is carried to the next iteration. A freeze there
        is a schedule (train everything at the top of each epoch, freeze a part after the first
        mini-epoch), not one a train() here undoes by mistake; an eval() there (`validate(model)`
        after the training step) reaches the next step, unlike a frozen model's eval() before
        the loop."""
        if origin is None or not self.loop_ends:
            return False
        path, line = (origin.via[0][1], origin.via[0][2]) if origin.via else (origin.path, origin.line)
        return path == self.path and self.current_loc.line < line <= self.loop_ends[-1]

    def _note_callee_unfreezing(
        self, effects: Iterable[tuple[str, ModeVal]], state: State, resolve: Callable[[str], frozenset[str]]
    ) -> None:
        """A callee that leaves a model in train mode by its own `train()` (`train_one_epoch(model)`)
        undoes what this function froze inside that model, as an inline `model.train()` would."""
        effects = list(effects)
        for path, mode in effects:
            origin = mode.train
            if origin is None or not origin.explicit or mode.kinds() != {M.TRAIN} or not origin.path:
                continue
            if any(p.startswith(path + ".") and m.eval is not None for p, m in effects):
                continue  # the callee freezes part of it again itself (rl_games' per-epoch schedule)
            recv = resolve(path)
            if recv:
                what = origin.what
                label = what[: -len(".train()")] if what.endswith(".train()") else path
                at = Loc(origin.line, origin.col, origin.line, origin.col)
                self._note_unfreezing(state, Value(objs=recv), at, label, origin.path)

    def _apply_effects(
        self,
        effects: Iterable[tuple[str, ModeVal]],
        state: State,
        pre: State,
        resolve: Callable[[str], frozenset[str]],
        callee: str,
        node: ir.Call,
        fn: ir.FunctionFacts | None = None,
    ) -> None:
        """Mode effects of a call, parents before children, instantiated against the state the
        call started from. `fn`: the callee, when its arguments are this call's."""
        for path, mode in sorted(effects, key=lambda e: (e[0].count("."), e[0])):
            for obj in resolve(path):
                applied = self._instantiate_mode(mode, pre, obj, resolve, callee, node)
                self.set_mode(state, obj, applied)
                if applied.eval is not None and applied.eval.explicit:
                    self._note_call_freeze(obj, applied.eval, path, resolve)
                    if fn is not None:
                        self._note_argument_freeze(obj, applied.eval, path, fn, node, pre)

    def _restore_saved_flags(
        self, summary: Summary, bound: dict[str, Value], state: State, resolve: Callable[[str], frozenset[str]]
    ) -> None:
        """`was = model.training; ...; restore(model, was)` where the helper does `if flag:
        model.train()`: the model is back in the saved mode (the intra-function idiom, across a
        call)."""
        for param, path, held, other in summary.flag_effects:
            value = bound.get(param)
            if value is None or value.saved is None or held.kinds() != {M.TRAIN}:
                continue
            if not other.kinds() <= {M.ENTRY} and not other.kinds() <= {M.EVAL}:
                continue
            saved_objs, saved_mode = value.saved
            targets = resolve(path)
            if targets and targets <= saved_objs:
                for obj in sorted(targets):
                    self.set_mode(state, obj, saved_mode)

    def _apply_snapshots(
        self,
        snapshots: tuple[tuple[str, str, tuple[str, ...], ModeVal, bool], ...],
        state: State,
        pre: State,
        resolve: Callable[[str], frozenset[str]],
        callee: str,
        node: ir.Call,
    ) -> None:
        """A callee kept mode snapshots in fields (a guard's `__enter__`): they hold the modes
        the objects had here, before the call."""
        snaps = dict(state.snaps)
        for holder_path, attr, targets, mode, restorer in snapshots:
            objs: set[str] = set()
            for target in targets:
                objs |= resolve(target[2:]) if target.startswith("E:") else {target}
            if not objs:
                continue
            held = self._instantiate_mode(mode, pre, min(objs), resolve, callee, node)
            for holder in resolve(holder_path):
                snaps[(holder, attr)] = (frozenset(objs), held, restorer)
        state.snaps = snaps

    def _apply_restores(
        self,
        restores: tuple[tuple[str, str], ...],
        bound: dict[str, Value],
        state: State,
        resolve: Callable[[str], frozenset[str]],
    ) -> None:
        """A callee restored modes from fields (a guard's `__exit__`): where this function knows
        those fields hold snapshots, the objects are back in the saved modes."""
        for path, flag in restores:
            head, _, attr = flag.rpartition(".")
            if head:
                holders = resolve(head)
                snap = _snapshot(state, holders, attr) if holders and state.snaps else None
            else:
                value = bound.get(flag)
                snap = (value.saved[0], value.saved[1], value.restorer) if value is not None and value.saved else None
            if snap is None:
                continue
            if path:
                for obj in sorted(resolve(path)):
                    self.set_mode(state, obj, snap[1])
            elif snap[2]:
                self._restore_saved(state, snap[:2])

    def apply_summary(
        self,
        node: ir.Call,
        key: str,
        fn: ir.FunctionFacts,
        summary: Summary,
        bound: dict[str, Value],
        state: State,
    ) -> Value:
        # A lambda, `__call__` or `__init__` is named by the call that ran it (`hook()`,
        # `evaluator()`, `Predictor()`).
        named_by_call = fn.name.startswith("<lambda") or (fn.name.startswith("__") and fn.name.endswith("__"))
        callee = f"{path_text(node.func) or fn.name}()" if named_by_call else f"{fn.name}()"
        pre = state.copy()

        def resolve(path: str) -> frozenset[str]:
            return self._resolve_entry_path(path, bound, pre)

        chosen = self._flag_effects_here(summary.flag_effects, fn, bound, node)
        effects = [(p, chosen.get(p, m)) for p, m in summary.effects] if chosen else summary.effects
        if node is self.entering_block and summary.enter_effects is not None:
            # `with helper(model):` runs the block where the helper yields; the rest of the helper
            # (a restore) applies when the block ends.
            at_yield = self._flag_effects_here(summary.enter_flag_effects, fn, bound, node)
            entered = [(p, at_yield.get(p, m)) for p, m in summary.enter_effects]
            # A path switched at the yield and absent from the whole-body effects is restored
            # (`was_training = model.training; model.eval(); yield; model.train(was_training)`).
            left = {p for p, _ in effects}
            restored = tuple((p, M.entry(p)) for p, _ in entered if p not in left)
            self.with_exits.append(((*effects, *restored), pre, resolve, callee, node))
            effects = entered
        self._note_callee_unfreezing(effects, state, resolve)
        self._apply_effects(effects, state, pre, resolve, callee, node, fn)
        if summary.flag_effects:
            self._carry_receiver_flags(summary.flag_effects, node, state, pre, resolve, callee)
        self._restore_saved_flags(summary, bound, state, resolve)
        if summary.calls_passed:
            self._apply_calls_of_passed(node, summary, bound, state, resolve)
        for holder_path, attr, values in summary.fields:
            holders = {holder_path} if holder_path.startswith("N:") else resolve(holder_path)
            vals: set[str] = set()
            for v in values:
                vals |= resolve(v[2:]) if v.startswith("E:") else {v}
            for holder in holders:
                state.fields[(holder, attr)] = frozenset(vals)
        if summary.snapshots:
            self._apply_snapshots(summary.snapshots, state, pre, resolve, callee, node)
        if summary.restores:
            self._apply_restores(summary.restores, bound, state, resolve)
        for obj, mode in summary.fresh_modes:
            if obj not in state.modes:
                # (A copy made inside, `copy.deepcopy(model)`, has the mode its original had here.)
                state.modes[obj] = applied = self._instantiate_mode(chosen.get(obj, mode), pre, obj, resolve, callee, node)
                if applied.eval is not None and applied.eval.explicit:
                    self._note_fresh_freeze(obj, applied.eval, summary.fields, resolve)
        for obj in summary.loaded:
            if obj.startswith("E:"):
                # (What the callee saw of a holder's fields, this function may know better.)
                state.loaded = state.loaded | _with_fields(state, resolve(obj[2:]))
            else:
                state.loaded = state.loaded | {obj}
        for obj in summary.optimized:
            state.optimized = state.optimized | (resolve(obj[2:]) if obj.startswith("E:") else {obj})
        self.reads_grad = self.reads_grad or summary.reads_grad
        if summary.unfreezes:
            self._apply_unfreezes(summary, callee, node, pre, resolve)
        if summary.has_update:
            self._note_update()
        if summary.has_step:
            self._training_step(frozenset(), state)
            # The callee trained whatever it was handed.
            for value in bound.values():
                state.stepped = state.stepped | value.objs
        for index in summary.inference_params:
            if index < len(fn.params):
                value = bound.get(fn.params[index].name)
                if value is not None and value.taint:
                    self._mark(value.taint, callee_inference=True)
        for index in summary.backward_params:
            if index < len(fn.params):
                value = bound.get(fn.params[index].name)
                if value is not None:
                    self._training_step(value.taint, state)
        def mapped(objs: Iterable[str]) -> frozenset[str]:
            out: set[str] = set()
            for obj in objs:
                out |= resolve(obj[2:]) if obj.startswith("E:") else {obj}
            return frozenset(out)

        for var_key, objs in summary.globals_out:
            state.vars[var_key] = Value(objs=mapped(objs))
        ret_objs = set(mapped(summary.returns))
        taint: set[str] = set()
        for req in summary.requirements:
            fid = self._instantiate_requirement(req, callee, node, resolve, pre, fn, bound)
            if fid is not None and req.returned:
                taint.add(fid)
        for path in summary.returns_forward_of:
            value = bound.get(path)
            if value is not None:
                taint |= value.taint
        elts = None
        if summary.returns_elts is not None:
            elts = tuple(Value(objs=mapped(position)) for position in summary.returns_elts)
        return Value(objs=frozenset(ret_objs), taint=frozenset(taint), elts=elts)

    def _resolve_entry_path(self, path: str, bound: dict[str, Value], state: State) -> frozenset[str]:
        if path.startswith("G:") or path.startswith("C:"):
            bar = path.index("|")
            dot = path.find(".", bar)
            root, rest = (path, "") if dot < 0 else (path[:dot], path[dot + 1 :])
            if root.startswith("C:"):
                scope, name = root[2:].split("|", 1)
                if scope == self.fn.qualname:
                    objs = state.vars.get(name, NOTHING).objs
                elif self.closure_env is not None:
                    objs = self.closure_env.get(name, _NO_OBJS)  # a passed-in closure's (see `_call_function_value`)
                else:
                    objs = self._entry_var(root, state).objs
            else:
                module, name = root[2:].split("|", 1)
                if module == self.module and not self.is_module_body and name in self.fn.local_names and name not in self.fn.global_names:
                    objs = self._entry_var(root, state).objs
                else:
                    objs = self._entry_var(root, state).objs
        else:
            root, _, rest = path.partition(".")
            value = bound.get(root)
            objs = value.objs if value is not None else frozenset()
        for attr in rest.split(".") if rest else ():
            objs = self.attr_objs(state, objs, attr)
        return objs

    def _instantiate_mode(
        self,
        mode: ModeVal,
        pre: State,
        obj: str,
        resolve: Callable[[str], frozenset[str]],
        callee: str,
        node: ir.Call,
    ) -> ModeVal:
        out = self._through(mode.without(M.ENTRY), callee, node)
        if mode.entry is not None:
            entry_objs = resolve(mode.entry.what) or {obj}
            plain = {o for o in entry_objs if (info := self.info_of(o)) is not None and info.is_module is False}
            if plain:
                # `model.train(phase.training)` with a plain object's flag (a dataclass): whatever
                # it holds, not a module's mode.
                out = out.join(M.only(M.UNKNOWN, self._origin(node.loc, callee)))
                entry_objs = set(entry_objs) - plain
            if entry_objs:
                out = out.join(self.mode_of_all(pre, entry_objs))
        return out

    def _through(self, mode: ModeVal, callee: str, node: ir.Call) -> ModeVal:
        kwargs = {}
        for kind in (M.TRAIN, M.EVAL, M.UNKNOWN):
            origin = mode.get(kind)
            if origin is not None:
                kwargs[kind] = origin.through(callee, self.path, node.loc.line)
        return ModeVal(entry=mode.entry, **kwargs)

    def _instantiate_requirement(
        self,
        req: Requirement,
        callee: str,
        node: ir.Call,
        resolve: Callable[[str], frozenset[str]],
        pre: State,
        fn: ir.FunctionFacts,
        bound: dict[str, Value],
    ) -> str | None:
        objs = resolve(req.path)
        if not objs or self._settled_by_flag(req, fn, bound, node):
            return None
        if req.kind == "export":
            # The callee exports what it was handed: judged with the caller's mode.
            self._event(
                req.detail.split("|")[0], req.loc, req.label, req.detail.split("|")[1], pre, objs, req.file,
                req.anchors[2],
            )
            return None
        fid = f"{req.fid}@{self.path}:{node.loc.line}:{node.loc.col}"
        guards = self._receiver_guards(req.guards, node)
        mode = self._guarded_mode(pre, objs, guards)
        guards = (*self.flag_guards, *(g for g in guards if g[0].startswith("self.") and g not in self.flag_guards))
        carried_eval = self._later_in_loop(mode.eval)
        loop = self.loop_stack[-1] if self.loop_stack else None
        via = _through_call((callee, self.path, node.loc.line), req.via)
        existing = self.forwards.get(fid)
        if existing is not None:
            existing.mode = existing.mode.join(mode)
            existing.objs = existing.objs | objs
            existing.no_grad = existing.no_grad and (req.no_grad or self.no_grad)
            existing.stepped = existing.stepped or _marked(objs, pre.stepped)
            train_objs, eval_objs = self._objs_by_mode(pre, objs)
            existing.loaded = existing.loaded or _loaded_weights(objs, train_objs, pre)
            existing.train_objs = existing.train_objs | train_objs
            existing.eval_objs = existing.eval_objs | eval_objs
            existing.feeds_training = existing.feeds_training or req.feeds_training
            existing.callee_inference = existing.callee_inference or req.callee_inference
            existing.flags = _common_flags(existing.flags, self._flag_conds(pre, objs))
            existing.carried_eval = existing.carried_eval or carried_eval
            existing.guards = _common_flags(existing.guards, guards)
            self._note_train_origins(existing, pre, objs)
            return fid
        train_objs, eval_objs = self._objs_by_mode(pre, objs)
        self.forwards[fid] = Forward(
            fid=fid,
            path=req.file,
            loc=req.loc,
            function=req.function,
            label=req.label,
            objs=objs,
            mode=mode,
            no_grad=req.no_grad or self.no_grad,
            in_init=req.in_init,
            inference_hint=req.inference_hint,
            trained=req.trained,
            value_used=req.value_used,
            shape_used=req.shape_used,
            loop=loop,
            via=via,
            optimized=bool(objs & pre.optimized),
            loaded=_loaded_weights(objs, train_objs, pre),
            stepped=_marked(objs, pre.stepped),
            train_objs=train_objs,
            eval_objs=eval_objs,
            anchors=req.anchors,
            feeds_training=req.feeds_training,
            callee_inference=req.callee_inference,
            flags=self._flag_conds(pre, objs),
            carried_eval=carried_eval,
            guards=guards,
        )
        self._note_train_origins(self.forwards[fid], pre, objs)
        return fid

    # ------------------------------------------------------------------ external calls

    def call_external(self, node: ir.Call, qualname: str, state: State) -> Value:
        args, kwargs = self.eval_args(node, state)
        last = qualname.rsplit(".", 1)[-1]
        if self.fn.class_qualname is not None and self.in_module_class:
            self._functional_dropout_events(node, qualname)
        if qualname in K.EXPORTERS and args:
            self._event("export", node.loc, path_text(node.args[0]) or "model", qualname, state, args[0].objs)
            self._note_held_in_train("export", node.loc, state, args[0].objs)
        if qualname in K.SAVED_EXPORTERS and args:
            # A scripted/traced module is an artefact once saved or handed back to the caller; a
            # trace drawn for TensorBoard's graph view is not.
            obj = self._alloc_id(node)
            self.ctx.set_alloc(obj, ObjInfo(label=f"{last}()", is_module=None, sensitive=True), self.key)
            self.scripted[obj] = (node.loc, qualname != "torch.jit.script")
            self._event("pending-export", node.loc, path_text(node.args[0]) or "model", qualname, state, args[0].objs)
            self._note_held_in_train("pending-export", node.loc, state, args[0].objs)
            return Value(objs=frozenset({obj}))
        if qualname == "torch.jit.save" and args:
            self._scripted_saved(args[0])
        if qualname in K.MODE_SHARING_WRAPPERS and args:
            return Value(objs=args[0].objs, taint=args[0].taint)
        if qualname in K.MODEL_ENGINE_INITIALIZERS:
            name, position = K.MODEL_ENGINE_INITIALIZERS[qualname]
            model = kwargs.get(name) or (args[position] if len(args) > position else NOTHING)
            if model.objs:
                trained = kwargs.get("model_parameters", NOTHING).params_of
                state.optimized = state.optimized | trained  # the engine builds the optimizer
                engine = self._engine_around(node, model, state)
                return Value(objs=engine.objs, elts=(engine, NOTHING, NOTHING, NOTHING))
        if qualname == "functools.partial" and args and args[0].sym is not None:
            return Value(sym=args[0].sym, partial=(*args[0].partial, *args[1:]))
        if qualname == "copy.deepcopy" and args:
            return self._deepcopy(node, args[0], state)
        if qualname in K.COPYING_WRAPPERS and (args or "module" in kwargs):
            # `AveragedModel(model)` deep-copies the model: a new module, in the mode it had then.
            return self._deepcopy(node, args[0] if args else kwargs["module"], state, f"{last}()")
        if qualname in K.UNKNOWN_MODE_LOADERS:
            return self._alloc_unknown(node, state)
        if K.is_optimizer_class(qualname):
            obj = self._alloc_id(node)
            self.ctx.set_alloc(obj, ObjInfo(label=f"{last}()", is_module=False, sensitive=False, optimizer=True), self.key)
            for v in (*args, *kwargs.values()):
                state.optimized = state.optimized | v.params_of
            state.optimized = state.optimized | self._models_handed_to_helpers(node, state)
            return Value(objs=frozenset({obj}))
        if qualname in ("torch.autograd.backward",) and args:
            self._training_step(args[0].taint, state)
            return NOTHING
        if qualname.endswith(".from_pretrained"):
            # torch.nn's own (`nn.Embedding.from_pretrained`) only builds the layer: train mode.
            kind = M.TRAIN if K.torch_nn_class(qualname[: -len(".from_pretrained")]) else M.EVAL
            return self._alloc_module(node, state, qualname, kind, weights=True)
        if K.is_factory(qualname):
            weights = _pretrained_kwargs(kwargs)
            return self._alloc_module(node, state, qualname, M.TRAIN, weights=weights)
        nn_class = K.torch_nn_class(qualname)
        if nn_class is not None:
            if nn_class in K.TORCH_NN_CONTAINERS:
                # Children we lost track of (`nn.Sequential(*list(resnet.children())[:-1])`) may be
                # anything: unknown counts as sensitive.
                sensitive = (
                    node.has_star
                    or bool(kwargs)
                    or any(self._objs_sensitive(v.objs) or not (v.objs or v.is_const) for v in args)
                )
                if not node.has_star and not kwargs:
                    built = self._container_of_models(node, qualname, args, state)
                    if built is not None:
                        return built
            else:
                sensitive = nn_class in K.SENSITIVE_TORCH_NN or (
                    nn_class in ("LSTM", "GRU", "RNN", "MultiheadAttention") and _nonzero(kwargs.get("dropout"))
                )
            return self._alloc_module(node, state, qualname, M.TRAIN, sensitive=sensitive)
        if last in K.INFERENCE_OPS or qualname in ("torch.nn.functional.softmax", "torch.max"):
            for v in args:
                if v.taint:
                    self._note_prediction(v.taint, last)
        if last[:1].isupper():
            kind = external_class_kind(qualname)
            obj = self._alloc_id(node)
            if kind == "not-module":
                self.ctx.set_alloc(obj, ObjInfo(label=f"{last}()", is_module=False, sensitive=False), self.key)
                state.modes[obj] = M.only(M.UNKNOWN, self._origin(node.loc, f"{last}()"))
                if K.is_non_module_class_name(qualname):
                    for v in (*args, *kwargs.values()):
                        self._make_unknown(v.objs, state, node, f"`{last}`")
            else:
                # An unknown class handed a model is most likely a wrapper (DistributedModel(model),
                # an EMA holder): its mode is not PyTorch's construction default, so never upgrade it.
                wraps = any(
                    self._is_model_value(v, state) or any(o.startswith("E:") for o in v.objs)
                    for v in (*args, *kwargs.values())
                )
                self.ctx.set_alloc(obj, ObjInfo(label=f"{last}()", is_module=None, sensitive=True, wrapper=wraps), self.key)
                state.modes[obj] = M.only(M.UNKNOWN, self._origin(node.loc, f"{last}()", explicit=False))
            _drop_children(state.modes, obj)
            self._mark_used_all([*args, *kwargs.values()])
            return Value(objs=frozenset({obj}))
        if K.builds_model_by_name(qualname) and not any(
            self._is_model_value(v, state) for v in (*args, *kwargs.values())
        ):
            # `build_wideresnet(depth=28)` from a module outside the checked tree: a model of
            # unknown class and mode (only the code's own train()/eval() say more).
            obj = self._alloc_id(node)
            self.ctx.set_alloc(obj, ObjInfo(label=f"{last}()", is_module=None, sensitive=True), self.key)
            state.modes[obj] = M.only(M.UNKNOWN, self._origin(node.loc, f"{last}()", explicit=False))
            self._mark_used_all([*args, *kwargs.values()])
            return Value(objs=frozenset({obj}))
        if K.may_change_mode(last):
            for v in (*args, *kwargs.values()):
                self._make_unknown(v.objs, state, node, f"`{last}()`")
        result = self._opaque_result(args, kwargs)
        if qualname.startswith(("torch.", "numpy.", "math.", "os.", "json.", "logging.")):
            return result
        return self._passthrough(node, result, args, state)

    def _engine_around(self, node: ir.Call, model: Value, state: State) -> Value:
        """A training engine holding the model (`engine.module`): its own object (its methods are
        not the model's: `engine.step()` is no forward), in the model's mode, switching the
        model along with it (a field, as for a submodule)."""
        obj = self._alloc_id(node)
        sensitive = self._objs_sensitive(model.objs)
        self.ctx.set_alloc(obj, ObjInfo(label="engine", is_module=True, sensitive=sensitive, wrapper=True), self.key)
        state.modes[obj] = self.mode_of_all(state, model.objs)
        state.fields[(obj, "module")] = model.objs
        if model.objs & state.optimized:
            state.optimized = state.optimized | {obj}
        if _marked(model.objs, state.loaded):
            state.loaded = state.loaded | {obj}
        return Value(objs=frozenset({obj}))

    def _deepcopy(self, node: ir.Call, source: Value, state: State, label: str = "deepcopy()") -> Value:
        obj = self._alloc_id(node)
        infos = [self.info_of(o) for o in sorted(source.objs)]
        known = [i for i in infos if i is not None]
        if known:
            # A copy of any of them: a module if one is, sensitive if one is (independent of the
            # order a set happens to iterate in).
            modules = {i.is_module for i in known}
            is_module = True if True in modules else (None if None in modules else False)
            copied = ObjInfo(
                label=label,
                is_module=is_module,
                sensitive=any(i.sensitive for i in known),
                weights=any(i.weights for i in known),
                optimizer=all(i.optimizer for i in known),
                wrapper=any(i.wrapper for i in known),
            )
        else:
            copied = ObjInfo(label=label, is_module=None, sensitive=True)
        self.ctx.set_alloc(obj, copied, self.key)
        if source.objs:
            state.modes[obj] = self.mode_of_all(state, source.objs)
            if source.objs & state.loaded or any(i.is_module for i in known):
                # A copy of a model is kept for its weights (EMA, best-so-far snapshot, teacher).
                state.loaded = state.loaded | {obj}
        else:
            state.modes[obj] = M.only(M.UNKNOWN, self._origin(node.loc, label))
        return Value(objs=frozenset({obj}))

    def _alloc_unknown(self, node: ir.Call, state: State) -> Value:
        obj = self._alloc_id(node)
        self.ctx.set_alloc(obj, ObjInfo(label=_LOADED_LABEL, is_module=None, sensitive=True), self.key)
        state.modes[obj] = M.only(M.UNKNOWN, self._origin(node.loc, _LOADED_LABEL))
        return Value(objs=frozenset({obj}))

    def _untracked_model(self, source: ir.Call, value: Value, state: State) -> Value:
        """`model = ARCHS[name](weights=w)`, `model = create_model(args.model)` from a registry, any
        call whose result is not tracked, assigned to a name this function uses as a module
        (`model.parameters()`, `model.fc = nn.Linear(...)`): a model of unknown class and mode, so
        that the code's own train()/eval() calls on it are followed (its origin alone never yields
        a finding). Nothing is recorded about it project-wide (an object of unknown class counts
        as mode-sensitive anyway): a project call's result may be known later in the analysis,
        and the object is then simply not built (the outcome does not depend on the order)."""
        obj = self._alloc_id(source)
        label = f"{path_text(source.func) or 'model'}()"
        # A class looked up at run time builds a fresh module: in train mode, PyTorch's default,
        # whatever the class. Any other call (a loader, a library's helper) may return a model in
        # either mode.
        kind = M.TRAIN if _looked_up_class(source.func) else M.UNKNOWN
        state.modes[obj] = M.only(kind, self._origin(source.loc, label, explicit=False))
        _drop_children(state.modes, obj)
        return Value(objs=frozenset({obj}), taint=value.taint)

    def _alloc_module(
        self,
        node: ir.Call,
        state: State,
        qualname: str,
        kind: str,
        weights: bool = False,
        sensitive: bool = True,
        label: str | None = None,
    ) -> Value:
        obj = self._alloc_id(node)
        if label is None:
            label = f"{qualname.rsplit('.', 1)[-1]}()"
        if qualname.endswith(".from_pretrained"):
            label = f"{qualname.split('.')[-2]}.from_pretrained()"
        self.ctx.set_alloc(obj, ObjInfo(label=label, is_module=True, sensitive=sensitive, weights=weights), self.key)
        state.modes[obj] = M.only(kind, self._origin(node.loc, label, explicit=kind == M.EVAL))
        _drop_children(state.modes, obj)
        if weights:
            state.loaded = state.loaded | {obj}
        return Value(objs=frozenset({obj}))

    def _container_of_models(self, node: ir.Call, qualname: str, args: list[Value], state: State) -> Value | None:
        """`nn.Sequential(backbone, head)` of models built or switched before: the container's
        own flag is never read, its children keep their modes, so it runs in theirs (those of the
        mode-sensitive ones) and carries their loaded weights. None when no child says more than
        PyTorch's construction default."""
        children = [o for v in args for o in v.objs if self._sensitive_module(o)]
        if not children:
            return None
        mode = self.mode_of_all(state, children)
        explicit = any(origin.explicit for origin in (mode.train, mode.eval, mode.unknown) if origin is not None)
        loaded = bool(state.loaded & set(children))
        if not explicit and not loaded:
            return None
        value = self._alloc_module(node, state, qualname, M.TRAIN, sensitive=True)
        (obj,) = value.objs
        state.modes[obj] = mode
        if loaded:
            state.loaded = state.loaded | {obj}
        for i, arg in enumerate(args):
            if arg.objs:
                state.fields[(obj, str(i))] = arg.objs  # `model[0]`; what its train() reaches
        for child in children:
            frozen = state.modes.get(child)
            if frozen is not None and frozen.eval is not None and frozen.eval.explicit:
                # `backbone.eval()` before wrapping it: a freeze of this container's part.
                self._remember_freeze_path(child, frozen.eval, {obj})
                self.wrapped_freezes.add((obj, child, frozen.eval))
        return value

    def _sensitive_module(self, obj: str) -> bool:
        """Known to be a module with mode-dependent layers."""
        info = self.info_of(obj)
        return info is not None and info.is_module is True and info.sensitive

    def _objs_sensitive(self, objs: frozenset[str]) -> bool:
        for obj in objs:
            info = self.info_of(obj)
            if info is None or info.sensitive:
                return True
        return False

    def _make_unknown(self, objs: frozenset[str], state: State, node: ir.Call, what: str) -> None:
        for obj in objs:
            info = self.info_of(obj)
            if info is not None and (info.is_module is False or info.optimizer):
                continue
            if obj.startswith("E:") and self.mode_of(state, obj).kinds() == {M.ENTRY}:
                # Keep the caller's view: an unknown callee is assumed to leave entry modes alone.
                state.modes[obj] = M.only(M.UNKNOWN, self._origin(node.loc, what))
                continue
            state.modes[obj] = M.only(M.UNKNOWN, self._origin(node.loc, what))
            _drop_children(state.modes, obj)

    # ================================================================== training steps and taint

    def _note_update(self) -> None:
        self.has_update = True
        self.update_sites.append((tuple(line for line, _ in self.loop_lines), self.current_loc.line))

    def _training_step(self, taint: frozenset[str], state: State) -> None:
        self.has_step = True
        loop = self.loop_stack[-1] if self.loop_stack else None
        if taint:
            self.backward_sites.append((taint, tuple(line for line, _ in self.loop_lines), self.current_loc.line, loop))
        else:
            self.other_step_loops.add(loop)  # an optimizer step, a callee's step
        self.step_loops.add(loop)
        if any(t in self.forwards for t in taint):
            self.taint_known_loops.add(loop)
        self.backward_taint |= taint
        # Trained weights matter as much as loaded ones: the model is no longer a throwaway.
        learned = set(state.optimized)
        for fid in taint:
            fwd = self.forwards.get(fid)
            if fwd is not None:
                learned |= fwd.objs
        learned = _with_fields(state, frozenset(learned))
        state.loaded = state.loaded | learned
        state.stepped = state.stepped | learned
        for child, loc, freeze, label, path in sorted(state.unfrozen, key=lambda u: (u[4], u[1].line, u[1].col, u[0])):
            if child.endswith(_CALLER_FROZEN):
                self.unfreeze_reqs.add((child[2 : -len(_CALLER_FROZEN)], loc, label, self.path, ()))
                continue
            self._event("train-undoes-freeze", loc, label, f"{freeze.what}|{freeze.path}|{freeze.line}", path=path or None)

    def _mark(self, taint: frozenset[str], **flags: bool) -> None:
        for fid in taint:
            fwd = self.forwards.get(fid)
            if fwd is not None:
                for name, value in flags.items():
                    if value:
                        setattr(fwd, name, True)
            elif flags.get("callee_inference") and fid in self.param_taints:
                self.inference_params.add(self.param_taints[fid])  # (passed on to this one's callers)

    def _note_prediction(self, taint: frozenset[str], op: str) -> None:
        """`op` (argmax, topk, a metric) turns a value into a prediction: an inference hint for
        the forwards behind it, and for the caller's forwards behind a parameter."""
        self._mark(taint, inference_hint=True)
        if op in K.PREDICTION_OPS:
            self.inference_params.update(self.param_taints[t] for t in taint if t in self.param_taints)

    def _mark_used(self, value: Value) -> None:
        self._mark(value.taint, value_used=True)

    def _mark_used_all(self, values: Iterable[Value]) -> None:
        for v in values:
            if v.taint:
                self._mark_used(v)

    def _note_fed_training(self) -> None:
        """A no_grad forward whose output reaches a backward() is part of training when its model
        is trained here too and the output feeds a different model's step: a GAN's generator
        drawing fakes for the discriminator. A model whose no_grad output only feeds its own
        loss (a rollout in train mode) or that is not trained here (a teacher) is not."""
        fed = [f for fid in self.backward_taint if (f := self.forwards.get(fid)) is not None and f.no_grad]
        if not fed:
            return
        trained = [f for f in self.forwards.values() if f.trained or (f.fid in self.backward_taint and not f.no_grad)]
        def together(a: int, b: int) -> bool:
            return any(first <= a <= last and first <= b <= last for first, last in self.loop_spans)

        for fwd in fed:
            # (Its own training in the same loop: the generator's step in the iteration that drew
            # the fakes, not a training phase before a separate evaluation-like one.)
            own = any(f.objs & fwd.objs and together(f.loc.line, fwd.loc.line) for f in trained)
            other = any(not (f.objs & fwd.objs) for f in trained)
            fwd.feeds_training = own and other

    def _models_handed_to_helpers(self, node: ir.Call, state: State) -> frozenset[str]:
        """Models named as arguments of a call inside an optimizer's arguments:
        `AdamW(param_groups(model, weight_decay))` updates `model`'s parameters, whatever the
        helper selects (an input optimized against a frozen model, `LBFGS([image])`, names none)."""
        found: set[str] = set()
        for arg in (*node.args, *(v for _, v in node.kwargs)):
            for part in ir.walk_expr(arg):
                if type(part) is not ir.Call:
                    continue
                for inner in (*part.args, *(v for _, v in part.kwargs)):
                    if type(inner) is ir.Name:
                        value = state.vars.get(self._var_key(inner.id))
                        if value is not None and self._is_model_value(value, state):
                            found |= value.objs
        return frozenset(found)

    def _optimized_field(self, objs: frozenset[str]) -> bool:
        """Some of these objects are fields of this method's `self` that an optimizer built in a
        method of the class updates (see `ProjectIndex.optimized_fields`)."""
        if self.fn.kind != "instance" or self.fn.class_qualname is None:
            return False
        fields = None
        for obj in objs:
            if obj.startswith("E:self."):
                if fields is None:
                    fields = self.ctx.index.optimized_fields(func_key(self.module, self.fn.class_qualname))
                if obj[7:].split(".", 1)[0] in fields:
                    return True
        return False

    def _finish_forwards(self) -> list[Forward]:
        for fwd in self.forwards.values():
            fwd.function_has_step = self.has_step
            fwd.fkey = self.key
            if fwd.objs & self.trained_explicitly or self._optimized_field(fwd.objs):
                fwd.optimized = True
        for fid in self.backward_taint:
            fwd = self.forwards.get(fid)
            if fwd is not None and not fwd.no_grad:
                # Under no_grad nothing flows back: a teacher's output in the loss is not trained.
                fwd.trained = True
        for fwd in self.forwards.values():
            if (
                not fwd.no_grad
                and not fwd.inference_hint
                and not fwd.synthetic
                and fwd.loop is not None
                and fwd.loop in self.step_loops
                and fwd.loop not in self.taint_known_loops
            ):
                fwd.trained = True
        for fwd in self.forwards.values():
            # (A prediction for a callee's metric, unless it is a training step: a loss helper
            # may apply `sigmoid()` to the outputs it is handed.)
            if fwd.callee_inference and not fwd.trained:
                fwd.inference_hint = True
        return list(self.forwards.values())

    # ================================================================== events for statement rules

    def _functional_dropout_events(self, node: ir.Call, qualname: str) -> None:
        last = qualname.rsplit(".", 1)[-1]
        if K.mc_dropout_intent(self.fn) or self.training_only:
            return  # (a branch that runs only in training follows the mode)
        if K.is_functional_dropout(qualname) and last != "batch_norm":
            aten = qualname in K.ATEN_DROPOUTS
            label = f"torch.{last}" if aten else f"F.{last}"
            training = dict(node.kwargs).get("train" if aten else "training")
            by_keyword = training is not None
            if training is None and len(node.args) >= 3:
                training = node.args[2]
            rate = dict(node.kwargs).get("p", node.args[1] if len(node.args) >= 2 else None)
            if rate is not None and (is_zero(rate) or self._zeroed_outside_training(rate)):
                return
            if training is None and not aten and not node.has_star and last in K.DROPOUT_DEFAULT_TRAINING:
                self._event("functional-dropout", node.loc, label, "missing")
            elif training is None and not aten and not node.has_star and last in K.DROPOUT_DEFAULT_OFF:
                self._event("functional-dropout", node.loc, label, "missing-off")
            elif isinstance(training, ir.Const) and training.value is True and not _always_on_intent(self.fn):
                if type(rate) is ir.Name and any(p.name == rate.id for p in self.fn.params):
                    # `torch.dropout(w, dropout_p, train=True)` in a re-implementation of attention:
                    # the caller chooses the rate, as for scaled_dot_product_attention's dropout_p.
                    return
                self._event("functional-dropout", node.loc, label, "true" if by_keyword else "true-arg")
        elif qualname == "torch.nn.functional.scaled_dot_product_attention":
            p = dict(node.kwargs).get("dropout_p")
            if p is None and len(node.args) >= 5:
                p = node.args[4]
            if _ungated_dropout_p(p):
                self._event("sdpa-dropout", node.loc, path_text(p) or repr(getattr(p, "value", "p")))  # type: ignore[arg-type]

    def _zeroed_outside_training(self, rate: ir.Expr) -> bool:
        """`if not training: dropout_p = 0.0` before `F.dropout(x, p=dropout_p)`."""
        return type(rate) is ir.Name and zeroed_outside_training(self.fn.body, rate.id)

    def _scripted_saved(self, value: Value, returned: bool = False) -> None:
        """A scripted or traced module saved, or a traced one returned: the artefact keeps the
        mode. A scripted module handed back to the caller does not: `training` stays a flag of the
        ScriptModule, and `eval()` still switches it."""
        for obj in value.objs:
            loc, baked = self.scripted.get(obj, (None, False))
            if returned and not baked:
                continue
            pending = self.events.pop(("pending-export", loc), None) if loc is not None else None
            if pending is not None:
                pending.kind = "export"
                self.events[("export", loc)] = pending

    def _event(self, kind: str, loc: Loc, label: str, detail: str = "", state: State | None = None,
               objs: frozenset[str] = frozenset(), path: str | None = None, anchor_line: int = 0) -> None:
        """Record one event per (kind, location); loops revisit statements, so modes are joined."""
        mode = self.mode_of_all(state, objs) if state is not None and objs else None
        loaded = bool(objs & state.loaded) if state is not None else False
        train_objs = self._objs_by_mode(state, objs)[0] if state is not None else frozenset()
        old = self.events.get((kind, loc))
        if old is not None:
            if mode is not None:
                old.mode = mode if old.mode is None else old.mode.join(mode)
            old.loaded = old.loaded or loaded
            old.objs = old.objs | objs
            old.train_objs = old.train_objs | train_objs
            return
        self.events[(kind, loc)] = Event(
            kind, path or self.path, loc, label, detail, mode, objs, loaded, train_objs,
            self.current_loc.line if path is None else anchor_line,
        )

    def _note_held_in_train(self, kind: str, loc: Loc, state: State, objs: frozenset[str]) -> None:
        """An exported wrapper module (`Scorer(model)`) has no mode-dependent layers of its own,
        but what it holds is exported too, in the mode it is in: those in train mode count for the
        event's sensitivity."""
        held = _with_fields(state, objs) - objs
        if held:
            event = self.events[(kind, loc)]
            event.train_objs = event.train_objs | self._objs_by_mode(state, held)[0]

    # ================================================================== contexts

    def _is_no_grad_ctx(self, expr: ir.Expr, state: State) -> bool:
        target = expr.func if isinstance(expr, ir.Call) else expr
        qual = self._qualify(target)
        if qual in K.NO_GRAD_CONTEXTS:
            return True
        if qual in ("torch.set_grad_enabled", "torch.autograd.set_grad_enabled") and isinstance(expr, ir.Call):
            return bool(expr.args) and isinstance(expr.args[0], ir.Const) and expr.args[0].value is False
        return False

    def _is_grad_enabling_ctx(self, expr: ir.Expr) -> bool:
        target = expr.func if isinstance(expr, ir.Call) else expr
        qual = self._qualify(target)
        if qual in ("torch.enable_grad", "torch.autograd.enable_grad"):
            return True
        if qual in ("torch.set_grad_enabled", "torch.autograd.set_grad_enabled") and isinstance(expr, ir.Call):
            return not (expr.args and isinstance(expr.args[0], ir.Const) and expr.args[0].value is False)
        return False

    def _qualify(self, expr: ir.Expr) -> str | None:
        name = dotted_name(expr)
        if name is None:
            return None
        sym = self.ctx.index.static_symbol(expr, self.facts, self.fn)
        if sym.kind == "external":
            return sym.target
        return None

    # ================================================================== helpers

    def _origin(self, loc: Loc, what: str, explicit: bool = True) -> Origin:
        return Origin(self.path, loc.line, loc.col, what, explicit)

    def _alloc_id(self, node: ir.Call) -> str:
        obj = f"N:{self.path}:{node.loc.line}:{node.loc.col}"
        self.own_allocs.add(obj)
        return obj

    # ================================================================== summary

    def _summary(self, exit_state: State) -> Summary:
        effects = _entry_effects(exit_state)
        enter_effects = enter_flag_effects = None
        # A `@contextmanager` helper's block, or a generator's `for` loop body, runs where it yields.
        if self.yield_states:
            at_yield = _join_all(self.yield_states)
            enter_effects = tuple(_entry_effects(at_yield))
            enter_flag_effects = self._flag_effects(at_yield)
        flag_effects = self._flag_effects(exit_state)
        returns: set[str] = set()
        returns_forward_of: set[str] = set()
        for value in self.returns:
            returns |= value.objs
        fields = []
        reachable: set[str] | None = None  # (computed on the first holder built here)
        for (holder, attr), values in sorted(exit_state.fields.items()):
            hpath = entry_path(holder)
            if hpath is None:
                if not holder.startswith("N:"):
                    continue
                if reachable is None:
                    reachable = _reachable_fresh(exit_state, returns)
                if root_of(holder) not in reachable or not any(_frozen_here(exit_state, v) for v in values):
                    continue
                # A part frozen here of a model built here that the caller can reach (returned, or
                # stored in a field of what it passed: a trainer's `self.model.backbone`): the
                # caller gets to know where that part is (see `_note_fresh_freeze`).
                hpath = holder
            fields.append((hpath, attr, tuple(sorted(values))))
        fresh = []
        seen: set[str] = set()
        for obj, mode in sorted(exit_state.modes.items()):
            if obj.startswith("N:") and obj not in seen:
                seen.add(obj)
                fresh.append((obj, mode))
        requirements: dict[tuple[str, str], Requirement] = {}
        flag_params: set[str] | None = None
        for fwd in sorted(self.forwards.values(), key=lambda f: f.fid):
            if fwd.mode.entry is None or self.framework_managed:
                continue
            fwd_returned = any(fwd.fid in v.taint for v in self.returns)
            base_fid = fwd.fid.split("@", 1)[0]
            for obj in sorted(fwd.objs):
                path = entry_path(obj)
                if path is None:
                    continue
                if self.in_module_class and _is_self_rooted(obj):
                    # A module's own submodules: callers see a forward of the module instead.
                    continue
                flags: tuple[tuple[str, ModeVal, ModeVal], ...] = ()
                if fwd.flags:
                    if flag_params is None:
                        flag_params = self._flag_params()
                    flags = tuple((text, held, other) for text, o, held, other in fwd.flags if o == obj and text in flag_params)
                req = Requirement(
                    path=path,
                    fid=base_fid,
                    file=fwd.path,
                    loc=fwd.loc,
                    function=fwd.function,
                    label=fwd.label,
                    no_grad=fwd.no_grad,
                    in_init=fwd.in_init,
                    inference_hint=fwd.inference_hint,
                    callee_inference=fwd.callee_inference,
                    # As in `_finish_forwards`: under no_grad nothing flows back to this model.
                    trained=fwd.trained or (fwd.fid in self.backward_taint and not fwd.no_grad),
                    value_used=fwd.value_used,
                    shape_used=fwd.shape_used,
                    returned=fwd_returned,
                    via=fwd.via,
                    anchors=fwd.anchors,
                    feeds_training=fwd.feeds_training,
                    flags=flags,
                    guards=fwd.guards if self.fn.kind == "instance" else (),
                )
                key = (path, base_fid)
                old = requirements.get(key)
                requirements[key] = req if old is None else _merge_requirements(old, req)
        for event in self.events.values():
            if event.kind != "export" or event.mode is None or event.mode.entry is None:
                continue
            for obj in sorted(event.objs):
                path = entry_path(obj)
                if path is None or (self.in_module_class and _is_self_rooted(obj)):
                    continue
                key = (path, f"{event.kind}:{event.path}:{event.loc.line}:{event.loc.col}")
                requirements[key] = Requirement(
                    path=path, fid=key[1], file=event.path, loc=event.loc, function=self.display,
                    label=event.label, no_grad=False, in_init=False, inference_hint=False, trained=False,
                    value_used=False, shape_used=False, returned=False, via=(),
                    kind="export", detail=f"{event.kind}|{event.detail}", anchors=(0, 0, event.stmt_line),
                )
        backward_params = frozenset(self.param_taints[t] for t in self.backward_taint if t in self.param_taints)
        for value in self.returns:
            for t in value.taint:
                if t in self.param_taints:
                    returns_forward_of.add(self.fn.params[self.param_taints[t]].name)
        return Summary(
            effects=tuple(effects),
            enter_effects=enter_effects,
            enter_flag_effects=enter_flag_effects or (),
            flag_effects=flag_effects,
            fields=tuple(fields),
            loaded=frozenset(o for o in exit_state.loaded if o.startswith(("E:", "N:"))),
            optimized=frozenset(o for o in exit_state.optimized if o.startswith(("E:", "N:"))),
            requirements=tuple(requirements[k] for k in sorted(requirements)),
            unfreezes=tuple(sorted(self.unfreeze_reqs, key=lambda u: (u[0], u[3], u[1].line, u[1].col, u[2], u[4]))),
            returns=tuple(sorted(returns)),
            fresh_modes=tuple(fresh),
            has_step=self.has_step and not self.framework_managed,
            has_update=self.has_update,
            reads_grad=self.reads_grad,
            backward_params=backward_params,
            inference_params=frozenset(self.inference_params),
            returns_forward_of=frozenset(returns_forward_of),
            returns_elts=self._returns_elts(),
            globals_out=self._globals_out(exit_state),
            forwards_self=self.forwards_self,
            calls_passed=tuple(sorted(self.calls_passed)),
            snapshots=_exported_snapshots(exit_state),
            restores=self._restores(effects),
        )

    def _restores(self, effects: list[tuple[str, ModeVal]]) -> tuple[tuple[str, str], ...]:
        """See `Summary.restores`: an entry path left in the mode a flag field set, and calls of
        fields that may hold bound restorers."""
        out = [
            (path, self.restore_flags[mode.unknown])
            for path, mode in effects
            if mode.unknown is not None and mode.kinds() == {M.UNKNOWN} and mode.unknown in self.restore_flags
        ]
        return tuple(out + [("", path) for path in sorted(self.restorer_calls)])

    def _flag_effects(self, state: State) -> tuple[tuple[str, str, ModeVal, ModeVal], ...]:
        """The modes in `state` that depend on a flag parameter (see `Summary.flag_effects`)."""
        if not state.conds:
            return ()
        params = self._flag_params()
        own = self.fn.kind == "instance"
        return tuple(
            (text, entry_path(obj) or obj, held, other)
            for (text, obj), (held, other, joined) in sorted(state.conds.items())
            if (text in params or (own and text.startswith("self.")))
            and obj.startswith(("E:", "N:"))
            and self.mode_of(state, obj) == joined
        )

    def _flag_params(self) -> set[str]:
        """Parameters that still hold the argument (never rebound): flags a caller settles."""
        return {p.name for p in self.fn.params} - _rebound_names(self.fn.body)

    def _returns_elts(self) -> tuple[tuple[str, ...], ...] | None:
        shapes = {len(v.elts) if v.elts is not None else -1 for v in self.returns}
        if len(shapes) != 1 or -1 in shapes or not self.returns:
            return None
        width = shapes.pop()
        return tuple(
            tuple(sorted(set().union(*(v.elts[i].objs for v in self.returns))))  # type: ignore[index]
            for i in range(width)
        )

    def _globals_out(self, exit_state: State) -> tuple[tuple[str, tuple[str, ...]], ...]:
        if self.is_module_body:
            return ()
        out = []
        for key, value in sorted(exit_state.vars.items()):
            if key.startswith("G:") and value.objs != frozenset({f"E:{key}"}) and value.objs:
                out.append((key, tuple(sorted(value.objs))))
        return tuple(out)


_EXPR_HANDLERS = {
    ir.Name: FunctionAnalysis._name,
    ir.Attr: FunctionAnalysis.attribute,
    ir.Call: FunctionAnalysis.call,
    ir.Const: FunctionAnalysis._constant,
    ir.Seq: FunctionAnalysis._seq,
    ir.Subscript: FunctionAnalysis._subscript,
    ir.Starred: FunctionAnalysis._starred,
    ir.IfExp: FunctionAnalysis._ifexp,
    ir.Not: FunctionAnalysis._not,
    ir.FuncRef: FunctionAnalysis._funcref,
    ir.Other: FunctionAnalysis._other,
}


# ====================================================================== module-level helpers


def _looked_up_class(func: ir.Expr) -> bool:
    """Whether a call of `func` builds an object of a class (or a builder) looked up at run time:
    `MODELS.get(name)(**cfg)`, `ARCHS[name](...)`, `getattr(archs, name)(...)`, `model_cls(...)`,
    `Model(...)` (a local bound to a class), `ctor(...)`."""
    t = type(func)
    if t is ir.Subscript:
        return True
    if t is ir.Call:
        inner = func.func
        return (type(inner) is ir.Attr and inner.attr == "get") or (type(inner) is ir.Name and inner.id == "getattr")
    if t is ir.Name:
        name = func.id
        lower = name.lower()
        if lower.endswith(("cls", "class")) or lower == "klass" or (name[:1].isupper() and not name.isupper()):
            return True
        # A model builder picked at run time (`ctor, weights = ARCHS[arch]; ctor(weights=...)`):
        # torchvision's, timm's and projects' builders return fresh models too.
        return any(word in _BUILDER_WORDS for word in K.name_words(name))
    return False


_BUILDER_WORDS = frozenset({"ctor", "constructor", "builder", "factory"})


def _join_all(states: list[State]) -> State:
    out = states[0].copy()
    for other in states[1:]:
        _join_into(out, other)
    return out


def _join_into(a: State, b: State) -> None:
    _merge_into(a.vars, b.vars, Value.join)
    _merge_into(a.fields, b.fields, frozenset.union)
    if a.modes != b.modes:
        _join_modes_into(a, b)
    a.loaded = a.loaded | b.loaded
    a.optimized = a.optimized | b.optimized
    a.stepped = a.stepped | b.stepped
    a.unfrozen = a.unfrozen | b.unfrozen
    if a.conds is not b.conds:
        a.conds = {k: v for k, v in a.conds.items() if b.conds.get(k) == v} if a.conds and b.conds else _NO_CONDS
    if a.snaps is not b.snaps:
        a.snaps = {k: v for k, v in a.snaps.items() if b.snaps.get(k) == v} if a.snaps and b.snaps else _NO_CONDS


def _merge_into(mine: dict, theirs: dict, join: Callable) -> None:
    """Join `theirs` into `mine` entry by entry. Both usually descend from one copy: entries that
    are the same object need no join, and equal maps (most branches assign nothing) are compared
    in C first."""
    if mine == theirs:
        return
    for key, value in theirs.items():
        old = mine.get(key)
        if old is None:
            mine[key] = value
        elif old is not value:
            mine[key] = join(old, value)


def _join_modes_into(a: State, b: State) -> None:
    keys = set(a.modes) | set(b.modes)
    a_modes = dict(a.modes)
    b_modes = b.modes
    for key in keys:
        ma = a_modes.get(key)
        if ma is not None and ma is b_modes.get(key):
            continue  # the same entry in both (both descend from one state)
        ma = _lookup_mode(a_modes, key) if ma is None else ma
        mb = _lookup_mode(b_modes, key)
        if ma is None:
            a.modes[key] = mb  # type: ignore[assignment]
        elif mb is None:
            a.modes[key] = ma
        else:
            a.modes[key] = ma.join(mb)


def _lookup_mode(modes: dict[str, ModeVal], obj: str) -> ModeVal | None:
    """A mode set on the object or inherited from the nearest ancestor set explicitly; an entry
    reference none of whose ancestors was set is in its own entry mode (`self.model` as it came,
    not `self`'s)."""
    start = obj
    while True:
        mode = modes.get(obj)
        if mode is not None:
            return mode
        parent = _parent(obj)
        if parent is None:
            if start.startswith("E:"):
                return M.entry(start[2:])
            return None
        obj = parent


def _with_fields(state: State, objs: frozenset[str]) -> frozenset[str]:
    """These objects and the submodules their fields hold (`self.backbone = resnet18()` in the
    constructor), transitively: loading or training a model loads or trains them too."""
    if not state.fields or not objs:
        return objs
    out = set(objs)
    stack = list(objs)
    while stack and len(out) < 256:
        holder = stack.pop()
        for (owner, _attr), values in state.fields.items():
            if owner == holder:
                for v in values:
                    if v not in out:
                        out.add(v)
                        stack.append(v)
    return frozenset(out)


# Methods that read a dict without changing it.
_DICT_READS = frozenset({"values", "items", "keys", "get", "copy"})


def _dict_values(value: Value) -> frozenset[str]:
    """The objects `.values()` may yield: a held container's own (its elements are paths under
    it), or the values of a dict display built here."""
    if value.keys is None or value.elts is None:
        return value.objs
    return value.objs.union(*(v.objs for v in value.elts))


def _super_of_own_class(call: ir.Call, fn: ir.FunctionFacts) -> bool:
    """`super(ThisClass, self)`, the pre-Python-3 spelling of `super()`."""
    if len(call.args) != 2 or call.kwargs or not all(type(a) is ir.Name for a in call.args):
        return False
    cls, me = call.args
    return cls.id == (fn.class_qualname or "").rpartition(".")[2] and me.id == fn.params[0].name  # type: ignore[union-attr]


def _is_abstract(fn: ir.FunctionFacts | None) -> bool:
    return fn is not None and any((dotted_name(d) or "").endswith("abstractmethod") for d in fn.decorators)


def _constant_key(index: ir.Expr) -> str | None:
    """`"G"` or `0` as a path step (`[G]`, `[0]`); None for a computed or unusual key."""
    if type(index) is not ir.Const:
        return None
    value = index.value
    if type(value) is int or (type(value) is str and value.isidentifier()):
        return f"[{value}]"
    return None


_NO_OBJS: frozenset[str] = frozenset()

# List/dict/set/deque methods that put a value into the container they are called on.
# What `torch.load(path)`, `torch.jit.load`, `torch.hub.load` return: an object of unknown mode.
_LOADED_LABEL = "a loaded object"
# Context managers (and decorators) that hold a mode for a block and restore the previous one, by
# name: evalguard's own, MONAI's, most projects'.
_MODE_CONTEXT_NAMES = {
    **dict.fromkeys(("eval_mode", "evaluating", "evaluation_mode", "eval_context"), M.EVAL),
    **dict.fromkeys(("train_mode", "training_mode", "train_context"), M.TRAIN),
}


def _mode_context_kind(func: ir.Expr) -> str | None:
    """The mode a context manager or decorator named like `eval_mode` holds (see
    `_MODE_CONTEXT_NAMES`), or None."""
    return _MODE_CONTEXT_NAMES.get((dotted_name(func) or "").rsplit(".", 1)[-1].lower())


# In-place tensor updates that set weights from other values (EMA updates, weight copies).
_WEIGHT_WRITES = frozenset({"copy_", "mul_", "add_", "sub_", "lerp_", "addcmul_"})
_CONTAINER_ADDS = frozenset({"append", "extend", "insert", "add", "update", "appendleft", "setdefault"})


def _marked(objs: frozenset[str], marked: frozenset[str]) -> bool:
    """One of these objects, or a model it is part of (`model` for `model.backbone`), is marked
    (weights loaded, trained): a submodule shares its owner's weights and training."""
    if not marked:
        return False
    for obj in objs:
        while obj is not None:
            if obj in marked:
                return True
            obj = _parent(obj)
    return False


def _parent(obj: str) -> str | None:
    root = root_of(obj)
    if root == obj:
        return None
    return obj[: obj.rindex(".")]


def _is_self_rooted(obj: str) -> bool:
    return obj == "E:self" or obj.startswith("E:self.")


def _merge_requirements(a: Requirement, b: Requirement) -> Requirement:
    return replace(
        a,
        no_grad=a.no_grad and b.no_grad,
        in_init=a.in_init and b.in_init,
        inference_hint=a.inference_hint or b.inference_hint,
        trained=a.trained or b.trained,
        value_used=a.value_used or b.value_used,
        shape_used=a.shape_used or b.shape_used,
        returned=a.returned or b.returned,
        feeds_training=a.feeds_training or b.feeds_training,
    )


def _has_set_ancestor(modes: dict[str, ModeVal], obj: str) -> bool:
    while obj is not None:
        if obj in modes:
            return True
        obj = _parent(obj)  # type: ignore[assignment]
    return False


def _drop_children(modes: dict[str, ModeVal], obj: str) -> None:
    prefix = obj + "."
    for key in [k for k in modes if k.startswith(prefix)]:
        del modes[key]


def _replace_state(target: State, source: State) -> None:
    target.vars = source.vars
    target.fields = source.fields
    target.modes = source.modes
    target.loaded = source.loaded
    target.optimized = source.optimized
    target.stepped = source.stepped
    target.unfrozen = source.unfrozen
    target.conds = source.conds
    target.snaps = source.snaps


_Arg = TypeVar("_Arg")


def _through_call(step: tuple[str, str, int], via: tuple[tuple[str, str, int], ...]) -> tuple[tuple[str, str, int], ...]:
    """A call chain (`via`) as seen by the caller making `step`. Through recursion the chain comes
    round to this call again: the path is kept without the cycle, or each round of the fixpoint
    would lengthen it and never settle."""
    return (step, *via[via.index(step) + 1 :]) if step in via else (step, *via)


def _argument_expr(fn: ir.FunctionFacts, node: ir.Call, param: str) -> ir.Expr | None:
    """The expression a call passes for `param` of `fn` (the receiver for a method's first
    parameter); None when not passed plainly."""
    if node.has_star:
        return None
    recv = node.func.value if type(node.func) is ir.Attr else None
    return _bind(fn, list(node.args), dict(node.kwargs), recv).get(param)


# A project function passed as a value: (its key, the objects bound in front by a partial, the
# objects of the caller's variables its closure reads).
FunctionValue = tuple[str, tuple[frozenset[str], ...], tuple[tuple[str, frozenset[str]], ...]]

# Separators inside a function value's object id: never in a path, a name or an object id.
_PART, _ITEM, _OBJ = "\x1e", "\x1f", "\x1d"


def encode_function_value(key: str, bound: tuple[frozenset[str], ...], closure: tuple[tuple[str, frozenset[str]], ...]) -> str:
    """A function value as an object id ("F:..."), passed to callees like any object: what a
    caller passes for a parameter is a set of object ids (`Context.pass_objects`)."""
    if not bound and not closure:
        return f"F:{key}"
    front = _ITEM.join(_OBJ.join(sorted(objs)) for objs in bound)
    env = _ITEM.join(f"{name}={_OBJ.join(sorted(objs))}" for name, objs in closure)
    return f"F:{key}{_PART}{front}{_PART}{env}"


def decode_function_value(obj: str) -> FunctionValue:
    key, _, rest = obj[2:].partition(_PART)
    if not rest:
        return key, (), ()
    front, _, env = rest.partition(_PART)
    bound = tuple(_objs(part) for part in front.split(_ITEM)) if front else ()
    closure = tuple((name, _objs(objs)) for name, _, objs in (item.partition("=") for item in env.split(_ITEM))) if env else ()
    return key, bound, closure


def _objs(text: str) -> frozenset[str]:
    return frozenset(text.split(_OBJ)) if text else _NO_OBJS


def _function_syms(value: Value) -> tuple[Symbol, ...]:
    """The functions a value may be: its alternatives, or its own symbol."""
    syms = value.alts or ((value.sym,) if value.sym is not None else ())
    return tuple(sym for sym in syms if sym.kind == "function")


def _frozen_here(state: State, obj: str) -> bool:
    """`obj`, or a part of it reached by path (`.<sub>` of `.modules()`), is in eval mode by an
    explicit switch."""
    inside = obj + "."
    return any(
        (key == obj or key.startswith(inside)) and mode.eval is not None and mode.eval.explicit
        for key, mode in state.modes.items()
    )


def _reachable_fresh(state: State, returns: set[str]) -> set[str]:
    """Objects built in a function ("N:...") that its caller can reach: returned, or held in a
    field of an entry object, or in a field of one of those, transitively."""
    found = {o for o in returns if o.startswith("N:")}
    for (holder, _attr), values in state.fields.items():
        if holder.startswith("E:"):
            found |= {v for v in values if v.startswith("N:")}
    frontier = list(found)
    while frontier:
        inside = frontier.pop() + "."
        for (holder, _attr), values in state.fields.items():
            if holder.startswith("N:") and (holder + ".").startswith(inside):
                for v in values:
                    if v.startswith("N:") and v not in found:
                        found.add(v)
                        frontier.append(v)
    return found


def _loaded_weights(objs: frozenset[str], train_objs: frozenset[str], state: State) -> bool:
    """Whether a forward runs a model with loaded or learned weights: of the objects that may be
    in train mode, when some are (`for m in [fresh, loaded]: m(x)`: the fresh one's train mode
    says nothing about the loaded one's weights)."""
    return _marked(train_objs or objs, state.loaded)


def _free_names(fn: ir.FunctionFacts) -> set[str]:
    """Names a function reads that it does not bind (a superset: attribute names too)."""
    walk = Walk()
    walk.block(fn.body)
    return walk.names - fn.local_names


def _bind(fn: ir.FunctionFacts, args: list[_Arg], kwargs: dict[str, _Arg], recv: _Arg | None) -> dict[str, _Arg]:
    """Parameter name -> what a call passes for it (analysis values, or the argument
    expressions themselves): the receiver for a method's first parameter, positional arguments
    in order, keywords by name."""
    params = list(fn.params)
    bound: dict[str, _Arg] = {}
    if fn.kind in ("instance", "class") and params:
        first = params.pop(0)
        if recv is not None:
            bound[first.name] = recv
    positional = [p for p in params if p.kind in ("pos", "posonly")]
    for param, value in zip(positional, args):
        bound[param.name] = value
    by_name = {p.name for p in params if p.kind in ("pos", "kwonly")}
    for name, value in kwargs.items():
        if name in by_name:
            bound[name] = value
    return bound


def _mode_call_signature(node: ir.Call, meth: str) -> bool:
    """Could this be nn.Module.train(mode=True) / eval()? `model.train(data=..., epochs=3)` is a
    training-loop method of some other class."""
    if meth == "eval":
        return not node.args and not node.kwargs
    if meth != "train" or node.has_star:
        return False
    if len(node.args) + len(node.kwargs) > 1:
        return False
    if node.kwargs and node.kwargs[0][0] != "mode":
        return False
    if node.args and isinstance(node.args[0], ir.Const) and not isinstance(node.args[0].value, bool):
        return False
    return True


def _mode_override(fn: ir.FunctionFacts, meth: str) -> bool:
    """A project `train`/`eval` method that overrides nn.Module's (same shape: at most a mode flag)."""
    params = [p for p in fn.params[1:] if p.kind not in ("star", "dstar")]
    if meth == "eval":
        return all(p.has_default for p in params)
    return len(params) <= 1 and all(p.has_default for p in params)


def _bad_mode_literal(node: ir.Call) -> str | None:
    """`train("False")`, `train(0)`, `train(mode=None)`: a literal that is not a bool."""
    if len(node.args) + len(node.kwargs) != 1:
        return None
    value = node.args[0] if node.args else (node.kwargs[0][1] if node.kwargs[0][0] == "mode" else None)
    if isinstance(value, ir.Const) and not isinstance(value.value, bool) and value.value is not ...:
        return repr(value.value)
    return None


def _mode_intent(node: ir.Call) -> str | None:
    """What a non-bool literal passed to train() means: `0`/`"False"`/`"eval"` -> EVAL,
    `1`/`"True"`/`"train"` -> TRAIN; None or anything else -> unclear."""
    value = (node.args[0] if node.args else node.kwargs[0][1]) if (node.args or node.kwargs) else None
    if not isinstance(value, ir.Const):
        return None
    v = value.value
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return M.TRAIN if v else M.EVAL
    if isinstance(v, str):
        word = v.strip().lower()
        if word in ("false", "0", "eval", "no", "off", "test", "val", "valid"):
            return M.EVAL
        if word in ("true", "1", "train", "yes", "on"):
            return M.TRAIN
    return None


def _always_on_intent(fn: ir.FunctionFacts) -> bool:
    """`training=True` written out in a class meant to be stochastic at inference (Tacotron-style
    prenets, noisy/Bayesian layers): deliberate."""
    names = f"{fn.class_qualname or ''}.{fn.name}".lower()
    return any(word in names for word in ("prenet", "bayes", "stochastic", "noisy", "always", "variational"))


def _ungated_dropout_p(p: ir.Expr | None) -> bool:
    """`dropout_p=0.1` or `dropout_p=self.attn_drop` — not `self.p if self.training else 0.0`."""
    if p is None:
        return False
    if isinstance(p, ir.Const):
        return isinstance(p.value, (int, float)) and not isinstance(p.value, bool) and p.value != 0
    if isinstance(p, ir.Attr):
        text = path_text(p) or ""
        return "training" not in text
    return False


def _pretrained_kwargs(kwargs: dict[str, Value]) -> bool:
    for name in ("pretrained", "weights", "pretrained_backbone", "checkpoint_path"):
        value = kwargs.get(name)
        if value is None:
            continue
        if value.is_const and value.const in (False, None, "", 0):
            continue
        return True
    return False


def _nonzero(value: Value | None) -> bool:
    if value is None:
        return False
    if value.is_const:
        return bool(value.const)
    return True


def _isinstance_call(expr: ir.Expr) -> ir.Call | None:
    """`isinstance(x, kinds)` as written, else None."""
    if type(expr) is ir.Call and dotted_name(expr.func) == "isinstance" and len(expr.args) == 2:
        return expr
    return None


def _flag_truth(param: str, fn: ir.FunctionFacts, bound: dict[str, Value], node: ir.Call) -> bool | None:
    """The truth of flag parameter `param` at this call: a literal argument, or a literal
    default left alone (not when `*args`/`**kwargs` might pass it); None when unknown."""
    value = bound.get(param)
    if value is not None:
        return bool(value.const) if value.is_const else None
    if node.has_star:
        return None
    return next((p.default_truth for p in fn.params if p.name == param), None)


def _receiver_text(node: ir.Call) -> str | None:
    """`trainer` for `trainer.set_eval()`; None for a call without a written receiver."""
    return path_text(node.func.value) if type(node.func) is ir.Attr else None


def _as_receiver(text: str, receiver: str) -> str:
    """A callee's `self.<flag>` as the caller writes it: `trainer.<flag>`."""
    return receiver + text[len("self"):]


def _common_flags(a: tuple, b: tuple) -> tuple:
    """The flag dependencies two visits of one forward agree on."""
    return a if a == b else tuple(f for f in a if f in b)


def _flag_test(test: ir.Expr) -> tuple[str, bool] | None:
    """(`args.distill`, True) for `if args.distill:`, False for `if not args.distill:`."""
    positive = True
    if type(test) is ir.Not:
        test, positive = test.operand, False
    text = dotted_name(test) if type(test) in (ir.Name, ir.Attr) else None
    return (text, positive) if text else None


def _restores_flag(body: tuple[ir.Stmt, ...], path: str) -> bool:
    """Does the function put back a saved flag, `<path>.training = <a name>`?"""
    return any(
        type(stmt) is ir.Assign
        and type(stmt.value) is ir.Name
        and any(type(t) is ir.Attr and t.attr == "training" and path_text(t.value) == path for t in stmt.targets)
        for stmt in ir.walk_statements(body)
    )


def _sets_mode_from_value(body: tuple[ir.Stmt, ...]) -> bool:
    """`m.train(flag)` / `m.train(mode=flag)` or `m.training = flag` with anything but a literal."""
    for stmt in ir.walk_statements(body):
        if type(stmt) is ir.Assign and type(stmt.value) is not ir.Const and any(
            type(x) is ir.Attr and x.attr == "training" for x in stmt.targets
        ):
            return True
        for node in ir.walk_expr(ir.stmt_value(stmt)):
            if type(node) is ir.Call and type(node.func) is ir.Attr and node.func.attr == "train":
                flag = node.args[0] if node.args else dict(node.kwargs).get("mode")
                if flag is not None and type(flag) is not ir.Const:
                    return True
    return False


def _rebound_names(body: tuple[ir.Stmt, ...]) -> set[str]:
    """Plain names assigned anywhere in the body (a parameter rebound no longer holds the argument)."""
    return {
        target.id
        for stmt in ir.walk_statements(body)
        if type(stmt) is ir.Assign
        for target in stmt.targets
        if type(target) is ir.Name
    }


def _snapshot(state: State, holders: frozenset[str], attr: str) -> tuple[frozenset[str], ModeVal, bool] | None:
    """The mode snapshot every one of `holders` keeps in `attr`, joined (None: one keeps none)."""
    found = None
    for holder in holders:
        snap = state.snaps.get((holder, attr))
        if snap is None:
            return None
        found = snap if found is None else (found[0] | snap[0], found[1].join(snap[1]), found[2] and snap[2])
    return found


def _exported_snapshots(state: State) -> tuple[tuple[str, str, tuple[str, ...], ModeVal, bool], ...]:
    """The snapshots kept in fields of entry objects, for the callers (see `Summary.snapshots`)."""
    out = []
    for (holder, attr), (objs, mode, restorer) in sorted(state.snaps.items(), key=lambda item: item[0]):
        path = entry_path(holder)
        targets = tuple(sorted(o for o in objs if o.startswith(("E:", "N:"))))
        if path is not None and targets:
            out.append((path, attr, targets, mode, restorer))
    return tuple(out)


def _entry_effects(state: State) -> list[tuple[str, ModeVal]]:
    """The modes a function leaves its entry objects in (parameters, `self` paths, globals), except
    the ones left as they came."""
    effects: list[tuple[str, ModeVal]] = []
    for obj, mode in sorted(state.modes.items()):
        path = entry_path(obj)
        if path is None:
            continue
        if mode.kinds() == {M.ENTRY} and mode.entry is not None and mode.entry.what == path:
            continue
        effects.append((path, mode))
    return effects
