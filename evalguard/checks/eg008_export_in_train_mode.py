"""EG008: exporting a model that is in train mode bakes training behaviour into the artefact.

Bad:
    model = Net(); model.load_state_dict(torch.load("ckpt.pt"))
    torch.onnx.export(model, dummy, "net.onnx")     # Dropout and batch-statistics BatchNorm exported

Good: call `model.eval()` before exporting.
"""

from __future__ import annotations

from evalguard.analysis.flow import Context
from evalguard.analysis.summaries import Event
from evalguard.checks.common import any_sensitive, cause, how_train
from evalguard.checks.common import insert_mode_call
from evalguard.fix.specs import InsertStatement

CODE = "EG008"


def check(event: Event, ctx: Context) -> str | None:
    if event.kind != "export":
        return None
    if event.mode is None or event.mode.train is None:
        return None
    if not any_sensitive(event.train_objs, ctx):
        return None
    origin = event.mode.train
    what = f"{event.detail}(...)"
    return (
        f"`{what}` exports `{event.label}` in train mode: {cause(origin)} {how_train(origin)} and nothing "
        f"calls eval() before the export; the artefact keeps Dropout active and BatchNorm on batch statistics; "
        f"call `{event.label}.eval()` first"
    )



def fix(event: Event) -> InsertStatement | None:
    return insert_mode_call(event.stmt_line, event.label, "eval")
