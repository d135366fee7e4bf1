"""EG007: `train(...)` with a literal that is not a bool.

Bad:  model.train("False")      # PyTorch raises ValueError: training mode is expected to be boolean
Good: model.train(False)  /  model.eval()
"""

from __future__ import annotations

from evalguard.analysis.flow import Context
from evalguard.analysis.summaries import Event
from evalguard.fix.specs import ReplaceInCall

CODE = "EG007"


def check(event: Event, ctx: Context) -> str | None:
    if event.kind != "bad-mode-arg":
        return None
    return (
        f"`{event.label}.train({event.detail})` passes a non-bool mode: `nn.Module.train` raises "
        "`ValueError` for it; pass `True` or `False` (or call `.eval()`)"
    )


def fix(event: Event) -> ReplaceInCall | None:
    """The literal -> the bool it clearly means (`0` -> False, `"False"` -> False); else no fix."""
    meant = _MEANING.get(event.detail.strip("'\"").strip().lower() if event.detail[:1] in "'\"" else event.detail)
    if meant is None:
        return None
    loc = event.loc
    return ReplaceInCall(loc.line, loc.col, loc.end_line, loc.end_col, r"\((\s*(?:mode\s*=\s*)?)[^()]*?(\s*)\)$", rf"(\g<1>{meant}\g<2>)")


_MEANING = {
    "0": "False", "0.0": "False", "false": "False", "eval": "False", "no": "False", "off": "False",
    "1": "True", "1.0": "True", "true": "True", "train": "True", "yes": "True", "on": "True",
}
