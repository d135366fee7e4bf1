"""EG007: `train(...)` with a literal that is not a bool.

Bad:  model.train("False")      # PyTorch raises ValueError: training mode is expected to be boolean
Good: model.train(False)  /  model.eval()
"""

from __future__ import annotations

from evalguard.analysis.flow import Context
from evalguard.analysis.summaries import Event

CODE = "EG007"


def check(event: Event, ctx: Context) -> str | None:
    if event.kind != "bad-mode-arg":
        return None
    return (
        f"`{event.label}.train({event.detail})` passes a non-bool mode: `nn.Module.train` raises "
        "`ValueError` for it; pass `True` or `False` (or call `.eval()`)"
    )
