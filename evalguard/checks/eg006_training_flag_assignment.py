"""EG006: `module.training = ...` sets the flag of one module, not of its children.

Bad:  model.training = False          # Dropout/BatchNorm inside still train
Good: model.eval()  (or model.train(False))
"""

from __future__ import annotations

from evalguard.analysis.flow import Context
from evalguard.analysis.summaries import Event

CODE = "EG006"


def check(event: Event, ctx: Context) -> str | None:
    if event.kind != "training-assign":
        return None
    return (
        f"`{event.label}.training = ...` changes only `{event.label}` itself: its submodules (Dropout, "
        f"BatchNorm) keep their mode; call `{event.label}.train(mode)` / `{event.label}.eval()` instead"
    )
