"""EG002: an inference/evaluation forward runs while the model is (or may be) in train mode.

Bad:
    model = resnet50()
    model.load_state_dict(torch.load("ckpt.pt"))
    pred = model(images).argmax(1)      # Dropout on, BatchNorm uses batch statistics

Good: call `model.eval()` after loading.
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

CODE = "EG002"


def check(fwd: Forward, ctx: Context) -> str | None:
    if fwd.trained or fwd.no_grad or fwd.in_init or not fwd.inference_hint:
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
    how = "leaves it in train mode" if origin.explicit else "builds it in train mode (PyTorch's default)"
    return (
        f"`{fwd.label}` runs inference in train mode: {cause(origin)} {how} and nothing calls eval() "
        f"before this forward{call_chain(fwd)}; Dropout stays active and BatchNorm uses batch statistics; "
        f"call `{fwd.label.split('(')[0]}.eval()` before inference"
    )
