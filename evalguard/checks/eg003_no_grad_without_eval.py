"""EG003: a forward under no_grad/inference_mode while the model is in train mode.

Bad:
    @torch.no_grad()
    def evaluate(model, loader):
        return [model(x).argmax(1) for x in loader]   # no_grad is not eval()

Good: call `model.eval()` before the no_grad block (and restore train() afterwards if needed).
"""

from __future__ import annotations

from evalguard.analysis.flow import Context
from evalguard.analysis.summaries import Forward
from evalguard.checks.common import call_chain, cause, how_train, root_label, train_mode_origin
from evalguard.checks.common import insert_mode_call
from evalguard.fix.specs import InsertStatement

CODE = "EG003"


def check(fwd: Forward, ctx: Context) -> str | None:
    if not fwd.no_grad:
        return None
    origin = train_mode_origin(fwd, ctx)
    if origin is None:
        return None
    return (
        f"`{fwd.label}` runs under no_grad/inference_mode in train mode: {cause(origin)} {how_train(origin)} "
        f"and nothing calls eval() before this forward{call_chain(fwd)}; no_grad only disables autograd, "
        f"Dropout and BatchNorm still behave as in training; call `{root_label(fwd)}.eval()` first"
    )


def fix(fwd: Forward) -> InsertStatement | None:
    """`model.eval()` before the no_grad block / the inference loop / the statement."""
    return insert_mode_call(fwd.anchors[1], root_label(fwd), "eval")
