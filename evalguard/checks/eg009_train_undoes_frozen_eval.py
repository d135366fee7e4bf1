"""EG009: `model.train()` re-enables submodules that were frozen with their own `.eval()`.

Bad:
    model.backbone.eval()                 # freeze BatchNorm statistics of the backbone
    for epoch in range(epochs):
        model.train()                     # ...and un-freeze them again, every epoch
        train_one_epoch(model)

Good: freeze again after each `model.train()` (or override `train()` in the model to re-freeze).
"""

from __future__ import annotations

from evalguard.analysis.flow import Context
from evalguard.analysis.summaries import Event
from evalguard.checks.common import where

CODE = "EG009"


def check(event: Event, ctx: Context) -> str | None:
    if event.kind != "train-undoes-freeze":
        return None
    what, path, line = event.detail.rsplit("|", 2)
    return (
        f"`{event.label}.train()` re-enables submodules frozen by `{what}` ({where(path, int(line))}): "
        f"train() recurses into every child, so the frozen BatchNorm/Dropout train again; freeze them "
        f"again after `{event.label}.train()` (or override `train()` to keep them in eval)"
    )
