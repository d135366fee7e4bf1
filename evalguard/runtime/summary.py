"""The few lines printed on stderr when tracing ends."""

from __future__ import annotations

from evalguard.runtime.frames import display_path

TOP = 10


def render_summary(tracer) -> str:
    findings = sorted(tracer.book.all(), key=lambda f: (-f.count, f.code, f.location))
    counts = tracer.book.counts()
    target = tracer.trace_path
    head = (
        f"evalguard: traced {_n(tracer.forwards, 'forward')}, {_n(tracer.steps, 'optimizer step')}, "
        f"{_n(tracer.mode_changes, 'mode switch', 'mode switches')}"
    )
    if not findings:
        lines = [f"{head}; no findings" + (f" (trace: {target})" if target else "")]
        return "\n".join(lines) + "\n"
    per_code = ", ".join(f"{code} x{n}" for code, n in counts.items())
    lines = [f"{head}; {_n(len(findings), 'finding')} ({per_code})" + (f" -> {target}" if target else "")]
    for f in findings[:TOP]:
        lines.append(f"  {display_path(f.location[0])}:{f.location[1]}: {f.code} {f.message} [{_n(f.count, 'time')}]")
    if len(findings) > TOP:
        lines.append(f"  ... and {len(findings) - TOP} more in the trace")
    return "\n".join(lines) + "\n"


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"
