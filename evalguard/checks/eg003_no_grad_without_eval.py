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
from evalguard.checks.common import (
    call_chain,
    cause,
    deliberate_train_mode,
    is_mode_sensitive_model,
    prediction_discarded,
    weak_default_train,
)

CODE = "EG003"


def check(fwd: Forward, ctx: Context) -> str | None:
    if not fwd.no_grad or fwd.trained or fwd.in_init:
        return None
    if prediction_discarded(fwd):
        return None
    origin = fwd.mode.train
    if origin is None:
        return None
    if weak_default_train(fwd) or deliberate_train_mode(fwd):
        return None
    if not is_mode_sensitive_model(fwd, ctx):
        return None
    how = "switches it to train mode" if origin.explicit else "builds it in train mode (PyTorch's default)"
    return (
        f"`{fwd.label}` runs under no_grad/inference_mode in train mode: {cause(origin)} {how} and "
        f"nothing calls eval() before this forward{call_chain(fwd)}; no_grad only disables autograd, "
        f"Dropout and BatchNorm still behave as in training; call `{fwd.label.split('(')[0]}.eval()` first"
    )
