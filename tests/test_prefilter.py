"""The prefilter skips functions that cannot lead to a finding, and changes no result."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import FIXTURES

from evalguard.analysis.flow import Context
from evalguard.analysis.interprocedural import analyze_project, relevant_functions
from evalguard.analysis.project import ProjectIndex
from evalguard.checks.registry import FORWARD_RULES
from evalguard.discovery.files import discover
from evalguard.parsing.ir import ModuleFacts
from evalguard.parsing.source import facts_from_source
from evalguard.pipeline import check_files, check_modules


def _modules(tree: str) -> list[ModuleFacts]:
    modules = []
    for source in discover([tree]):
        if source.path.endswith(".py"):
            with open(source.path, "rb") as f:
                modules.append(facts_from_source(f.read(), source.path, source.module_name))
    return modules


def _assert_prefilter_changes_nothing(tree: str) -> tuple[int, int]:
    """Stronger than equal findings: every function the prefiltered run analyses ends with the
    same summary as in the full run, the same events come out, and no forward seen only in the
    full run makes any rule fire. Returns (functions analysed with the prefilter, without)."""
    modules = _modules(tree)
    index = ProjectIndex(modules)
    full_ctx, full_forwards, full_events = analyze_project(index, [], Context(index))
    needed = relevant_functions(index)
    ctx, forwards, events = analyze_project(index, [], Context(index), needed)
    for key, summary in ctx.summaries.items():
        assert summary == full_ctx.summaries[key], key
    assert sorted(map(repr, events)) == sorted(map(repr, full_events))
    kept = set(map(repr, forwards))
    assert kept <= set(map(repr, full_forwards))
    for fwd in full_forwards:
        if repr(fwd) not in kept:
            assert all(rule.check(fwd, full_ctx) is None for rule in FORWARD_RULES), (fwd.path, fwd.loc)
    assert check_modules(modules).findings == check_modules(modules, prefilter=False).findings
    return len(ctx.summaries), len(full_ctx.summaries)


def test_prefilter_changes_nothing_on_the_fixtures() -> None:
    analysed, everything = _assert_prefilter_changes_nothing(str(FIXTURES))
    assert analysed < everything
    files = discover([str(FIXTURES)])
    findings = check_files(files).findings
    assert findings and findings == check_files(files, prefilter=False).findings


@pytest.mark.parametrize("project", sorted(p.name for p in (FIXTURES / "projects").iterdir() if p.is_dir()))
def test_prefilter_changes_nothing_on_each_fixture_project(project: str) -> None:
    _assert_prefilter_changes_nothing(str(FIXTURES / "projects" / project))


def test_prefilter_changes_nothing_on_a_real_package_tree() -> None:
    """torch's own quantization and optimizer code: real models, train()/eval() switching,
    no_grad, helpers of every kind."""
    torch = pytest.importorskip("torch")
    root = os.path.dirname(torch.__file__)
    for sub in ("ao/quantization", "nn/modules", "optim"):
        analysed, everything = _assert_prefilter_changes_nothing(os.path.join(root, sub))
        assert analysed < everything, sub


def _analysed(tmp_path: Path, source: str, analysed_functions: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """(qualnames analysed, findings) of a one-file project."""
    (tmp_path / "train.py").write_text(source)
    result = check_files(discover([str(tmp_path)]))
    return [key.rpartition(":")[2] for key in analysed_functions], [(f.line, f.code) for f in result.findings]


TRAIN_LOOP = """\
import torch
import torch.nn as nn


def make_model():
    return nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))


def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.1)


def warm_up(model, loader):
    model.eval()
    with torch.no_grad():
        for batch in loader:
            model(batch)


def one_epoch(model, loader, opt):
    for batch in loader:
        loss = model(batch).sum()
        loss.backward()
        opt.step()


def run(loader):
    # Plain itself, but it calls functions that switch the mode and step: it is the one that
    # runs the step in eval mode.
    model = make_model()
    opt = make_optimizer(model)
    warm_up(model, loader)
    one_epoch(model, loader, opt)


def count_rows(rows):
    total = 0
    for row in rows:
        total += len(row)
    return total


def format_rows(rows):
    return [str(row) for row in rows], count_rows(rows)


if __name__ == "__main__":
    run([torch.zeros(2, 4)])
"""


def test_plain_functions_nothing_relevant_reaches_are_skipped(tmp_path: Path, analysed_functions) -> None:
    analysed, findings = _analysed(tmp_path, TRAIN_LOOP, analysed_functions)
    assert findings == [(22, "EG001")]
    # `run` and the module body call relevant functions; `make_model` is analysed on demand for
    # what it returns; the row helpers lead to nothing.
    assert {"one_epoch", "warm_up", "make_optimizer", "run", "<module>", "make_model"} <= set(analysed)
    assert "count_rows" not in analysed and "format_rows" not in analysed


def test_a_helper_passed_as_a_callback_is_analysed_with_its_enclosing_function(tmp_path, analysed_functions) -> None:
    source = (
        "import torch\nimport torch.nn as nn\n\n\n"
        "def evaluate(model, batches, apply):\n"
        "    with torch.no_grad():\n"
        "        return [apply(model, b) for b in batches]\n\n\n"
        "def main(batches):\n"
        "    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))\n\n"
        "    def predict_one(m, b):\n"
        "        return m(b).argmax(dim=1)\n\n"
        "    return evaluate(model, batches, predict_one)\n"
    )
    analysed, findings = _analysed(tmp_path, source, analysed_functions)
    assert "main.predict_one" in analysed and "main" in analysed
    full = check_files(discover([str(tmp_path)]), prefilter=False)
    assert findings == [(f.line, f.code) for f in full.findings]


def test_an_aliased_functional_dropout_is_relevant(tmp_path: Path, analysed_functions) -> None:
    source = (
        "import torch.nn as nn\n"
        "from torch.nn.functional import dropout as drop\n\n\n"
        "class Head(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n\n"
        "    def forward(self, x):\n"
        "        return drop(self.fc(x), p=0.2)\n"
    )
    analysed, findings = _analysed(tmp_path, source, analysed_functions)
    assert findings == [(11, "EG004")]
    assert "Head.forward" in analysed


def test_a_caller_closure_stops_at_a_set_already_closed() -> None:
    """Demand mode extends its closed set by each new watcher's callers, walking only up to what
    is closed already; the answer is the full closure less that set."""
    from evalguard.analysis.interprocedural import CallerGraph

    index = ProjectIndex(_modules(str(FIXTURES)))
    graph = CallerGraph(index)
    keys = sorted(index.functions)
    closed = graph.closure(set(keys[::7]))
    assert len(keys) > len(closed) > len(keys[::7])
    for start in keys[::3]:
        assert graph.closure({start}, known=closed) == graph.closure({start}) - closed
