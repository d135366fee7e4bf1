"""The whole-project analysis reaches the same result whatever order it visits functions in.

The callees-first order is only a speed-up (fewer second visits); what one analysis learns about
an allocation (evidence that an object of an unknown class is a module) reaches every function
that read it, in any order. Incremental and parallel schemes rely on this.
"""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES

from evalguard.analysis import interprocedural
from evalguard.analysis.flow import Context
from evalguard.analysis.interprocedural import analyze_project
from evalguard.analysis.project import ProjectIndex
from evalguard.discovery.files import discover
from evalguard.parsing.source import facts_from_source

TREES = [str(FIXTURES)] + sorted(str(p) for p in (FIXTURES / "projects").iterdir() if p.is_dir())


def _index(tree: str) -> ProjectIndex:
    modules = []
    for source in discover([tree]):
        if source.path.endswith(".py"):
            with open(source.path, "rb") as f:
                modules.append(facts_from_source(f.read(), source.path, source.module_name))
    return ProjectIndex(modules)


def _analysis(index: ProjectIndex, reorder, monkeypatch):
    real = interprocedural.callees_first
    monkeypatch.setattr(interprocedural, "callees_first", lambda *a, **k: reorder(real(*a, **k)))
    try:
        return analyze_project(index, [], Context(index))
    finally:
        monkeypatch.setattr(interprocedural, "callees_first", real)


def _same_items(a: list, b: list) -> bool:
    """Equal as multisets (items compare by value; their frozensets may print in any order)."""
    rest = list(b)
    for item in a:
        if item not in rest:
            return False
        rest.remove(item)
    return not rest


def _shuffled(order: list[str]) -> list[str]:
    out = list(order)
    random.Random(7).shuffle(out)
    return out


@pytest.mark.parametrize("tree", TREES, ids=lambda t: t.rsplit("/", 1)[-1])
@pytest.mark.parametrize("reorder", [lambda o: o[::-1], _shuffled], ids=["reversed", "shuffled"])
def test_analysis_result_does_not_depend_on_the_visit_order(tree: str, reorder, monkeypatch) -> None:
    index = _index(tree)
    ctx, forwards, events = _analysis(index, lambda o: o, monkeypatch)
    other_ctx, other_forwards, other_events = _analysis(index, reorder, monkeypatch)
    assert other_ctx.summaries == ctx.summaries
    assert _same_items(other_events, events)
    assert _same_items(other_forwards, forwards)
    assert other_ctx.allocs == ctx.allocs
    assert forwards or tree != str(FIXTURES)


LOADER = """\
import torch

import metrics_lib


def load(path):
    return torch.load(path)


def size_report(path):
    model = load(path)
    return sum(p.numel() for p in model.parameters())


def run_eval(path, data):
    model = load(path)
    return metrics_lib.score(model, data)
"""


@pytest.mark.parametrize("reorder", [lambda o: o, lambda o: o[::-1]], ids=["callees-first", "reversed"])
def test_evidence_learned_later_reaches_a_function_analysed_before(tmp_path: Path, reorder, monkeypatch) -> None:
    """`size_report` shows the loaded object to be a module (`.parameters()`) after `run_eval`
    was analysed (the worklist visits it later either way): `run_eval` is analysed again, and
    handing that module to an unknown library call counts as running it."""
    (tmp_path / "loader.py").write_text(textwrap.dedent(LOADER))
    _, forwards, _ = _analysis(_index(str(tmp_path)), reorder, monkeypatch)
    assert [(f.function, f.loc.line) for f in forwards] == [("run_eval", 17)]
