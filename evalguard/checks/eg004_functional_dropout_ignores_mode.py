"""EG004: functional dropout inside a module that ignores the module's mode.

Bad:
    def forward(self, x):
        return F.dropout(self.fc(x), p=0.2)          # training defaults to True: on at eval too

Good:
    def forward(self, x):
        return F.dropout(self.fc(x), p=0.2, training=self.training)
"""

from __future__ import annotations

from evalguard.analysis.flow import Context
from evalguard.analysis.summaries import Event
from evalguard.fix.specs import AddKeyword, FixSpec, ReplaceInCall

CODE = "EG004"


def check(event: Event, ctx: Context) -> str | None:
    if event.kind == "functional-dropout":
        label = event.label
        if event.detail == "missing-off":
            return (
                f"`{label}(...)` without `training=`, which defaults to False: this dropout is never "
                "applied, in training either; pass `training=self.training`"
            )
        flag = "train" if label.startswith("torch.") else "training"
        why = {"missing": "without `training=`, which defaults to True", "true-arg": f"with `{flag}` set to True"}.get(
            event.detail, f"with `{flag}=True`"
        )
        return (
            f"`{label}(...)` {why}: dropout stays active after `model.eval()`, so evaluation is "
            f"random; pass `{flag}=self.training`"
        )
    if event.kind == "module-dropout-in-forward":
        return (
            f"`nn.{event.label}(...)` is built inside `forward()`: a fresh module is always in train mode, so "
            "dropout ignores `model.eval()`; create it once in `__init__` and call `self.dropout(x)`"
        )
    if event.kind == "sdpa-dropout":
        return (
            f"`scaled_dot_product_attention(..., dropout_p={event.label})` is not gated on `self.training`: "
            "attention dropout stays active at evaluation; use "
            "`dropout_p=p if self.training else 0.0`"
        )
    return None


def fix(event: Event) -> FixSpec | None:
    if event.kind != "functional-dropout":
        return None
    loc = event.loc
    if event.detail in ("missing", "missing-off"):
        return AddKeyword(loc.end_line, loc.end_col, "training=self.training")
    if event.detail != "true":
        return None  # a positional `True`: rewriting it is left to the author
    flag = "train" if event.label.startswith("torch.") else "training"
    return ReplaceInCall(loc.line, loc.col, loc.end_line, loc.end_col, rf"\b{flag}\s*=\s*True\b", f"{flag}=self.training")
