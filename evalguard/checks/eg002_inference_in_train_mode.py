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
from evalguard.checks.common import call_chain, cause, how_train, root_label, train_mode_origin
from evalguard.checks.common import insert_mode_call
from evalguard.fix.specs import InsertStatement

CODE = "EG002"


def check(fwd: Forward, ctx: Context) -> str | None:
    if fwd.no_grad or not fwd.inference_hint:
        return None
    origin = train_mode_origin(fwd, ctx)
    if origin is None:
        return None
    return (
        f"`{fwd.label}` runs inference in train mode: {cause(origin)} {how_train(origin)} and nothing calls "
        f"eval() before this forward{call_chain(fwd)}; Dropout stays active and BatchNorm uses batch "
        f"statistics; call `{root_label(fwd)}.eval()` before inference"
    )


def fix(fwd: Forward) -> InsertStatement | None:
    """`model.eval()` before the no_grad block / the inference loop / the statement."""
    return insert_mode_call(fwd.anchors[1], root_label(fwd), "eval")
