"""EG001: a training step can run while the model is in eval mode.

Bad:
    model.train()
    for step, (x, y) in enumerate(loader):
        loss = F.cross_entropy(model(x), y)   # eval mode after the first validate()
        loss.backward(); opt.step()
        if step % 100 == 0:
            validate(model)                  # calls model.eval()

Good: call `model.train()` at the top of the loop body.
"""

from __future__ import annotations

from evalguard.analysis.flow import Context
from evalguard.analysis.summaries import Forward
from evalguard.checks.common import call_chain, cause, from_tests_only, is_mode_sensitive_model, root_label
from evalguard.checks.common import insert_mode_call
from evalguard.fix.specs import InsertStatement

CODE = "EG001"


def check(fwd: Forward, ctx: Context) -> str | None:
    if not fwd.trained or fwd.no_grad or fwd.in_init:
        return None
    origin = fwd.mode.eval
    if origin is None or from_tests_only(origin, fwd):
        return None
    # A model only ever in eval mode here is a frozen one (teacher, perceptual-loss network) unless
    # an optimizer updates it, or the eval() comes later in the loop around the step (switched
    # after the step, as by a validation); a model in train mode on other paths is being trained.
    if fwd.mode.train is None and not fwd.optimized and not fwd.carried_eval:
        return None
    if not is_mode_sensitive_model(fwd, ctx, fwd.eval_objs or None):
        return None
    return (
        f"training step may run in eval mode: {cause(origin)} switches `{fwd.label}` to eval and "
        f"nothing switches it back before this step{call_chain(fwd)}; call `{root_label(fwd)}.train()` "
        "at the top of the training loop body"
    )


def fix(fwd: Forward) -> InsertStatement | None:
    """`model.train()` at the top of the loop body that runs the step."""
    return insert_mode_call(fwd.anchors[0], root_label(fwd), "train")
