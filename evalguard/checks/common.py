"""What the forward rules share: is the model mode-sensitive, and how to name a mode's cause."""

from __future__ import annotations

import os
import re

from evalguard.analysis import knowledge as K
from evalguard.analysis.flow import Context, root_of
from evalguard.analysis.modes import Origin
from evalguard.analysis.summaries import Forward
from evalguard.fix.specs import InsertStatement


def is_mode_sensitive_model(fwd: Forward, ctx: Context, objs: frozenset[str] | None = None) -> bool:
    """True unless every object called (or the given subset: those in the reported mode) is known
    to be a module without mode-dependent layers, or not a module at all. Unknown objects count as
    sensitive. A call through a loss-named reference (`criterion(out, y)`, `self.loss_fn(...)`)
    counts only for objects known to be sensitive modules: an unknown one there is a loss
    function, not a model (deepctr's `loss_func = self.loss_func`, set from a user argument)."""
    objs = fwd.objs if objs is None else objs
    if K.is_loss_name(fwd.label):
        objs = frozenset(o for o in objs if _known_sensitive(o, ctx))
    return any_sensitive(objs, ctx, fwd.fkey)


def _known_sensitive(obj: str, ctx: Context) -> bool:
    """Allocated here by a class known to be a mode-sensitive module (not an attribute of one,
    whose class is unknown, nor an object of an unknown class)."""
    if root_of(obj) != obj:
        return False
    info = ctx.allocs.get(obj)
    return info is not None and info.is_module is True and info.sensitive


def any_sensitive(objs: frozenset[str], ctx: Context, fkey: str = "") -> bool:
    """Unknown objects count as sensitive. A plain parameter is judged by what the project's
    callers pass for it, when there are callers and every object they pass is known."""
    for obj in objs:
        param = obj[2:]
        if obj.startswith("E:") and fkey and "." not in param and not param.startswith(("G:", "C:")):
            passed = ctx.param_objects.get((fkey, param))
            if passed and not any_sensitive(frozenset(passed), ctx):
                continue
            return True
        if obj.startswith("E:self.") and fkey and param.count(".") == 1:
            built = _built_by_constructor(ctx, fkey, param[5:])
            if built is not None and ctx.index.class_props(built)[0] is True and not ctx.index.class_props(built)[1]:
                continue  # a project module with nothing mode-dependent inside
            return True
        info = ctx.allocs.get(root_of(obj))
        if info is None:
            return True
        if info.is_module is False or info.optimizer:
            continue
        if info.sensitive:
            return True
    return False


def _built_by_constructor(ctx: Context, fkey: str, attr: str) -> str | None:
    """In a method of a plain class (a trainer), the project class its constructor builds
    `self.<attr>` from when no other method rebinds it (`self.net = TanhMLP()`)."""
    index = ctx.index
    fn = index.functions.get(fkey)
    if fn is None or fn.class_qualname is None or fn.kind != "instance":
        return None
    class_key = f"{index.function_module[fkey].module_name}:{fn.class_qualname}"
    return dict(index.constructor_wiring(class_key).built).get(attr)


def where(path: str, line: int) -> str:
    return f"{_short(path)}:{line}"


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def cause(origin: Origin) -> str:
    """`validate()` (train.py:34) through `model.eval()` (utils/evaluation.py:12)."""
    own = f"`{origin.what}` ({where(origin.path, origin.line)})"
    if not origin.via:
        return own
    callee, path, line = origin.via[0]
    return f"`{callee}` ({where(path, line)}), through {own}"


def call_chain(fwd: Forward) -> str:
    """`, when `train_one_epoch()` is called at run.py:40` for forwards seen through calls."""
    if not fwd.via:
        return ""
    callee, path, line = fwd.via[0]
    return f" (reached through `{callee}` at {where(path, line)})"


def deliberate_train_mode(fwd: Forward) -> bool:
    """`model.train()` called right here and the forward follows with no training step in
    between: the user asked for train-mode behaviour on purpose (MC-dropout, tests of train-mode
    layers). A train() followed by training and then inference is the bug."""
    origin = fwd.mode.train
    return origin is not None and origin.explicit and not origin.via and not fwd.stepped


def prediction_discarded(fwd: Forward) -> bool:
    """`_ = model(dummy)` (warm-up, compile, feature capture through hooks) or a shape probe:
    no prediction comes out of this forward."""
    return not fwd.value_used


def weak_default_train(fwd: Forward) -> bool:
    """Train mode only by PyTorch's construction default, for a model with no loaded or learned
    weights, or for a submodule reached through an attribute (its owner may switch it in code we
    cannot see): not enough to report."""
    origin = fwd.mode.train
    if origin is None or origin.explicit:
        return False
    if not fwd.loaded:
        return True
    return all(obj != root_of(obj) for obj in fwd.objs)


def train_mode_origin(fwd: Forward, ctx: Context) -> Origin | None:
    """For a forward that produces a prediction (not a training step): where the model's train
    mode came from, if that is worth reporting (EG002/EG003 share this)."""
    if fwd.trained or fwd.in_init or fwd.synthetic or prediction_discarded(fwd):
        return None
    if fwd.feeds_training and fwd.optimized:
        # A model trained here, run under no_grad to feed another model's training step (a GAN's
        # generated batch for the discriminator): part of training, in train mode on purpose.
        return None
    origin = fwd.mode.train
    if origin is None or weak_default_train(fwd) or deliberate_train_mode(fwd):
        return None
    fn = ctx.index.functions.get(fwd.fkey)
    if fn is not None and K.mc_dropout_intent(fn):
        return None  # Monte-Carlo dropout: sampling in train mode is the method
    if from_tests_only(origin, fwd):
        return None
    if not is_mode_sensitive_model(fwd, ctx, fwd.train_objs or None):
        return None
    # Several objects with different origins: name where a mode-sensitive one got its train mode.
    sensitive = [o for obj, o in fwd.train_origins if is_mode_sensitive_model(fwd, ctx, frozenset({obj}))]
    return min(sensitive) if sensitive else origin


def from_tests_only(origin: Origin, fwd: Forward) -> bool:
    """The wrong mode comes from a pytest module and the forward is library code: the test drives
    the library in that mode on purpose (to check it refuses, or behaves, in training)."""
    return K.is_test_file(origin.path) and not K.is_test_file(fwd.path)


def how_train(origin: Origin) -> str:
    return "switches it to train mode" if origin.explicit else "builds it in train mode (PyTorch's default)"


def root_label(fwd: Forward) -> str:
    return fwd.label.split("(")[0]


def plain_reference(text: str) -> str | None:
    """`model`, `self.model`: a reference a fix can write a call on (not `models[...]`)."""
    return text if re.fullmatch(r"[A-Za-z_][\w.]*", text) else None


def insert_mode_call(line: int, label: str, method: str) -> InsertStatement | None:
    ref = plain_reference(label)
    if line <= 0 or ref is None:
        return None
    return InsertStatement(line, f"{ref}.{method}()")
