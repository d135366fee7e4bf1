"""After an edit, re-analysing only what the edit may change gives the whole analysis's answer.

Random edits of real-looking code (a statement deleted, duplicated, swapped or inserted, a
function appended, every line below shifted) are checked both ways: the whole analysis of the
edited project, and `analysis.incremental` resuming from the analysis before the edit. Not only
the findings must agree, but everything the rules read: every analysed function's summary,
every forward observation and event, the allocation knowledge and the objects callers pass.
"""

from __future__ import annotations

import ast
import pickle
import random
import shutil
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
from conftest import FIXTURES

from evalguard import pipeline
from evalguard.analysis import flow
from evalguard.analysis.incremental import dirty_functions, snapshot
from evalguard.analysis.project import ProjectIndex
from evalguard.cache import Cache
from evalguard.discovery.files import discover

PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir())
SNIPPETS = [
    "model.eval()",
    "self.eval()",
    "self.train()",
    "model.train()",
    "x = model(x)",
    "loss.backward()",
    "optimizer.step()",
    "pass",
    "return None",
    "self.model.eval()",
]


def _modules(tree: Path, texts: dict[str, str] | None = None) -> dict[str, object]:
    out = {}
    for source in discover([str(tree)]):
        if source.path.endswith(".py"):
            text = texts[source.path] if texts else Path(source.path).read_text(encoding="utf-8")
            out[source.path] = pipeline.parse_source(text.encode(), source.path, source.module_name, [])
    return out


def _canon(value):
    """Comparable by value, sets in a fixed order (frozensets may iterate in any order)."""
    if isinstance(value, (set, frozenset)):
        return ("set", *sorted((_canon(v) for v in value), key=repr))
    if isinstance(value, (list, tuple)):
        return tuple(_canon(v) for v in value)
    if isinstance(value, dict):
        return ("dict", *sorted(((_canon(k), _canon(v)) for k, v in value.items()), key=repr))
    if is_dataclass(value):
        return (type(value).__name__, *(_canon(getattr(value, f.name)) for f in fields(value)))
    return value


def _state(run) -> dict:
    forwards, events = run.outputs()
    ctx = run.ctx
    return {
        "analysed": sorted(run.results),
        "summaries": _canon({k: v for k, v in ctx.summaries.items() if k in run.results}),
        "forwards": sorted(map(repr, map(_canon, forwards))),
        "events": sorted(map(repr, map(_canon, events))),
        "allocs": _canon(ctx.allocs),
        "passed": _canon({k: v for k, v in ctx.param_objects.items() if v}),
        # The kept caller graph, patched for the edit, is the one the edited project has.
        "graph": _canon([run.graph.callers_of, run.graph.by_method_name, run.graph.by_self_method, run.graph.callees]),
    }


def _edit(text: str, rng: random.Random) -> str | None:
    lines = text.split("\n")
    kind = rng.choice(["delete", "duplicate", "insert", "insert", "append", "shift", "swap"])
    if kind == "append":
        return text + f"\n\ndef _added_{rng.randrange(10**6)}(model, x):\n    model.eval()\n    return model(x)\n"
    if kind == "shift":
        at = rng.randrange(len(lines) + 1)
        return "\n".join([*lines[:at], "", *lines[at:]])
    body = [
        i
        for i, line in enumerate(lines)
        if line.startswith("    ") and line.strip() and not line.strip().startswith(("#", "@", "def ", "class ", '"', "'"))
    ]
    if not body:
        return None
    i = rng.choice(body)
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    if kind == "delete":
        new = lines[:i] + lines[i + 1 :]
    elif kind == "duplicate":
        new = lines[: i + 1] + [lines[i]] + lines[i + 1 :]
    elif kind == "insert":
        new = lines[:i] + [indent + rng.choice(SNIPPETS)] + lines[i:]
    else:
        if i + 1 >= len(lines):
            return None
        new = lines[:i] + [lines[i + 1], lines[i]] + lines[i + 2 :]
    return "\n".join(new)


def _random_edits(tree: Path, count: int, seed: int, some: bool = False) -> tuple[int, int]:
    """(edits checked, edits re-analysed incrementally); asserts each agrees with a whole run.
    `some`: only every fifth file is reported on, the rest being context (as pre-commit checks
    the changed files: only what those need is analysed)."""
    rng = random.Random(seed)
    modules = _modules(tree)
    texts = {path: Path(path).read_text(encoding="utf-8") for path in modules}
    report = set(sorted(modules)[::5]) if some else None
    kept: list = []
    pipeline.check_modules(list(modules.values()), report=report, keep=kept)
    blob = pickle.dumps(snapshot(kept[0]))
    old_index = ProjectIndex(list(modules.values()))
    paths = sorted(modules)
    checked = resumed = 0
    attempts = 0
    while checked < count and attempts < count * 20:
        attempts += 1
        path = rng.choice(paths)
        new_text = _edit(texts[path], rng)
        if new_text is None:
            continue
        try:
            ast.parse(new_text)
        except SyntaxError:
            continue
        edited = dict(modules)
        edited[path] = _modules(tree, {**texts, path: new_text})[path]
        if edited[path] == modules[path]:
            continue
        checked += 1
        whole: list = []
        expected = pipeline.check_modules(list(edited.values()), report=report, keep=whole)
        again: list = []
        previous = (pickle.loads(blob), [modules[path]], [edited[path]], old_index)
        result = pipeline.check_modules(list(edited.values()), report=report, previous=previous, keep=again)
        resumed += again[0].reopen is not None
        assert result.findings == expected.findings, path
        assert _state(again[0]) == _state(whole[0]), (path, new_text)
    return checked, resumed


@pytest.mark.parametrize("tree", PROJECTS, ids=[p.name for p in PROJECTS])
def test_random_edits_of_projects_match_whole_analysis(tree):
    checked, resumed = _random_edits(tree, 6, seed=len(tree.name))
    assert checked == 6
    assert resumed >= 3  # most edits change only function bodies


def test_random_edits_of_every_fixture_match_whole_analysis():
    checked, resumed = _random_edits(FIXTURES, 16, seed=3)
    assert checked == 16
    assert resumed >= 12


def test_random_edits_checking_some_files_match_the_whole_analysis():
    checked, resumed = _random_edits(FIXTURES, 10, seed=5, some=True)
    assert checked == 10
    assert resumed >= 7


def _counting(monkeypatch) -> list[str]:
    analysed: list[str] = []
    real = flow.FunctionAnalysis.run

    def run(self):
        analysed.append(self.key)
        return real(self)

    monkeypatch.setattr(flow.FunctionAnalysis, "run", run)
    return analysed


def _copy(tree: Path, tmp_path: Path) -> Path:
    root = tmp_path / tree.name
    shutil.copytree(tree, root)
    return root


def test_whole_tree_run_after_an_edit_reanalyses_only_what_it_reaches(tmp_path, monkeypatch):
    """The CLI path: a whole-tree run with a cache keeps its analysis; after a real edit of the
    training loop (its `model.train()` deleted), the next run analyses that file's functions and
    what read from them, and reports the bug the edit introduced, as a run without the cache
    does."""
    root = _copy(FIXTURES / "projects" / "eg001_helper_crossfile_ok", tmp_path)
    cache = Cache(str(tmp_path / "cache"))
    analysed = _counting(monkeypatch)
    first = pipeline.check_files(discover([str(root)]), cache=cache)
    assert first.findings == []
    whole = len(analysed)
    loops = root / "trainer" / "loops.py"
    loops.write_text((FIXTURES / "projects" / "eg001_helper_crossfile_bug" / "trainer" / "loops.py").read_text())
    resumed: list = []
    real_resume = pipeline.resume

    def spy(*args, **kwargs):
        run = real_resume(*args, **kwargs)
        resumed.append(run)
        return run

    monkeypatch.setattr(pipeline, "resume", spy)
    analysed.clear()
    after = pipeline.check_files(discover([str(root)]), cache=cache)
    assert resumed and resumed[0] is not None
    assert 0 < len(analysed) < whole
    fresh = pipeline.check_files(discover([str(root)]))
    assert after.findings == fresh.findings
    assert [f.code for f in after.findings] == ["EG001"]
    # A second edit resumes from the analysis the first re-analysis kept (every line moves down).
    loops.write_text("\n" + loops.read_text())
    resumed.clear()
    again = pipeline.check_files(discover([str(root)]), cache=cache)
    assert resumed and resumed[0] is not None
    assert again.findings == pipeline.check_files(discover([str(root)])).findings
    assert [(f.code, f.line) for f in again.findings] == [("EG001", after.findings[0].line + 1)]


def test_a_new_class_is_not_an_edit_it_resumes(tmp_path):
    """What other modules resolve against changed (a class added): the whole analysis runs."""
    tree = FIXTURES / "projects" / "eg002_engine_ok"
    modules = _modules(tree)
    path = sorted(modules)[0]
    text = Path(path).read_text(encoding="utf-8") + "\n\nclass Added:\n    pass\n"
    edited = _modules(tree, {p: Path(p).read_text(encoding="utf-8") for p in modules} | {path: text})
    old_index, new_index = ProjectIndex(list(modules.values())), ProjectIndex(list(edited.values()))
    assert dirty_functions([modules[path]], [edited[path]], old_index, new_index) is None
    body_only = Path(path).read_text(encoding="utf-8").replace("return", "return  ", 1)
    edited = _modules(tree, {p: Path(p).read_text(encoding="utf-8") for p in modules} | {path: body_only})
    assert dirty_functions([modules[path]], [edited[path]], old_index, ProjectIndex(list(edited.values()))) is not None


def test_a_failing_resume_still_gives_the_whole_analysis(tmp_path, monkeypatch):
    """A bug in the re-analysis must not cost the user the answer: the whole analysis runs and
    a note asks for a report."""
    root = _copy(FIXTURES / "projects" / "eg001_helper_crossfile_ok", tmp_path)
    cache = Cache(str(tmp_path / "cache"))
    pipeline.check_files(discover([str(root)]), cache=cache)
    loops = root / "trainer" / "loops.py"
    loops.write_text((FIXTURES / "projects" / "eg001_helper_crossfile_bug" / "trainer" / "loops.py").read_text())

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(pipeline, "resume", broken)
    result = pipeline.check_files(discover([str(root)]), cache=cache)
    assert [f.code for f in result.findings] == ["EG001"]
    assert not result.errors
    assert any("could not resume" in note and "please report" in note for note in result.notes)
