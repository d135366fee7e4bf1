"""Whole-project analysis: function summaries to a fixpoint over the call graph.

Every function is analysed once; when a callee's summary changes, its callers are analysed again
(a worklist), so effects and requirements travel across functions and files until nothing
changes. Each function's last analysis used the final summaries of its callees, so its forward
observations are the ones the rules read.
"""

from __future__ import annotations

from collections import deque

from evalguard.analysis.flow import Context, FunctionAnalysis
from evalguard.analysis.project import ProjectIndex
from evalguard.analysis.summaries import EMPTY_SUMMARY, Event, Forward, FunctionResult

# A function re-analysed this often stops being revisited (a safety net against oscillation).
MAX_VISITS = 12


def analyze_project(
    index: ProjectIndex, errors: list[str] | None = None, ctx: Context | None = None
) -> tuple[Context, list[Forward], list[Event]]:
    ctx = ctx if ctx is not None else Context(index)
    callers: dict[str, set[str]] = {}
    results: dict[str, FunctionResult] = {}
    visits: dict[str, int] = {}
    # Module bodies last: they mostly call the functions defined above them.
    order = sorted(index.functions, key=lambda k: (k.endswith(":<module>"), k))
    queue = deque(order)
    queued = set(order)
    while queue:
        key = queue.popleft()
        queued.discard(key)
        visits[key] = visits.get(key, 0) + 1
        try:
            result = FunctionAnalysis(ctx, key, on_call=_recorder(callers, key)).run()
        except RecursionError:
            # A pathologically deep expression: skip this function, keep the rest.
            result = FunctionResult(EMPTY_SUMMARY)
        except Exception as exc:  # noqa: BLE001 - one function must not hide the others' results
            if errors is not None:
                path = index.function_module[key].path
                errors.append(f"{path}: internal error while analysing {key}: {exc!r}, please report")
            result = FunctionResult(EMPTY_SUMMARY)
        results[key] = result
        if result.summary != ctx.summaries.get(key):
            ctx.summaries[key] = result.summary
            for caller in sorted(callers.get(key, ())):
                if caller not in queued and visits.get(caller, 0) < MAX_VISITS:
                    queue.append(caller)
                    queued.add(caller)
    forwards: list[Forward] = []
    events: list[Event] = []
    for key in sorted(results):
        forwards.extend(results[key].forwards)
        events.extend(results[key].events)
    return ctx, forwards, events


def _recorder(callers: dict[str, set[str]], caller: str):
    def record(callee: str) -> None:
        callers.setdefault(callee, set()).add(caller)

    return record
