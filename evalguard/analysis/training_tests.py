"""Code that only runs in training: `if self.training:` branches, and rates zeroed outside training.

A functional dropout inside `if self.training and self.p:` or `if training:`, or one whose rate
the function sets to 0 when not training (`if not training: dropout_p = 0.0`), follows the mode:
EG004 stays quiet for it.
"""

from __future__ import annotations

from evalguard.parsing import ir

# Parameter and variable names that hold "are we training" (`def forward(self, x, training=False)`),
# per-call dropout switches (`dropout_switch`, `apply_dropout`), and the inverse (`deterministic`,
# as in Flax-style code). A configuration attribute (`self.use_dropout`) is not one: it does not
# follow the mode.
TRAINING_FLAG_NAMES = frozenset({"training", "is_training", "train", "is_train", "train_mode"})
_DROPOUT_SWITCH_WORDS = frozenset({"switch", "enable", "enabled", "apply", "active"})
NOT_TRAINING_FLAG_NAMES = frozenset({"deterministic", "is_eval", "eval_mode", "inference"})


def training_test(test: ir.Expr) -> bool | None:
    """True when the test holds only in training (`self.training`, `training and p > 0`) or in
    training and where the author opted in (`self.training or self.mc_dropout`), False when it
    holds only outside training (`not self.training`), None when it says neither."""
    if type(test) is ir.Not:
        inner = training_test(test.operand)
        return None if inner is None else not inner
    flag = _flag(test)
    if flag is not None:
        return flag
    if type(test) is ir.Other:
        # `self.training and self.p > 0` (and/or and comparisons share this node): a comparison
        # with a literal (`self.training == False`) says nothing certain.
        if any(type(c) is ir.Const for c in test.children):
            return None
        for child in test.children:
            flag = _flag(child)
            if flag is not None:
                return flag
        # Nested: `self.p > 0 and (self.training or self.apply_during_inference)` runs in
        # training, or where the author opted in outside it; either way the mode was considered.
        for child in test.children:
            if type(child) in (ir.Other, ir.Not):
                flag = training_test(child)
                if flag is not None:
                    return flag
    return None


def zeroed_outside_training(body: tuple[ir.Stmt, ...], name: str) -> bool:
    """Does the function set `name` to 0 where it is not training: `if not training: name = 0.0`,
    `name = p if self.training else 0.0`?"""
    for stmt in ir.walk_statements(body):
        t = type(stmt)
        if t is ir.Assign and _assigns(stmt, name) and type(stmt.value) is ir.IfExp:
            branch = training_test(stmt.value.test)
            if branch is not None and is_zero(stmt.value.orelse if branch else stmt.value.body):
                return True
        elif t is ir.If:
            branch = training_test(stmt.test)
            if branch is not None and any(
                type(s) is ir.Assign and _assigns(s, name) and is_zero(s.value)
                for s in (stmt.orelse if branch else stmt.body)
            ):
                return True
    return False


def _flag(expr: ir.Expr) -> bool | None:
    """True for a training flag (`self.training`, `training`, `dropout_switch`), False for its
    inverse (`deterministic`), None for anything else."""
    t = type(expr)
    if t is ir.Attr:
        return True if expr.attr == "training" else None
    if t is not ir.Name:
        return None
    name = expr.id
    if name in TRAINING_FLAG_NAMES:
        return True
    if name in NOT_TRAINING_FLAG_NAMES:
        return False
    words = set(name.lower().split("_"))
    return True if "dropout" in words and words & _DROPOUT_SWITCH_WORDS else None


def _assigns(stmt: ir.Assign, name: str) -> bool:
    return any(type(t) is ir.Name and t.id == name for t in stmt.targets)


def is_zero(expr: ir.Expr) -> bool:
    return type(expr) is ir.Const and type(expr.value) in (int, float) and expr.value == 0
