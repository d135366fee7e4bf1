"""EG005: `model.eval` / `model.train` referenced but not called (a no-op statement).

Bad:  model.eval
Good: model.eval()
"""

from __future__ import annotations

from evalguard.analysis.flow import Context
from evalguard.analysis.summaries import Event
from evalguard.fix.specs import InsertText

CODE = "EG005"


def check(event: Event, ctx: Context) -> str | None:
    if event.kind != "bare-mode-attr":
        return None
    return (
        f"`{event.label}.{event.detail}` is not called: the statement does nothing and the mode does not "
        f"change; write `{event.label}.{event.detail}()`"
    )


def fix(event: Event) -> InsertText | None:
    return InsertText(event.loc.end_line, event.loc.end_col, "()")
