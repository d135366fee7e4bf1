"""Mode assertions and mode-switching context managers for training scripts.

    @evalguard.expect_eval                     # every nn.Module argument, all submodules, in eval mode
    def evaluate(model, loader): ...

    @evalguard.expect_train(args=("model",))   # only the `model` parameter is checked
    def train_one_epoch(model, teacher, loader, optimizer): ...

    with evalguard.eval_mode(model):           # switch for the block, then restore every
        metrics = evaluate(model, loader)      # submodule's own flag (frozen BatchNorm stays frozen)

When the check runs:
    * plain functions and methods: at call time, before the body (`self` is checked like any
      other argument, so `@expect_eval` on an `nn.Module` method checks the module itself);
    * generator functions: when the generator starts running (first `next()`), which is when the
      body first looks at the model; coroutine functions: when the coroutine starts (first await);
      async generator functions: when they are called;
    * inside a `torch.compile`d region: never. The check is skipped while Dynamo traces (no graph
      break; Dynamo guards on `training` flags anyway). Decorate the *outside* of a compiled
      function (`expect_eval(torch.compile(fn))`) to keep checking it.

Cost: one `named_modules()` walk per checked module per call; nothing reads tensors. Fine for
evaluation and epoch-level functions; think twice before decorating a per-batch hot path of a
model with thousands of submodules.

Which arguments: positional, keyword and `*args`/`**kwargs` values that are `nn.Module`s, and
`nn.Module`s directly inside a list, tuple or dict argument (ensembles). Other values are ignored,
also when named in `args=` (an `Optional[nn.Module]` that is None is fine). Every submodule counts:
`@expect_train` fails on a deliberately frozen BatchNorm (name the other parameters in `args=`, or
leave that function undecorated). Wrappers (`torch.compile`'s OptimizedModule, DataParallel, DDP) are
unwrapped: the wrapped module is checked and submodules are named as in it (`backbone.bn1`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar, overload

import torch
from torch import nn

__all__ = ["ModeAssertionError", "eval_mode", "expect_eval", "expect_mode", "expect_train", "train_mode"]

F = TypeVar("F", bound=Callable[..., Any])

MODES = ("train", "eval")
# How many offending submodule names a message lists before "and N more".
MAX_NAMES = 5


class ModeAssertionError(AssertionError):
    """A function decorated with `expect_eval` / `expect_train` / `expect_mode` got a module (or a
    submodule of it) in the other mode."""


# ------------------------------------------------------------------------------------ decorators


@overload
def expect_mode(mode: str, *, args: Iterable[str] | str | None = None) -> Callable[[F], F]: ...
@overload
def expect_mode(mode: str, fn: F, *, args: Iterable[str] | str | None = None) -> F: ...


def expect_mode(mode, fn=None, *, args=None):
    """Check, whenever the decorated function is called, that its `nn.Module` arguments and all
    their submodules are in `mode` ("train" or "eval"); raise `ModeAssertionError` otherwise.

    `args`: parameter names to check (default: every parameter). `@expect_mode("eval")` decorates;
    `expect_mode("eval", fn)` wraps `fn` directly.
    """
    if callable(mode) and fn is None:
        raise TypeError('expect_mode needs a mode first: @expect_mode("eval") or @expect_mode("train")')
    if mode not in MODES:
        raise ValueError(f'expect_mode: mode must be "train" or "eval", not {mode!r}')
    names = _arg_names(args)

    def decorate(func: F) -> F:
        return _wrap(func, mode == "train", names)

    return decorate if fn is None else decorate(fn)


def expect_eval(fn=None, *, args=None):
    """`@expect_eval`, `@expect_eval()` or `@expect_eval(args=("model",))`: the function's
    `nn.Module` arguments (all their submodules) must be in eval mode when it is called."""
    return expect_mode("eval", fn, args=args)


def expect_train(fn=None, *, args=None):
    """`@expect_train`, `@expect_train()` or `@expect_train(args=("model",))`: the function's
    `nn.Module` arguments (all their submodules) must be in train mode when it is called."""
    return expect_mode("train", fn, args=args)


def _arg_names(args) -> frozenset[str] | None:
    if args is None:
        return None
    if isinstance(args, str):
        return frozenset([args])
    names = list(args)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"args must be parameter names (strings), got {names!r}")
    return frozenset(names)


def _wrap(func: Callable, want_train: bool, only: frozenset[str] | None) -> Callable:
    if isinstance(func, (staticmethod, classmethod)):  # decorated above @staticmethod/@classmethod
        return type(func)(_wrap(func.__func__, want_train, only))
    if not callable(func):
        raise TypeError(f"expect_{'train' if want_train else 'eval'} decorates a function, got {type(func).__name__}")
    binder = _Binder(func, only)
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    label = f"{name.rsplit('<locals>.', 1)[-1]}()"  # `Net.predict()`, `evaluate()`: as the user wrote them

    def check(call_args: tuple, call_kwargs: dict) -> None:
        if _is_compiling():
            return
        for name, value in binder.modules(call_args, call_kwargs):
            problem = mode_problem(value, want_train)
            if problem is not None:
                # Raised from here so the traceback's last frame is evalguard, the one above the caller.
                raise ModeAssertionError(
                    f"{label} expects `{name}` ({_class_name(value)}) in {_mode(want_train)} mode, but {problem}"
                )

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def gen_wrapper(*a, **k):
            check(a, k)
            return (yield from func(*a, **k))

        return gen_wrapper
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*a, **k):
            check(a, k)
            return await func(*a, **k)

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*a, **k):
        check(a, k)
        return func(*a, **k)

    return wrapper


class _Binder:
    """Maps call arguments to parameter names without `Signature.bind` (which would raise on a
    wrong call before the function itself could raise its own, familiar TypeError)."""

    def __init__(self, func: Callable, only: frozenset[str] | None) -> None:
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):  # some builtins: positional names unknown
            sig = None
        self.positional: list[str] = []
        self.named: set[str] = set()
        self.var_positional: str | None = None
        self.var_keyword: str | None = None
        params = list(sig.parameters.values()) if sig is not None else []
        for p in params:
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                self.positional.append(p.name)
            elif p.kind is p.VAR_POSITIONAL:
                self.var_positional = p.name
            elif p.kind is p.VAR_KEYWORD:
                self.var_keyword = p.name
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                self.named.add(p.name)
        if only is not None and sig is not None:
            known = [p.name for p in params]
            unknown = sorted(n for n in only if n not in known)
            if unknown and self.var_keyword is None:
                raise TypeError(
                    f"args= names {', '.join(map(repr, unknown))}, but {func.__qualname__}() has no such"
                    f" parameter (its parameters: {', '.join(known) or 'none'})"
                )
        self.only = only

    def modules(self, args: tuple, kwargs: dict) -> Iterator[tuple[str, nn.Module]]:
        """(name, module) for every module argument that is to be checked."""
        for i, value in enumerate(args):
            if i < len(self.positional):
                name = param = self.positional[i]
            else:
                param = self.var_positional or "args"
                name = f"{param}[{i - len(self.positional)}]"
            if self._wanted(param):
                yield from _modules_in(name, value)
        for key, value in kwargs.items():
            # A keyword that names no parameter goes to **kwargs: `args=` may name it or the **kwargs.
            extra = key not in self.named and self.var_keyword is not None
            if self._wanted(key) or (extra and self._wanted(self.var_keyword)):
                yield from _modules_in(key, value)

    def _wanted(self, param: str) -> bool:
        return self.only is None or param in self.only


def _modules_in(label: str, value: Any) -> Iterator[tuple[str, nn.Module]]:
    if isinstance(value, nn.Module):
        yield label, value
    elif isinstance(value, (list, tuple)):
        for j, item in enumerate(value):
            if isinstance(item, nn.Module):
                yield f"{label}[{j}]", item
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, nn.Module):
                yield f"{label}[{key!r}]", item


# ------------------------------------------------------------------------------------ the check


# Wrappers whose `named_modules()` would prefix every name: torch.compile's OptimizedModule
# (`_orig_mod`), DistributedDataParallel and DataParallel (`module`). Messages name submodules as
# the user wrote them (`backbone.bn1`, not `_orig_mod.module.backbone.bn1`).
def _inner(module: nn.Module) -> nn.Module | None:
    if type(module).__name__ == "OptimizedModule":
        orig = module.__dict__.get("_modules", {}).get("_orig_mod")
        if isinstance(orig, nn.Module):
            return orig
    if isinstance(module, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        return module.module
    return None


def unwrap(module: nn.Module) -> nn.Module:
    """The module a chain of wrappers wraps (the module itself when it is no wrapper)."""
    while (inner := _inner(module)) is not None:
        module = inner
    return module


def mode_problem(module: nn.Module, want_train: bool) -> str | None:
    """None when `module` and every submodule have `training == want_train`; else the end of the
    message: what is in the other mode. For a wrapper (compiled, DataParallel, DDP) the wrapped
    module is checked: a wrapper's own flag changes nothing in its forward."""
    inner = unwrap(module)
    root_wrong = inner.training != want_train
    wrong: list[str] = []
    right: list[str] = []
    for name, sub in inner.named_modules():
        if name:
            (wrong if sub.training != want_train else right).append(name)
    other, want = _mode(not want_train), _mode(want_train)
    if not root_wrong:
        return f"it has submodules in {other} mode: {_names(wrong)}" if wrong else None
    if not right:
        return f"it is in {other} mode"
    if not wrong:
        return f"it is in {other} mode (its submodules are in {want} mode)"
    if len(wrong) <= len(right):
        return f"it is in {other} mode, and so are its submodules {_names(wrong)}"
    return f"it is in {other} mode, and so are all its submodules but {_names(right)}"


def _names(names: list[str]) -> str:
    shown = names[:MAX_NAMES]
    if len(names) > MAX_NAMES:
        return f"{', '.join(shown)} and {len(names) - MAX_NAMES} more"
    return ", ".join(shown)


def _mode(train: bool) -> str:
    return "train" if train else "eval"


def _class_name(module: nn.Module) -> str:
    inner = unwrap(module)
    if inner is module:
        return type(module).__name__
    return f"{type(module).__name__}({type(inner).__name__})"


def _is_compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    check = getattr(compiler, "is_compiling", None)
    if check is None:  # torch < 2.3
        dynamo = getattr(torch, "_dynamo", None)
        check = getattr(dynamo, "is_compiling", None)
    return bool(check()) if check is not None else False


# ------------------------------------------------------------------------------------ context managers


class _ModeSwitch(contextlib.ContextDecorator):
    """Switch modules to one mode for a block; restore every submodule's own flag on exit."""

    _train: bool
    _name: str

    def __init__(self, *modules: nn.Module) -> None:
        if not modules:
            raise TypeError(f"{self._name}() needs at least one nn.Module")
        for i, m in enumerate(modules):
            if not isinstance(m, nn.Module):
                hint = f"; unpack a collection: {self._name}(*models)" if isinstance(m, (list, tuple, set)) else ""
                raise TypeError(
                    f"{self._name}() takes nn.Module arguments, got {type(m).__name__} at position {i}{hint}"
                )
        self._modules = modules
        # One entry per active `with`, so the same object nests and re-enters.
        self._saved: list[tuple[list[tuple[nn.Module, bool]], dict[nn.Module, bool]]] = []

    def _recreate_cm(self):
        # As a decorator: a fresh manager per call (recursion, threads).
        return type(self)(*self._modules)

    def __enter__(self):
        roots = [(m, m.training) for m in self._modules]
        flags = {sub: sub.training for m in self._modules for sub in m.modules()}
        self._saved.append((roots, flags))
        for m in self._modules:
            m.train(self._train)
        return self._modules[0] if len(self._modules) == 1 else self._modules

    def __exit__(self, *exc_info) -> bool:
        roots, flags = self._saved.pop()
        # `train()` first (subclass overrides and the tracer see the switch back), then the exact
        # flag of every submodule, which `train()` alone would overwrite (frozen BatchNorm).
        for m, flag in reversed(roots):
            if m.training != flag:
                m.train(flag)
        for sub, flag in flags.items():
            if sub.training != flag:
                sub.training = flag
        return False


class eval_mode(_ModeSwitch):
    """`with eval_mode(model, ...):` / `@eval_mode(model)`: the modules are in eval mode inside the
    block; afterwards every submodule has its own previous `training` flag again, also when the
    block raises. Returns the module (or the tuple of modules) from `__enter__`."""

    _train = False
    _name = "eval_mode"


class train_mode(_ModeSwitch):
    """`with train_mode(model, ...):` / `@train_mode(model)`: the modules are in train mode inside
    the block (`model.train()`, so a subclass that keeps BatchNorm frozen in `train()` still does);
    afterwards every submodule has its own previous `training` flag again, also when the block raises."""

    _train = True
    _name = "train_mode"
