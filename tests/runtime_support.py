"""Helpers shared by the runtime tests: reading traces, fixture markers, torch's global state."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_FIXTURES = ROOT / "fixtures" / "runtime"
# `# runtime: EG001` marks where the tracer reports; `# runtime: switched_to_eval` where a related
# location of that finding is.
RUNTIME_MARKER = re.compile(r"#\s*runtime:\s*([A-Za-z0-9_]+)")


def runtime_markers(path: Path) -> tuple[set[tuple[str, int]], dict[str, int]]:
    """({(code, line)}, {role: line}) from a fixture's `# runtime:` comments."""
    codes, roles = set(), {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for tag in RUNTIME_MARKER.findall(line):
            if re.fullmatch(r"EG\d{3}", tag):
                codes.add((tag, lineno))
            else:
                roles[tag] = lineno
    return codes, roles


def read_trace(path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def final_findings(records: list[dict]) -> dict[tuple[str, str, int], dict]:
    """Per (code, path, line), the record with the largest count (the consumer's rule)."""
    out: dict[tuple[str, str, int], dict] = {}
    for rec in records:
        if rec["type"] == "finding":
            key = (rec["code"], rec["path"], rec["line"])
            if key not in out or rec["count"] > out[key]["count"]:
                out[key] = rec
    return out


def found(records: list[dict], path=None) -> set[tuple[str, int]]:
    real = os.path.realpath(path) if path is not None else None
    return {(code, line) for (code, p, line) in final_findings(records) if real is None or p == real}


def torch_state() -> dict:
    """Everything the tracer touches globally, by identity and content."""
    import torch.nn.modules.module as module_mod
    import torch.optim.optimizer as optim_mod
    from torch import nn

    state = {name: nn.Module.__dict__.get(name) for name in ("train", "eval", "__getstate__", "__setstate__", "__init__")}
    for mod in (module_mod, optim_mod):
        for name, value in vars(mod).items():
            if name.startswith("_global_") and isinstance(value, dict):
                state[f"{mod.__name__}.{name}"] = (id(value), dict(value))
    return state


def single_thread():
    """Autouse fixture body: one intra-op thread. On a busy 2-core machine OpenMP threads wait
    on each other and tiny models run a hundred times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def subprocess_env(**extra) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env.update(extra)
    return env
