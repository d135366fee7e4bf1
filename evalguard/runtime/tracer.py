"""`evalguard.trace()`: watch a real run for train/eval mode misuse.

    with evalguard.trace("run.jsonl"):
        train()

What is installed, and removed again exactly on exit (also after an exception, an interrupt or
`sys.exit`):

- `nn.Module.train` is wrapped. Only the outermost call is recorded (a thread-local depth:
  `eval()` calls `train(False)`, which recurses into the children by dynamic dispatch), after the
  original ran, so subclasses overriding `train()` keep their behaviour and their result is what
  gets judged. The record says who (the user's source line) switched which module to which mode.
- Forward pre-hooks on roots only: modules no other module contains (found through torch's
  module/parameter registration hooks, `__setstate__` for deepcopies and unpickled models, and a
  one-off scan of live modules at start), and non-leaf modules whose mode the user set directly.
  A global forward hook would move every module call off PyTorch's fast path.
- One global optimizer step pre-hook; the owners of the stepped parameters are cached per
  optimizer.
- `nn.Module.__getstate__` leaves the tracer's hooks out of pickles and deep copies.

Hooks read Python attributes only (`training`, grad mode): no tensor values, no CUDA syncs. Under
torch.compile the hooks return at once when `torch.compiler.is_compiling()` (a constant to
dynamo), so they add nothing to graphs and cause no graph break; a module compiled in place
(`model.compile()`) runs its hooks inside the graph, so its forwards are not checked (its optimizer
steps are).
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict

import torch
from torch import nn
from torch.nn.modules import module as torch_module
from torch.optim import optimizer as torch_optimizer

from evalguard import __version__
from evalguard.runtime import detect
from evalguard.runtime.frames import USER, _KIND, file_kind, inside_code, user_location
from evalguard.runtime.records import FindingBook, ModeRecord, ObjectTable, Undo
from evalguard.runtime.sensitivity import layer_kind
from evalguard.runtime.graph import RootRegistry
from evalguard.runtime.state import REFRESH_EVERY, RootState
from evalguard.runtime.summary import render_summary
from evalguard.runtime.trace_file import DEFAULT_PATH, TraceFileError, TraceWriter

__all__ = ["Tracer", "TraceFileError", "trace", "active_tracer"]

_CALL_IMPL_CODE = nn.Module._call_impl.__code__
_MODULE_PY = _CALL_IMPL_CODE.co_filename
# Code objects that sit between a module's hooks and the user's call besides torch's module.py:
# `OptimizedModule.__call__` (added when first seen, see `_past_call_machinery`).
_CALL_MACHINERY: set = set()
_is_compiling = torch.compiler.is_compiling
_is_grad_enabled = torch.is_grad_enabled

_ACTIVE: Tracer | None = None
_ACTIVE_LOCK = threading.Lock()


def active_tracer() -> Tracer | None:
    return _ACTIVE


def trace(path: str | None = DEFAULT_PATH, *, summary: bool = True, scan_existing: bool = True) -> Tracer:
    """A context manager that traces the code in its block; see `Tracer`."""
    return Tracer(path, summary=summary, scan_existing=scan_existing)


class RootHook:
    """The forward pre-hook on one root. A class (not a closure) so that a pickle or deep copy of
    a module whose class bypasses `Module.__getstate__` gets an inert stand-in, not the tracer."""

    __slots__ = ("tracer", "state")

    def __init__(self, tracer: Tracer, state: RootState) -> None:
        self.tracer = tracer
        self.state = state

    def __reduce__(self):
        # Unpickles, without evalguard, to a no-op pre-hook (`{}.get(module, args)` returns args).
        return (functools.partial, (dict.get, {}))

    def __call__(self, module, args):
        # The hot path: every forward of a root. Inlined where a call would cost more than the
        # work (dynamo folds `_is_compiling()` to True and drops the rest from graphs).
        if _is_compiling():
            return None
        tracer = self.tracer
        if not tracer.enabled:
            return None
        st = self.state
        if st.dirty and not tracer.roots.refresh(st):
            return None
        st.forwards += 1
        tracer.forwards += 1
        if not st.sensitive:
            return None  # computes the same function in both modes
        # Straight to the caller: `_getframe(n)` builds one frame object, walking `f_back` one per
        # frame. `call_depth` was measured at start (torch's `inner` / `_call_impl` /
        # `_wrapped_call_impl`); torch.compile's `OptimizedModule.__call__` adds one more.
        try:
            frame = sys._getframe(tracer.call_depth)
        except ValueError:
            return None
        while frame is not None and (frame.f_code.co_filename == _MODULE_PY or frame.f_code in _CALL_MACHINERY):
            frame = frame.f_back
        if frame is None:
            return None
        filename = frame.f_code.co_filename
        kind = _KIND.get(filename)
        if kind is None:
            kind = file_kind(filename)
        if kind != USER:
            frame = _past_call_machinery(frame)
            if frame is None:
                return None  # torch or a library calls it (DDP's inner module, update_bn, HF Trainer)
            filename = frame.f_code.co_filename
        loc = (filename, frame.f_lineno)
        st.last_forward = loc
        st.last_forward_seq = tracer.forwards
        eff = st.effective or module
        st.fwd_age += 1
        if st.fwd_epoch == tracer.mode_epoch and st.fwd_training is eff.training and st.fwd_age < REFRESH_EVERY:
            view = st.fwd_view
        else:
            view = detect.forward_view(tracer, st, module)
        if view.training:
            if not view.active:
                return None
            if _is_grad_enabled():
                stats = tracer.lines.get(loc)
                if stats is not None and stats.train_forwards >= detect.SAMPLE_FIRST:
                    stats.train_forwards += 1
                    if stats.train_forwards % detect.SAMPLE_EVERY:
                        return None  # a training forward from a line already sampled
                    stats.train_forwards -= 1
                tracer._train_forward(st, module, args, loc, frame, view)
            else:
                tracer._no_grad_forward(st, module, args, loc, frame, view)
        elif view.mixed:
            tracer._mixed_forward(st, module, loc, frame, view)
        return None


class Tracer:
    """Install on `start()` / `__enter__`, restore torch exactly on `stop()` / `__exit__`.

    `path=None` writes no file (the findings stay available as `tracer.findings`). `summary`
    prints counts and the main findings on stderr at the end. `scan_existing` looks for modules
    created before tracing started (one pass over the garbage collector's objects).
    Only one tracer may be active in a process; a second one raises RuntimeError.
    """

    def __init__(self, path: str | None = DEFAULT_PATH, *, summary: bool = True, scan_existing: bool = True) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.summary = summary
        self.scan_existing = scan_existing
        self.enabled = False
        self.call_depth = 1
        self.forwards = 0
        self.steps = 0
        self.mode_changes = 0
        self.mode_epoch = 0
        self.records = ObjectTable()  # module -> its last ModeRecord
        self.undo = ObjectTable()  # part -> Undo
        self._eval_parts = 0  # how many records say eval: none, no EG009 bookkeeping on train()
        self.lines: dict[tuple, detect.LineStats] = {}
        self.book = FindingBook(self._write_finding)
        self._seq = itertools.count(1)
        self._tls = threading.local()
        self._lock = threading.RLock()  # module graph, roots, records
        self.roots = RootRegistry(self._lock, lambda st: RootHook(self, st), self.records.__contains__)
        self._opt_cache = ObjectTable()  # optimizer -> (signature, owner states, stepped param ids)
        self._scanned = ObjectTable()
        self._mode_counts: dict[tuple, int] = {}
        self._handles: list = []
        self._patched: list[tuple[str, object, object]] = []  # (name, original, replacement)
        self._writer: TraceWriter | None = None
        self._started = False
        self._atexit = None

    # ------------------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Tracer:
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.stop(abnormal=exc_type is not None)
        return False

    def start(self) -> Tracer:
        global _ACTIVE
        with _ACTIVE_LOCK:
            if _ACTIVE is not None:
                raise RuntimeError(
                    "evalguard: a tracer is already active in this process (nested trace(), a second "
                    "thread, or trace() inside `evalguard run`); only one can watch torch at a time"
                )
            if self._started:
                raise RuntimeError("evalguard: this tracer has already run; create a new one")
            writer = TraceWriter(self.path)  # TraceFileError: nothing installed yet
            writer.start(
                {
                    "type": "start",
                    "evalguard": __version__,
                    "torch": torch.__version__,
                    "pid": os.getpid(),
                    "rank": writer.rank,
                    "argv": list(sys.argv),
                    "time": time.time(),
                }
            )
            self._writer = writer
            self._started = True
            try:
                self._install()
            except BaseException:
                self._uninstall()
                writer.close()
                raise
            _ACTIVE = self
        import atexit

        self._atexit = self.stop
        atexit.register(self._atexit)
        return self

    def stop(self, abnormal: bool = False) -> None:
        global _ACTIVE
        with _ACTIVE_LOCK:
            if _ACTIVE is not self:
                return
            self.enabled = False
            try:
                self._uninstall()
            finally:
                _ACTIVE = None
        if self._atexit is not None:
            import atexit

            atexit.unregister(self._atexit)
            self._atexit = None
        try:
            self._finish(abnormal)
        finally:
            if self._writer is not None:
                self._writer.close()
        if self.summary:
            sys.stderr.write(render_summary(self))
            sys.stderr.flush()

    @property
    def findings(self):
        return sorted(self.book.all(), key=lambda f: (f.code, f.location))

    @property
    def trace_path(self) -> str | None:
        return self._writer.path if self._writer is not None else None

    # ------------------------------------------------------------------------------ install

    def _install(self) -> None:
        self.call_depth = _measure_call_depth()
        self._patch("train", self._train_wrapper(nn.Module.__dict__["train"]))
        self._patch("__getstate__", self._getstate_wrapper(nn.Module.__dict__["__getstate__"]))
        self._patch("__setstate__", self._setstate_wrapper(nn.Module.__dict__["__setstate__"]))
        self._handles.append(torch_module.register_module_module_registration_hook(self._on_module_registered))
        self._handles.append(torch_module.register_module_parameter_registration_hook(self._on_parameter_registered))
        self._handles.append(torch_optimizer.register_optimizer_step_pre_hook(self._on_step))
        self.enabled = True
        if self.scan_existing:
            self.roots.scan()

    def _patch(self, name: str, replacement) -> None:
        original = nn.Module.__dict__[name]
        setattr(nn.Module, name, replacement)
        self._patched.append((name, original, replacement))

    def _uninstall(self) -> None:
        self.enabled = False
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.roots.unhook_all()
        for name, original, replacement in reversed(self._patched):
            current = nn.Module.__dict__.get(name)
            if current is replacement:
                setattr(nn.Module, name, original)
            elif not _swap_in_closure(current, replacement, original):
                sys.stderr.write(f"evalguard: nn.Module.{name} was replaced while tracing; left as it is\n")
        self._patched.clear()

    # ------------------------------------------------------------------------------ train()

    def _train_wrapper(self, original):
        tracer = self
        tls = self._tls

        def train(self, mode=True):
            if tls.__dict__.get("depth"):
                # A child reached by the recursion (or a nested call): note whether any flag
                # actually changes, so a repeated `model.train()` leaves cached verdicts alone.
                if self.training is not mode:
                    tls.changed = True
                return original(self, mode)
            if not tracer.enabled or _is_compiling():
                return original(self, mode)
            tls.depth = 1
            tls.changed = self.training is not mode
            try:
                result = original(self, mode)
            finally:
                tls.depth = 0
            tracer._on_mode_call(self, mode, sys._getframe(1), tls.changed)
            return result

        functools.update_wrapper(train, original)
        return train

    def _on_mode_call(self, module, mode: bool, frame, changed: bool) -> None:
        if not self.enabled:
            return
        while frame is not None and frame.f_code.co_filename == _MODULE_PY:
            frame = frame.f_back  # `eval()` calls `train(False)`
        site = (frame.f_code, frame.f_lineno) if frame is not None else None
        previous = self.records.get(module)
        if (
            not changed
            and previous is not None
            and previous.training is mode
            and previous.site == site
            and site is not None
            and site[0].co_name not in ("train", "eval")
        ):
            # The same call again (`model.train()` at the top of every step) and no flag moved:
            # only the count and the order of records change.
            previous.seq = next(self._seq)
            self.mode_changes += 1
            self._mode_counts[previous.key] += 1
            return
        loc = user_location(frame, _is_mode_method)
        del frame
        cls = detect.class_name(module)
        with self._lock:
            seq = next(self._seq)
            self.mode_changes += 1
            previous = self.records.get(module)
            if changed or previous is None or previous.training is not mode:
                self.mode_epoch += 1  # flags or records changed: cached verdicts are stale
            self._eval_parts += (not mode) - (previous is not None and not previous.training)
            self.records.set(module, ModeRecord(mode, loc, seq, site, (loc, cls, mode)))
            if self.undo:
                self.undo.pop(module)  # a direct switch of the part itself is its owner's intent
            key = (loc, cls, mode)
            count = self._mode_counts.get(key, 0) + 1
            self._mode_counts[key] = count
            if mode and self._eval_parts > 0:
                self._find_undos(module, loc, seq)
        self.roots.mode_set(module)
        if count == 1 and loc is not None:
            self._write_mode(key, 1)

    def _find_undos(self, ancestor, loc, seq: int) -> None:
        candidates = [
            (m, rec) for m, rec in self.records.items() if not rec.training and m is not ancestor and m.training
        ]
        if not candidates:
            return
        below = {id(m): name for name, m in ancestor.named_modules()}
        chain = _wrapper_chain(ancestor)
        inner = {id(m) for m in chain}
        for part, rec in candidates:
            if id(part) in below and id(part) not in inner:
                sensitive = any(layer_kind(m) for m in part.modules())
                label = f"`{below[id(part)]}` ({detect.class_name(part)})"
                self.undo.set(part, Undo(loc, rec.location, label, detect.class_name(chain[-1]), seq, sensitive))

    def records_snapshot(self):
        with self._lock:
            return self.records.items()

    def undo_snapshot(self):
        with self._lock:
            return self.undo.items()

    # ------------------------------------------------------------------------------ module graph

    def _on_module_registered(self, parent, name, child):
        if self.enabled:
            self.roots.module_registered(parent, name, child)
        return None

    def _on_parameter_registered(self, module, name, param):
        if self.enabled:
            self.roots.parameter_registered(module)
        return None

    def _setstate_wrapper(self, original):
        tracer = self

        def __setstate__(self, state):
            original(self, state)
            if tracer.enabled:
                tracer.roots.restored(self, _is_our_hook)

        functools.update_wrapper(__setstate__, original)
        return __setstate__

    def _getstate_wrapper(self, original):
        def __getstate__(self):
            state = original(self)
            for key in ("_forward_pre_hooks", "_forward_hooks"):
                hooks = state.get(key)
                if hooks and any(_is_our_hook(h) for h in hooks.values()):
                    state[key] = OrderedDict((k, h) for k, h in hooks.items() if not _is_our_hook(h))
            return state

        functools.update_wrapper(__getstate__, original)
        return __getstate__

    # ------------------------------------------------------------------------------ forwards

    def _line(self, loc) -> detect.LineStats:
        stats = self.lines.get(loc)
        if stats is None:
            with self._lock:
                stats = self.lines.setdefault(loc, detect.LineStats())
        return stats

    def _nested(self, stats, frame) -> bool:
        if stats.nested is None:
            stats.nested = inside_code(frame, _CALL_IMPL_CODE)
        return stats.nested

    def _train_forward(self, st, module, args, loc, frame, view) -> None:
        stats = self._line(loc)
        stats.train_forwards += 1
        n = stats.train_forwards
        if n > detect.SAMPLE_FIRST and n % detect.SAMPLE_EVERY:
            return
        if self._nested(stats, frame) or view.recalibration:
            return
        if view.dropout_only and _same_input(stats, args):
            stats.mc = True  # MC-dropout sampling: dropout wanted at inference
            return
        stats.classes.add(_effective_name(st, module))
        if not stats.related:
            stats.related = self._switch_related(st, module, training=True)
        stats.sampled += 1
        if st.capture is not None:  # left over from a forward that raised
            st.capture.remove()
        handle = None

        def capture(_module, _args, output):
            handle.remove()
            st.capture = None
            _watch_backward(output, stats)

        capture._evalguard = True
        handle = st.capture = module.register_forward_hook(capture)

    def _no_grad_forward(self, st, module, args, loc, frame, view) -> None:
        if view.recalibration:
            return
        stats = self._line(loc)
        if self._nested(stats, frame) or stats.mc:
            return
        name = _effective_name(st, module)
        inference = torch.is_inference_mode_enabled()

        def message():
            return detect.message_eg003(name, view, inference)

        def related():
            return self._switch_related(st, module, training=True)

        if view.dropout_only and not stats.decided:
            # A dropout-only model forwarded again on the same input tensor is MC-dropout
            # sampling: wait for the line's next forward (or the end) before reporting.
            if _same_input(stats, args):
                stats.mc, stats.pending, stats.deferred = True, 0, None
                return
            stats.pending += 1
            if stats.pending < 2:
                stats.deferred = (message(), related())
                return
            times, stats.pending, stats.deferred, stats.decided = stats.pending, 0, None, True
            self.book.hit("EG003", loc, message, related, times)
            return
        self.book.hit("EG003", loc, message, related)

    def _mixed_forward(self, st, module, loc, frame, view) -> None:
        stats = self._line(loc)
        if self._nested(stats, frame):
            return
        name = _effective_name(st, module)
        self.book.hit("EG006", loc, lambda: detect.message_eg006(name, view.mixed))

    def _switch_related(self, st, module, training: bool) -> list:
        rec = detect.latest(self.records, st.chain_modules(module))
        if rec is not None and rec.training == training and rec.location:
            return [("switched_to_train" if training else "switched_to_eval", rec.location)]
        return []

    # ------------------------------------------------------------------------------ steps

    def _on_step(self, optimizer, args, kwargs):
        if _is_compiling() or not self.enabled:
            return None
        self.steps += 1
        groups = optimizer.param_groups
        n_params = len(groups[0]["params"]) if len(groups) == 1 else sum(len(g["params"]) for g in groups)
        entry = self._opt_cache.get(optimizer)
        if entry is None or entry[0][0] != self.roots.epoch or entry[0][1] != n_params:
            entry = self._owners(optimizer, n_params)
        loc = None
        for st in entry[1]:
            root = st.ref()
            if root is None:
                continue
            if st.dirty and not self.roots.refresh(st):
                continue
            view = detect.step_view(self, st, root)
            if view is not None:
                if loc is None:
                    loc = user_location(sys._getframe(1)) or ("<unknown>", 0)
                name = _effective_name(st, root)
                self.book.hit(
                    "EG001",
                    loc,
                    lambda: detect.message_eg001(name, view),
                    lambda: self._step_related(st, root, view),
                )
            if self.undo:
                hits = detect.eg009_hits(self, st, entry[2])
                if hits:
                    if loc is None:
                        loc = user_location(sys._getframe(1)) or ("<unknown>", 0)
                    self._report_undo(hits, loc)
        return None

    def _report_undo(self, hits, step_loc) -> None:
        by_call: dict[tuple, list] = {}
        for undo in hits:
            by_call.setdefault(undo.location or step_loc, []).append(undo)
        for where, undos in by_call.items():
            related = [("frozen_with_eval", undos[0].frozen_at), ("step", step_loc)]
            self.book.hit("EG009", where, lambda u=undos: detect.message_eg009(u), related)

    def _step_related(self, st, root, view) -> list:
        related = []
        last = self._last_forward(st, root)
        if last:
            related.append(("forward", last))
        if view.chain_rec is not None and view.chain_rec.location:
            related.append(("switched_to_eval", view.chain_rec.location))
        return related

    def _last_forward(self, st, root):
        best = st
        for other in self.roots.inside(st):
            if other.last_forward and (best.last_forward is None or other.last_forward_seq > best.last_forward_seq):
                best = other
        return best.last_forward

    def _owners(self, optimizer, n_params: int):
        with self._lock:
            stepped = frozenset(id(p) for g in optimizer.param_groups for p in g["params"])
            owners = self.roots.owners(stepped)
            covered = set()
            for st in owners:
                covered |= st.param_ids
            if not stepped <= covered and self._scanned.get(optimizer) != n_params:
                # Parameters of modules the tracer never saw (built before tracing without a scan,
                # or in ways that bypass registration): look once per parameter set.
                self._scanned.set(optimizer, n_params)
                self.roots.scan()
                owners = self.roots.owners(stepped)
            entry = ((self.roots.epoch, n_params), owners, stepped)
            self._opt_cache.set(optimizer, entry)
            return entry

    # ------------------------------------------------------------------------------ output

    def _write_finding(self, finding) -> None:
        if self._writer is not None:
            self._writer.write(finding.record())

    def _write_mode(self, key, count: int) -> None:
        loc, cls, mode = key
        if self._writer is None or loc is None:
            return
        from evalguard.runtime.frames import real_path

        self._writer.write(
            {
                "type": "mode",
                "path": real_path(loc[0]),
                "line": loc[1],
                "module": cls,
                "mode": "train" if mode else "eval",
                "count": count,
            }
        )

    def _finish(self, abnormal: bool) -> None:
        """Decide what only the end can tell (EG002, deferred EG003), then write final counts."""
        for loc, stats in list(self.lines.items()):
            if stats.mc or stats.nested:
                continue
            if stats.sampled and not stats.consumed and stats.sampled >= (2 if abnormal else 1):
                self.book.hit(
                    "EG002", loc, detect.message_eg002(stats.classes), stats.related, stats.train_forwards
                )
            if stats.pending > 0 and stats.deferred is not None:
                message, related = stats.deferred
                self.book.hit("EG003", loc, message, related, stats.pending)
        if self._writer is None:
            return
        for key, count in self._mode_counts.items():
            if count > 1:
                self._write_mode(key, count)
        for finding in self.findings:
            self._writer.write(finding.record(), flush=False)
        counts = self.book.counts()
        locations: dict[str, int] = {}
        for finding in self.findings:
            locations[finding.code] = locations.get(finding.code, 0) + 1
        self._writer.write(
            {
                "type": "end",
                "counts": counts,
                "findings": dict(sorted(locations.items())),
                "steps": self.steps,
                "forwards": self.forwards,
                "mode_changes": self.mode_changes,
                "rank": self._writer.rank,
                "time": time.time(),
            }
        )


# ---------------------------------------------------------------------------------- helpers


def _measure_call_depth() -> int:
    """How many frames lie between a forward pre-hook and the line calling the module."""
    depth = []

    def probe(_module, _args):
        frame, n = sys._getframe(1), 1
        while frame is not None and frame.f_code is not caller:
            frame, n = frame.f_back, n + 1
        depth.append(n)

    def call(module):
        module()

    caller = call.__code__

    class Probe(nn.Module):
        def forward(self):
            return None

    module = Probe()
    handle = module.register_forward_pre_hook(probe)
    try:
        call(module)
    finally:
        handle.remove()
    return depth[0] if depth else 1


_EVAL_FRAME_PY = os.path.join(os.path.dirname(torch.__file__), "_dynamo", "eval_frame.py")


def _past_call_machinery(frame):
    """The user frame calling a module through torch.compile's `OptimizedModule.__call__`, or None
    when torch or a library makes the call itself."""
    code = frame.f_code
    if code.co_name != "__call__" or os.path.realpath(code.co_filename) != os.path.realpath(_EVAL_FRAME_PY):
        return None
    _CALL_MACHINERY.add(code)  # found on the hook's fast path from now on
    frame = frame.f_back
    while frame is not None and (frame.f_code.co_filename == _MODULE_PY or frame.f_code in _CALL_MACHINERY):
        frame = frame.f_back
    if frame is None or file_kind(frame.f_code.co_filename) != USER:
        return None
    return frame


def _is_mode_method(frame) -> bool:
    """A `train`/`eval` override in user code calling `super().train()`: attribute the switch to
    whoever called the override."""
    code = frame.f_code
    if code.co_name not in ("train", "eval") or not code.co_argcount:
        return False
    obj = frame.f_locals.get(code.co_varnames[0])
    if not isinstance(obj, nn.Module):
        return False
    return any(getattr(k.__dict__.get(code.co_name), "__code__", None) is code for k in type(obj).__mro__)


def _wrapper_chain(module) -> list:
    chain = [module]
    node = module
    while True:
        children = [c for c in node._modules.values() if c is not None]
        if len(children) != 1 or any(p is not None for p in node._parameters.values()):
            return chain
        node = children[0]
        if any(node is m for m in chain):
            return chain
        chain.append(node)


def _effective_name(st: RootState, root) -> str:
    return detect.class_name(st.effective_module(root))


def _same_input(stats, args) -> bool:
    first = args[0] if args else None
    if not isinstance(first, torch.Tensor):
        stats.last_input = None
        return False
    previous = stats.last_input
    stats.last_input = weakref.ref(first)
    return previous is not None and previous() is first


def _swap_in_closure(function, old, new) -> bool:
    """Someone wrapped our patch while we were installed (torch._dynamo wraps
    `Module.__setstate__` once per process, at the first compile): point their wrapper at the
    original instead, so torch ends up as if they had wrapped the original."""
    for cell in getattr(function, "__closure__", None) or ():
        try:
            if cell.cell_contents is old:
                cell.cell_contents = new
                return True
        except ValueError:  # an empty cell
            continue
    return False


def _is_our_hook(hook) -> bool:
    """Our pre-hook, its inert unpickled stand-in, or a sampling capture hook."""
    if isinstance(hook, RootHook) or getattr(hook, "_evalguard", False):
        return True
    return isinstance(hook, functools.partial) and hook.func is dict.get and hook.args == ({},)


def _watch_backward(output, stats) -> None:
    """Put an autograd pre-hook on the graph nodes that produced `output` (at most 4)."""
    nodes = []
    seen_tensor = False
    todo = [output]
    budget = 16
    while todo and budget and len(nodes) < 4:
        budget -= 1
        item = todo.pop()
        if isinstance(item, torch.Tensor):
            seen_tensor = True
            node = item.grad_fn
            if node is not None and not any(node is n for n in nodes):
                nodes.append(node)
        elif isinstance(item, (list, tuple)):
            todo.extend(reversed(item[:8]))
        elif isinstance(item, dict):
            todo.extend(list(item.values())[:8])
    if not seen_tensor:
        stats.sampled -= 1  # nothing to follow: no evidence either way
        return

    def reached(_grad_outputs):
        stats.consumed += 1

    for node in nodes:
        node.register_prehook(reached)


def _after_fork_in_child() -> None:
    # DataLoader workers and other forks inherit the patches but must not trace or write.
    tracer = _ACTIVE
    if tracer is not None:
        tracer.enabled = False
        tracer._writer = None
        tracer.summary = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
