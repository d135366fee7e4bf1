"""The analysis engine on small inline programs: mode lattice, loops, summaries, imports, rules.

Inline sources mark each expected finding with `# expect: EGxxx` on the reported line (the same
convention as fixtures/); every test compares the exact set of (code, line) pairs both ways.
"""

from __future__ import annotations

import os
import sys
import textwrap
from itertools import product
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, MARKER

from evalguard.analysis import modes as M
from evalguard.analysis.modes import BOTTOM, ModeVal, Origin
from evalguard.cli import main
from evalguard.pipeline import check_paths

# A small classifier with BatchNorm and Dropout: its behaviour depends on train/eval.
NET = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.bn = nn.BatchNorm1d(64)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.bn(self.fc1(x)))))

'''


def src(text: str) -> str:
    return textwrap.dedent(text)


def expected(text: str, path: str | None = None) -> set:
    out = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        m = MARKER.search(line)
        if m:
            for code in m.group(1).split(","):
                out.add((code.strip(), lineno) if path is None else (path, code.strip(), lineno))
    return out


def line_of(text: str, fragment: str) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(hits) == 1, f"{fragment!r} must occur exactly once"
    return hits[0]


def analyse(tmp_path: Path, text: str, name: str = "train.py") -> set[tuple[str, int]]:
    """(code, line) of every finding in one file."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = check_paths([str(path)])
    assert result.errors == []
    assert result.files_checked == 1
    return {(f.code, f.line) for f in result.findings}


def analyse_messages(tmp_path: Path, text: str, name: str = "train.py") -> list:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = check_paths([str(path)])
    assert result.errors == []
    return result.findings


def write_project(root: Path, files: dict[str, str]) -> set[tuple[str, str, int]]:
    """Write files; return the (path, code, line) their markers expect."""
    out = set()
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        out |= expected(text, os.path.normpath(rel))
    return out


def analyse_project(root: Path, monkeypatch, target: str = ".") -> set[tuple[str, str, int]]:
    monkeypatch.chdir(root)
    result = check_paths([target])
    assert result.errors == []
    return {(os.path.normpath(f.path), f.code, f.line) for f in result.findings}


def codes(found: set) -> set[str]:
    return {item[-2] for item in found}


# ====================================================================================== lattice

O_EARLY = Origin("train.py", 3, 5, "model.eval()")
O_LATE = Origin("train.py", 10, 1, "validate()")
O_LINE9 = Origin("train.py", 9, 50, "model.train()")
O_OTHER_FILE = Origin("utils.py", 1, 1, "model.eval()", via=(("evaluate()", "train.py", 40),))
O_ENTRY = Origin("", 0, 0, "model")

SAMPLES = [
    BOTTOM,
    M.only(M.TRAIN, O_LINE9),
    M.only(M.EVAL, O_EARLY),
    M.only(M.EVAL, O_LATE),
    M.only(M.EVAL, O_OTHER_FILE),
    M.entry("model"),
    M.only(M.UNKNOWN, O_LATE),
    ModeVal(train=O_LATE, eval=O_OTHER_FILE),
    ModeVal(train=O_EARLY, eval=O_LATE, entry=O_ENTRY, unknown=O_LINE9),
]


def test_join_is_commutative():
    for a, b in product(SAMPLES, SAMPLES):
        assert a.join(b) == b.join(a), (a, b)


@pytest.mark.parametrize("a", SAMPLES)
def test_join_is_idempotent_and_bottom_is_neutral(a):
    assert a.join(a) == a
    assert a.join(BOTTOM) == a
    assert BOTTOM.join(a) == a


def test_join_is_associative():
    for a, b, c in product(SAMPLES, repeat=3):
        assert a.join(b).join(c) == a.join(b.join(c)), (a, b, c)


def test_join_is_the_union_of_kinds():
    for a, b in product(SAMPLES, SAMPLES):
        assert a.join(b).kinds() == a.kinds() | b.kinds()


def test_join_keeps_the_first_origin_by_source_position():
    late_then_early = M.only(M.EVAL, O_LATE).join(M.only(M.EVAL, O_EARLY))
    assert late_then_early.eval == O_EARLY
    # Line 9 comes before line 10 (numeric, not textual, order).
    assert M.only(M.TRAIN, O_LATE).join(M.only(M.TRAIN, O_LINE9)).train == O_LINE9
    # Path first: train.py:10 before utils.py:1.
    assert M.only(M.EVAL, O_OTHER_FILE).join(M.only(M.EVAL, O_LATE)).eval == O_LATE
    # Origins of different kinds are all kept.
    both = M.only(M.TRAIN, O_LATE).join(M.only(M.EVAL, O_EARLY))
    assert (both.train, both.eval) == (O_LATE, O_EARLY)


def test_kinds():
    assert BOTTOM.kinds() == frozenset() and BOTTOM.empty
    assert M.only(M.EVAL, O_EARLY).kinds() == {M.EVAL}
    assert M.entry("self.model").kinds() == {M.ENTRY}
    assert M.entry("self.model").entry.what == "self.model"
    full = SAMPLES[-1]
    assert full.kinds() == {M.TRAIN, M.EVAL, M.ENTRY, M.UNKNOWN}
    assert full.without(M.EVAL).kinds() == {M.TRAIN, M.ENTRY, M.UNKNOWN}
    assert full.get(M.TRAIN) == O_EARLY and full.get(M.UNKNOWN) == O_LINE9
    assert not full.empty


def test_origin_through_records_the_call_chain_outermost_first():
    inner = Origin("utils.py", 12, 5, "model.eval()")
    seen = inner.through("validate()", "engine.py", 30).through("fit()", "train.py", 7)
    assert seen.via == (("fit()", "train.py", 7), ("validate()", "engine.py", 30))
    assert (seen.path, seen.line, seen.what) == ("utils.py", 12, "model.eval()")


# ====================================================================================== loops

LOOP_END_EVAL = NET + src(
    '''
    def run(loader, val_x):
        model = Net()
        opt = torch.optim.Adam(model.parameters())
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)  # expect: EG001
            opt.zero_grad()
            loss.backward()
            opt.step()
            model.eval()
            with torch.no_grad():
                print(model(val_x).argmax(1))
    '''
)


def test_eval_at_end_of_loop_body_reaches_the_forward_at_the_top_of_the_next_iteration(tmp_path):
    found = analyse_messages(tmp_path, LOOP_END_EVAL)
    assert {(f.code, f.line) for f in found} == expected(LOOP_END_EVAL)
    # The message names the eval() that causes it.
    assert f"train.py:{line_of(LOOP_END_EVAL, 'model.eval()')}" in found[0].message


def test_train_at_top_of_loop_body_fixes_it(tmp_path):
    fixed = LOOP_END_EVAL.replace(
        "    model.train()\n    for x, y in loader:\n", "    for x, y in loader:\n        model.train()\n"
    ).replace("  # expect: EG001", "")
    assert fixed != LOOP_END_EVAL
    assert analyse(tmp_path, fixed) == set()


def test_continue_after_eval_reaches_the_loop_head(tmp_path):
    text = NET + src(
        '''
        def run(loader):
            model = Net()
            opt = torch.optim.Adam(model.parameters())
            model.train()
            for step, (x, y) in enumerate(loader):
                loss = F.cross_entropy(model(x), y)  # expect: EG001
                opt.zero_grad()
                loss.backward()
                opt.step()
                if step % 100 == 0:
                    model.eval()
                    continue
                print(loss.item())
        '''
    )
    assert analyse(tmp_path, text) == expected(text) == {("EG001", line_of(text, "loss = F."))}


def test_while_loop_iterates_to_a_fixpoint(tmp_path):
    text = NET + src(
        '''
        def run(batches, steps):
            model = Net()
            opt = torch.optim.Adam(model.parameters())
            model.train()
            step = 0
            while step < steps:
                x, y = next(batches)
                loss = F.cross_entropy(model(x), y)  # expect: EG001
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                model.eval()
        '''
    )
    assert analyse(tmp_path, text) == expected(text) == {("EG001", line_of(text, "loss = F."))}


def test_break_right_after_eval_does_not_reach_the_loop_head(tmp_path):
    # The eval() is followed by `break`: no later iteration trains in eval mode. After the loop the
    # model is in eval mode (break) or still in train mode (loader exhausted): EG003 there is right.
    text = NET + src(
        '''
        def run(loader, val_x):
            model = Net()
            opt = torch.optim.Adam(model.parameters())
            model.train()
            for step, (x, y) in enumerate(loader):
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if step == 1000:
                    model.eval()
                    break
            with torch.no_grad():
                return model(val_x).argmax(1)  # expect: EG003
        '''
    )
    assert analyse(tmp_path, text) == expected(text) == {("EG003", line_of(text, "return model(val_x)"))}


def test_while_true_exits_only_through_break(tmp_path):
    text = NET + src(
        '''
        def run(batches, val_x):
            model = Net()
            opt = torch.optim.Adam(model.parameters())
            model.train()
            step = 0
            while True:
                x, y = next(batches)
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                if step == 1000:
                    model.eval()
                    break
            with torch.no_grad():
                return model(val_x).argmax(1)
        '''
    )
    assert analyse(tmp_path, text) == set()


# ====================================================================================== summaries

SUMMARY_PROGRAM = NET + src(
    '''
    def HELPER(m, val_x):
    BODY
        return out


    def fit(loader, val_x):
        model = Net()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)  # MARK
            opt.zero_grad()
            loss.backward()
            opt.step()
            HELPER(model, val_x)
    '''
)

SWITCHING_HELPERS = {
    "check_train_false": "    m.train(False)\n    with torch.no_grad():\n        out = m(val_x).argmax(1)",
    "check_train_mode_false": "    m.train(mode=False)\n    with torch.no_grad():\n        out = m(val_x).argmax(1)",
    "check_eval": "    m.eval()\n    with torch.no_grad():\n        out = m(val_x).argmax(1)",
    # The switch is two calls deep.
    "check_nested": "    out = check_eval_inner(m, val_x)",
}
RESTORING_HELPERS = {
    "check_restore": (
        "    was = m.training\n    m.eval()\n    with torch.no_grad():\n        out = m(val_x).argmax(1)\n"
        "    m.train(was)"
    ),
    "check_restore_if": (
        "    was_training = m.training\n    m.eval()\n    with torch.no_grad():\n"
        "        out = m(val_x).argmax(1)\n    if was_training:\n        m.train()"
    ),
    "check_train_again": "    m.eval()\n    with torch.no_grad():\n        out = m(val_x).argmax(1)\n    m.train()",
}
INNER = src(
    '''

    def check_eval_inner(m, val_x):
        m.eval()
        with torch.no_grad():
            return m(val_x).argmax(1)
    '''
)


def summary_program(helper: str, body: str, bug: bool) -> str:
    text = SUMMARY_PROGRAM.replace("HELPER", helper).replace("BODY", body)
    text = text.replace("# MARK", "# expect: EG001" if bug else "")
    return text + INNER


@pytest.mark.parametrize("helper", sorted(SWITCHING_HELPERS))
def test_summary_of_a_helper_that_switches_to_eval(tmp_path, helper):
    text = summary_program(helper, SWITCHING_HELPERS[helper], bug=True)
    assert analyse(tmp_path, text) == expected(text) == {("EG001", line_of(text, "loss = F."))}


@pytest.mark.parametrize(
    "helper",
    [
        "check_restore",
        "check_restore_if",
        "check_train_again",
    ],
)
def test_summary_of_a_helper_that_restores_the_mode(tmp_path, helper):
    text = summary_program(helper, RESTORING_HELPERS[helper], bug=False)
    assert analyse(tmp_path, text) == set()


def test_saved_training_flag_restores_the_callers_mode_not_train(tmp_path):
    # `m.train(was)` gives back whatever the caller had: eval stays eval, train stays train.
    text = NET + src(
        '''
        def quick_score(m, x):
            was = m.training
            m.eval()
            with torch.no_grad():
                out = m(x).argmax(1)
            m.train(was)
            return out


        def after_eval(x):
            model = Net()
            model.load_state_dict(torch.load("net.pt"))
            model.eval()
            quick_score(model, x)
            with torch.no_grad():
                return model(x).argmax(1)


        def still_in_default_train_mode(x):
            model = Net()
            model.load_state_dict(torch.load("net.pt"))
            quick_score(model, x)
            with torch.no_grad():
                return model(x).argmax(1)  # expect: EG003
        '''
    )
    assert analyse(tmp_path, text) == expected(text)
    assert codes(expected(text)) == {"EG003"}


def test_requirement_of_a_helper_is_checked_at_the_call_site(tmp_path):
    # `train_one_epoch` never calls train(): its forward needs the caller to pass a model in train
    # mode, and the caller's loop hands it one in eval mode after the first evaluation.
    text = NET + src(
        '''
        def train_one_epoch(model, loader, opt):
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)  # expect: EG001
                opt.zero_grad()
                loss.backward()
                opt.step()


        @torch.no_grad()
        def evaluate(model, loader):
            model.eval()
            return sum((model(x).argmax(1) == y).sum().item() for x, y in loader)


        def main(loader, val_loader):
            model = Net()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            model.train()
            for epoch in range(10):
                train_one_epoch(model, loader, opt)
                print(epoch, evaluate(model, val_loader))
        '''
    )
    assert analyse(tmp_path, text) == expected(text)
    assert codes(expected(text)) == {"EG001"}


def test_model_returned_in_a_tuple_keeps_its_mode(tmp_path):
    text = src(
        '''
        import torch
        import torchvision


        def load_model():
            model = torchvision.models.resnet50(weights="DEFAULT")
            return model, "cuda"


        def classify(images):
            model, device = load_model()
            with torch.no_grad():
                return model(images.to(device)).argmax(-1)  # expect: EG003
        '''
    )
    assert analyse(tmp_path, text) == expected(text)


# ====================================================================================== imports

EVALUATION_MODULE = src(
    '''
    import torch


    def evaluate(model, loader):
        model.eval()
        total = 0
        with torch.no_grad():
            for x, y in loader:
                total += (model(x).argmax(1) == y).sum().item()
        return total
    '''
)

MODELS_MODULE = NET


def train_script(import_line: str, call: str, bug: bool = True) -> str:
    return src(
        f'''
        import torch
        import torch.nn.functional as F
        {import_line}


        def main(model, loader, val_loader):
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            model.train()
            for epoch in range(10):
                for x, y in loader:
                    loss = F.cross_entropy(model(x), y)  {"# expect: EG001" if bug else ""}
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                {call}(model, val_loader)
        '''
    )


@pytest.mark.parametrize(
    "import_line, call",
    [
        ("from pkg.evaluation import evaluate", "evaluate"),
        ("from pkg.evaluation import evaluate as run_eval", "run_eval"),
        ("import pkg.evaluation as m", "m.evaluate"),
        ("import pkg.evaluation", "pkg.evaluation.evaluate"),
        ("from pkg import evaluation", "evaluation.evaluate"),
    ],
)
def test_absolute_imports_resolve_across_files(tmp_path, monkeypatch, import_line, call):
    want = write_project(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/evaluation.py": EVALUATION_MODULE,
            "train.py": train_script(import_line, call),
        },
    )
    assert want == {("train.py", "EG001", line_of(train_script(import_line, call), "loss = F."))}
    assert analyse_project(tmp_path, monkeypatch) == want


def test_unresolvable_helper_stays_quiet(tmp_path, monkeypatch):
    # The same loop calling an evaluate() we cannot see: no finding (we do not guess).
    write_project(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/evaluation.py": EVALUATION_MODULE,
            "train.py": train_script("from thirdparty.evaluation import evaluate", "evaluate", bug=False),
        },
    )
    assert analyse_project(tmp_path, monkeypatch) == set()


def test_project_class_imported_from_another_file_is_a_sensitive_model(tmp_path, monkeypatch):
    script = src(
        '''
        import torch
        import torch.nn.functional as F

        from pkg.evaluation import evaluate
        from pkg.models import Net


        def main(loader, val_loader):
            model = Net()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            model.train()
            for epoch in range(10):
                for x, y in loader:
                    loss = F.cross_entropy(model(x), y)  # expect: EG001
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                evaluate(model, val_loader)
            model.train()
            for x, y in loader:
                F.cross_entropy(model(x), y).backward()
                opt.step()
            with torch.no_grad():
                print(model(next(iter(val_loader))[0]).argmax(1))  # expect: EG003
        '''
    )
    files = {
        "pkg/__init__.py": "",
        "pkg/evaluation.py": EVALUATION_MODULE,
        "pkg/models.py": MODELS_MODULE,
        "train.py": script,
    }
    want = write_project(tmp_path, files)
    assert analyse_project(tmp_path, monkeypatch) == want
    # A Linear+ReLU model from the same file layout: nothing to report.
    files["pkg/models.py"] = MODELS_MODULE.replace("nn.BatchNorm1d(64)", "nn.Identity()").replace(
        "nn.Dropout(0.3)", "nn.ReLU()"
    )
    write_project(tmp_path, files)
    assert analyse_project(tmp_path, monkeypatch) == set()


def engine_package(loop_import: str, call: str, init: str) -> dict[str, str]:
    loop = src(
        f'''
        import torch.nn.functional as F

        {loop_import}


        def train_epochs(model, opt, loader, val_loader, epochs):
            model.train()
            for _ in range(epochs):
                for x, y in loader:
                    loss = F.cross_entropy(model(x), y)  # expect: EG001
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                {call}(model, val_loader)
        '''
    )
    return {
        "proj/__init__.py": "",
        "proj/utils/__init__.py": "",
        "proj/utils/metrics.py": EVALUATION_MODULE.replace("def evaluate", "def run_validation"),
        "proj/engine/__init__.py": init,
        "proj/engine/evaluation.py": EVALUATION_MODULE.replace("def evaluate", "def run_validation"),
        "proj/engine/loop.py": loop,
    }


RELATIVE_IMPORTS = [
    ("from .evaluation import run_validation", "run_validation"),
    ("from . import evaluation", "evaluation.run_validation"),
    ("from ..utils.metrics import run_validation", "run_validation"),
    ("from ..utils import metrics", "metrics.run_validation"),
]


@pytest.mark.parametrize(
    "loop_import, call, target",
    [(imp, call, target) for imp, call in RELATIVE_IMPORTS for target in (".", "proj")]
    # Checking only the subpackage: module names are still computed from the package root.
    + [(imp, call, "proj/engine") for imp, call in RELATIVE_IMPORTS if "utils" not in imp],
)
def test_relative_imports_inside_a_package(tmp_path, monkeypatch, loop_import, call, target):
    want = write_project(tmp_path, engine_package(loop_import, call, init=""))
    assert want
    assert analyse_project(tmp_path, monkeypatch, target) == want


@pytest.mark.parametrize(
    "loop_import, call",
    [
        ("from proj.engine import run_validation", "run_validation"),
        ("from . import run_validation", "run_validation"),
        ("import proj.engine as engine", "engine.run_validation"),
        ("from .. import engine", "engine.run_validation"),
    ],
)
@pytest.mark.parametrize(
    "init",
    [
        "from .evaluation import run_validation\n\n__all__ = ['run_validation']\n",
        "from proj.engine.evaluation import run_validation\n",
    ],
    ids=["relative", "absolute"],
)
def test_reexport_through_package_init(tmp_path, monkeypatch, loop_import, call, init):
    want = write_project(tmp_path, engine_package(loop_import, call, init))
    assert analyse_project(tmp_path, monkeypatch) == want


def test_star_reexport_through_package_init(tmp_path, monkeypatch):
    files = engine_package("from proj.engine import run_validation", "run_validation", "from .evaluation import *\n")
    want = write_project(tmp_path, files)
    assert analyse_project(tmp_path, monkeypatch) == want


# ====================================================================================== methods and classes

TRAINER = NET + src(
    '''
    class Trainer:
        def __init__(self, model, loader, val_loader):
            self.model = model
            self.loader = loader
            self.val_loader = val_loader
            self.opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def validate(self):
            self.model.eval()
            correct = 0
            with torch.no_grad():
                for x, y in self.val_loader:
                    correct += (self.model(x).argmax(1) == y).sum().item()
            return correct

        def fit(self, epochs):
            self.model.train()
            for epoch in range(epochs):
                for x, y in self.loader:
                    loss = F.cross_entropy(self.model(x), y)  # expect: EG001
                    self.opt.zero_grad()
                    loss.backward()
                    self.opt.step()
                self.validate()


    def main(loader, val_loader):
        Trainer(Net(), loader, val_loader).fit(5)
    '''
)


def test_self_validate_is_resolved_to_the_method(tmp_path):
    assert analyse(tmp_path, TRAINER) == expected(TRAINER)
    assert codes(expected(TRAINER)) == {"EG001"}


def test_self_validate_with_train_at_the_top_of_the_epoch_is_quiet(tmp_path):
    fixed = TRAINER.replace(
        "        self.model.train()\n        for epoch in range(epochs):\n",
        "        for epoch in range(epochs):\n            self.model.train()\n",
    ).replace("  # expect: EG001", "")
    assert fixed != TRAINER
    assert analyse(tmp_path, fixed) == set()


def test_validate_inherited_from_a_base_class(tmp_path):
    text = TRAINER.replace("class Trainer:", "class BaseTrainer:").replace(
        "    def fit(self, epochs):", "\nclass Trainer(BaseTrainer):\n    def fit(self, epochs):"
    )
    assert "class Trainer(BaseTrainer)" in text
    assert analyse(tmp_path, text) == expected(text)
    assert codes(expected(text)) == {"EG001"}


TRAINER_IN_CALLER = NET + src(
    '''
    class Trainer:
        def __init__(self, model, lr):
            self.model = model
            self.opt = torch.optim.AdamW(model.parameters(), lr=lr)

        def train_epoch(self, loader):
            for x, y in loader:
                loss = F.cross_entropy(self.model(x), y)  # expect: EG001
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()

        def validate(self, loader):
            self.model.eval()
            correct = 0
            with torch.no_grad():
                for x, y in loader:
                    correct += (self.model(x).argmax(1) == y).sum().item()
            return correct


    def main(loader, val_loader):
        model = Net()
        trainer = Trainer(model, 1e-3)
        model.train()
        for epoch in range(10):
            trainer.train_epoch(loader)
            print(epoch, trainer.validate(val_loader))
    '''
)


def test_trainer_instantiated_in_the_caller(tmp_path):
    # `model` and `trainer.model` are the same object: the caller's train() and validate() reach it.
    assert analyse(tmp_path, TRAINER_IN_CALLER) == expected(TRAINER_IN_CALLER)
    assert codes(expected(TRAINER_IN_CALLER)) == {"EG001"}


def test_trainer_instantiated_in_the_caller_fixed(tmp_path):
    fixed = TRAINER_IN_CALLER.replace(
        "    model.train()\n    for epoch in range(10):\n", "    for epoch in range(10):\n        model.train()\n"
    ).replace("  # expect: EG001", "")
    assert fixed != TRAINER_IN_CALLER
    assert analyse(tmp_path, fixed) == set()


# ====================================================================================== globals

GLOBAL_MODEL = src(
    '''
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    model = nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)


    def train_one_epoch(loader):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)  # expect: EG001
            opt.zero_grad()
            loss.backward()
            opt.step()


    def evaluate(loader):
        model.eval()
        with torch.no_grad():
            return sum((model(x).argmax(1) == y).sum().item() for x, y in loader)


    def main(loader, val_loader):
        model.train()
        for epoch in range(20):
            train_one_epoch(loader)
            print(epoch, evaluate(val_loader))
    '''
)


def test_module_level_global_model_used_by_functions(tmp_path):
    assert analyse(tmp_path, GLOBAL_MODEL) == expected(GLOBAL_MODEL)
    assert codes(expected(GLOBAL_MODEL)) == {"EG001"}


def test_module_level_global_model_fixed(tmp_path):
    fixed = GLOBAL_MODEL.replace(
        "    model.train()\n    for epoch in range(20):\n", "    for epoch in range(20):\n        model.train()\n"
    ).replace("  # expect: EG001", "")
    assert fixed != GLOBAL_MODEL
    assert analyse(tmp_path, fixed) == set()


def test_module_level_script_with_global_model_and_predict_helper(tmp_path):
    text = src(
        '''
        import torch
        import torch.nn as nn

        model = nn.Sequential(nn.Linear(20, 64), nn.Dropout(0.3), nn.Linear(64, 2))
        model.load_state_dict(torch.load("ckpt.pt"))


        def predict(x):
            return model(x).argmax(1)  # expect: EG002


        print(predict(torch.rand(4, 20)))
        '''
    )
    assert analyse(tmp_path, text) == expected(text)
    assert codes(expected(text)) == {"EG002"}


def test_global_model_built_in_a_setup_function(tmp_path):
    text = src(
        '''
        import torch
        import torch.nn as nn

        model = None


        def setup():
            global model
            model = nn.Sequential(nn.Linear(20, 64), nn.Dropout(0.3), nn.Linear(64, 2))
            model.load_state_dict(torch.load("ckpt.pt"))


        def predict(x):
            return model(x).argmax(1)  # expect: EG002


        def main(x):
            setup()
            return predict(x)
        '''
    )
    assert analyse(tmp_path, text) == expected(text)


# ====================================================================================== precision traps

FLAG_SWITCHES = {
    "if-else": "    if is_train:\n        model.train()\n    else:\n        model.eval()",
    "train(flag)": "    model.train(is_train)",
    "train(mode=flag)": "    model.train(mode=is_train)",
    "conditional-expression": "    model.train() if is_train else model.eval()",
}


@pytest.mark.parametrize("switch", sorted(FLAG_SWITCHES))
def test_flag_dependent_mode_switch_stays_quiet(tmp_path, switch):
    text = NET + src(
        '''
        def run_epoch(model, loader, opt, is_train):
        SWITCH
            total = 0.0
            for x, y in loader:
                with torch.set_grad_enabled(is_train):
                    loss = F.cross_entropy(model(x), y)
                if is_train:
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                total += loss.item()
            return total


        def main(loader, val_loader):
            model = Net()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            for epoch in range(10):
                run_epoch(model, loader, opt, True)
                run_epoch(model, val_loader, opt, False)
        '''
    ).replace("SWITCH", FLAG_SWITCHES[switch])
    assert analyse(tmp_path, text) == set()


MLP_PROGRAM = src(
    '''
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(20, 64)
            self.act = LAYER
            self.fc2 = nn.Linear(64, 2)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))


    def evaluate(model, loader):
        model.eval()
        with torch.no_grad():
            return sum((model(x).argmax(1) == y).sum().item() for x, y in loader)


    def main(loader, val_loader, test_x):
        model = MLP()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.train()
        for epoch in range(10):
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)  # expect: EG001
                opt.zero_grad()
                loss.backward()
                opt.step()
            evaluate(model, val_loader)
        model.train()
        for x, y in loader:
            F.cross_entropy(model(x), y).backward()
            opt.step()
        with torch.no_grad():
            return model(test_x).argmax(1)  # expect: EG003
    '''
)


@pytest.mark.parametrize("layer", ["nn.ReLU()", "nn.GELU()", "nn.Identity()"])
def test_mode_insensitive_model_stays_quiet(tmp_path, layer):
    assert analyse(tmp_path, MLP_PROGRAM.replace("LAYER", layer)) == set()


@pytest.mark.parametrize("layer", ["nn.Dropout(0.1)", "nn.BatchNorm1d(64)"])
def test_the_same_program_with_a_mode_sensitive_layer_is_reported(tmp_path, layer):
    text = MLP_PROGRAM.replace("LAYER", layer)
    assert analyse(tmp_path, text) == expected(text)
    assert codes(expected(text)) == {"EG001", "EG003"}


def test_nn_sequential_of_linear_and_relu_stays_quiet(tmp_path):
    text = src(
        '''
        import torch
        import torch.nn as nn

        model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
        model.load_state_dict(torch.load("mlp.pt"))
        x = torch.rand(4, 20)
        print(model(x).argmax(1))
        with torch.no_grad():
            print(model(x).softmax(1))
        '''
    )
    assert analyse(tmp_path, text) == set()
    with_dropout = text.replace("nn.ReLU()", "nn.Dropout(0.2)")
    assert analyse(tmp_path, with_dropout) == {
        ("EG002", line_of(with_dropout, "print(model(x).argmax(1))")),
        ("EG003", line_of(with_dropout, "print(model(x).softmax(1))")),
    }


HF_CLASSIFY = src(
    '''
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    NAME = "distilbert-base-uncased-finetuned-sst-2-english"


    def classify(texts):
        tokenizer = AutoTokenizer.from_pretrained(NAME)
        model = AutoModelForSequenceClassification.from_pretrained(NAME).to("cuda")
        batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
        with torch.no_grad():
            labels = model(**batch).logits.argmax(-1)
        probs = model(**batch).logits.softmax(-1)
        return labels, probs
    '''
)


def test_from_pretrained_model_is_in_eval_mode(tmp_path):
    assert analyse(tmp_path, HF_CLASSIFY) == set()


def test_pretrained_model_from_a_train_mode_factory_is_reported(tmp_path):
    # The same program with a loader that returns a model in train mode (torchvision builders do).
    text = HF_CLASSIFY.replace(
        "AutoModelForSequenceClassification.from_pretrained(NAME)",
        "torchvision.models.vit_b_16(weights=\"IMAGENET1K_V1\")",
    ).replace("import torch\n", "import torch\nimport torchvision\n", 1)
    assert "vit_b_16" in text
    assert analyse(tmp_path, text) == {
        ("EG003", line_of(text, "labels = model(")),
        ("EG002", line_of(text, "probs = model(")),
    }


def test_from_pretrained_through_a_loader_function(tmp_path):
    text = src(
        '''
        import torch
        import torchvision
        from transformers import AutoModelForImageClassification


        def load_hf(name):
            return AutoModelForImageClassification.from_pretrained(name).to("cuda")


        def load_tv():
            model = torchvision.models.resnet50(weights="DEFAULT")
            return model.to("cuda")


        def classify(images):
            hf = load_hf("google/vit-base-patch16-224")
            tv = load_tv()
            with torch.no_grad():
                a = hf(images).logits.argmax(-1)
                b = tv(images).argmax(-1)  # expect: EG003
            return a, b
        '''
    )
    assert analyse(tmp_path, text) == expected(text)
    assert codes(expected(text)) == {"EG003"}


def test_no_grad_inference_in_train_mode_is_eg003_not_eg002(tmp_path):
    text = src(
        '''
        import torch
        import torchvision


        @torch.no_grad()
        def predict(model, images):
            return model(images).softmax(1)  # expect: EG003


        def main(images):
            model = torchvision.models.resnet18(weights="DEFAULT")
            with torch.inference_mode():
                top1 = model(images).argmax(1)  # expect: EG003
            return predict(model, images), top1
        '''
    )
    found = analyse(tmp_path, text)
    assert found == expected(text)
    assert codes(found) == {"EG003"}


def test_eg002_and_eg003_never_share_a_location_across_the_fixtures(monkeypatch):
    monkeypatch.chdir(FIXTURES.parent)
    result = check_paths(["fixtures"])
    assert result.errors == []
    by_location: dict[tuple[str, int, int], set[str]] = {}
    for f in result.findings:
        by_location.setdefault((f.path, f.line, f.column), set()).add(f.code)
    assert any("EG002" in c for c in by_location.values())
    assert any("EG003" in c for c in by_location.values())
    assert not [loc for loc, c in by_location.items() if {"EG002", "EG003"} <= c]


def test_eg002_and_eg003_never_both_fire_on_one_forward_call(tmp_path):
    text = src(
        '''
        import torch
        import torchvision


        def predict(model, images):
            return model(images).argmax(1)


        def main(images):
            model = torchvision.models.resnet18(weights="DEFAULT")
            a = predict(model, images)
            with torch.no_grad():
                b = predict(model, images)
            return a, b
        '''
    )
    found = analyse(tmp_path, text)
    forward_line = line_of(text, "return model(images)")
    assert found, "the train-mode inference is reported"
    assert not {("EG002", forward_line), ("EG003", forward_line)} <= found


def test_frozen_teacher_does_not_trigger_eg001(tmp_path):
    text = src(
        '''
        import torch
        import torch.nn.functional as F
        import torchvision


        def evaluate(model, loader):
            model.eval()
            with torch.no_grad():
                return sum((model(x).argmax(1) == y).sum().item() for x, y in loader)


        def distill(loader, val_loader, epochs, T=4.0):
            teacher = torchvision.models.resnet50(weights="IMAGENET1K_V2")
            teacher.eval()
            student = torchvision.models.resnet18(num_classes=1000)
            opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9)
            student.train()
            for epoch in range(epochs):
                for images, labels in loader:
                    t_logits = teacher(images)
                    s_logits = student(images)  # expect: EG001
                    kd = F.kl_div(F.log_softmax(s_logits / T, 1), F.softmax(t_logits / T, 1), reduction="batchmean")
                    loss = kd * T * T + F.cross_entropy(s_logits, labels)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                print(epoch, evaluate(student, val_loader))
        '''
    )
    # The student, evaluated in the loop, is reported; the teacher, only ever in eval mode and not
    # optimised, is a frozen network whose output feeds the loss: not a training step in eval mode.
    assert analyse(tmp_path, text) == expected(text)
    assert codes(expected(text)) == {"EG001"}


def test_frozen_teacher_variants_stay_quiet(tmp_path):
    text = NET + src(
        '''
        import copy


        def distill(loader, epochs):
            teacher = Net()
            teacher.load_state_dict(torch.load("teacher.pt"))
            teacher.eval()
            for p in teacher.parameters():
                p.requires_grad_(False)
            student = Net()
            opt = torch.optim.Adam(student.parameters(), lr=1e-3)
            for epoch in range(epochs):
                student.train()
                for x, y in loader:
                    with torch.no_grad():
                        soft = F.softmax(teacher(x), -1)
                    loss = F.kl_div(F.log_softmax(student(x), -1), soft, reduction="batchmean")
                    opt.zero_grad()
                    loss.backward()
                    opt.step()


        def mean_teacher(loader, epochs):
            student = Net()
            ema = copy.deepcopy(student)
            ema.eval()
            opt = torch.optim.Adam(student.parameters(), lr=1e-3)
            student.train()
            for epoch in range(epochs):
                for x, y in loader:
                    target = ema(x)
                    loss = F.mse_loss(student(x), target.detach())
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        '''
    )
    assert analyse(tmp_path, text) == set()


def test_builtin_eval_is_not_a_mode_switch(tmp_path):
    text = NET + src(
        '''
        def train(loader, cfg, val_x):
            model = Net()
            opt = torch.optim.SGD(model.parameters(), lr=eval(cfg["lr"]))
            model.train()
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                scale = eval("1+1")
                eval(compile("print(scale)", "<cfg>", "exec"))
            eval("model")
            with torch.no_grad():
                return model(val_x).argmax(1)  # expect: EG003
        '''
    )
    # No EG001 in the loop (builtin eval() switches nothing), and the model is still in train
    # mode at the end (builtin eval() is not model.eval()).
    assert analyse(tmp_path, text) == expected(text)
    assert codes(expected(text)) == {"EG003"}


# ====================================================================================== safety


def test_checker_never_executes_analysed_code(tmp_path, monkeypatch):
    marker = tmp_path / "EXECUTED"
    bomb = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    files = {
        "evalguard_probe_script.py": bomb + "if __name__ == '__main__':\n    " + bomb.replace("\n", "\n    "),
        "evalguard_probe_pkg/__init__.py": bomb,
        "evalguard_probe_pkg/models.py": src(
            f'''
            import pathlib

            import torch.nn as nn


            def _touch(fn):
                pathlib.Path({str(marker)!r}).write_text("decorator ran")
                return fn


            class Net(nn.Module):
                pathlib.Path({str(marker)!r}).write_text("class body ran")

                @_touch
                def forward(self, x):
                    return x
            '''
        ),
        "setup.py": bomb,
        "conftest.py": bomb,
        "train.py": LOOP_END_EVAL.replace("import torch\n", "import evalguard_probe_pkg.models\n" + bomb + "import torch\n", 1),
    }
    write_project(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    result = check_paths(["."])
    cli = CliRunner().invoke(main, ["check", "."])
    assert result.files_checked == len(files)
    assert cli.exit_code == 1  # train.py is still analysed
    assert not marker.exists()
    probes = {"evalguard_probe_script", "evalguard_probe_pkg", "evalguard_probe_pkg.models", "setup", "train"}
    assert not probes & (set(sys.modules) - before)


# ============================================================ methods of objects passed as parameters

HOOKS = NET + '''
class LogAccuracy:
    def __init__(self, loader):
        self.loader = loader

    def after_epoch(self, model):
        model.eval()
        with torch.no_grad():
            return [model(x) for x in self.loader]


class LogAccuracyRestoring(LogAccuracy):
    def after_epoch(self, model):
        scores = super().after_epoch(model)
        model.train()
        return scores


class SaveWeights:
    def after_epoch(self, model):
        torch.save(model.state_dict(), "last.pt")


def fit(model, loader, opt, hooks, epochs):
    model.train()
    for epoch in range(epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y){marker}
            opt.zero_grad()
            loss.backward()
            opt.step()
        for hook in hooks:
            hook.after_epoch(model)


def main(loader):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, loader, opt, [{hook}(loader), SaveWeights()], 10)
'''


@pytest.mark.parametrize(
    "hook, marker",
    [("LogAccuracy", "  # expect: EG001"), ("LogAccuracyRestoring", "")],
)
def test_methods_of_objects_callers_pass_are_followed(tmp_path, hook, marker):
    # `hook.after_epoch(model)` runs LogAccuracy's or SaveWeights' method, whichever was passed:
    # an eval() there without a train() after it leaves the next epoch in eval mode.
    text = HOOKS.format(hook=hook, marker=marker)
    assert analyse(tmp_path, text) == expected(text)


STRATEGIES = NET + '''
class TrainPhase:
    def start(self, model):
        model.train()


class EvalPhase:
    def start(self, model):
        model.eval()


def run_phase(model, loader, phase, opt=None):
    phase.start(model)
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        if opt is not None:
            opt.zero_grad()
            loss.backward()
            opt.step()


def main(loader):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(10):
        run_phase(model, loader, TrainPhase(), opt)
        run_phase(model, loader, EvalPhase())
'''


def test_strategies_passed_that_pull_the_mode_opposite_ways_are_not_joined(tmp_path):
    # Either phase.start() may run: joining them would put the training branch "maybe in eval".
    assert analyse(tmp_path, STRATEGIES) == set()


RECURSIVE_MAP = '''\
import torch


def map_dict(fn, tree):
    return {k: map_dict(fn, v) if isinstance(v, dict) else map_tree(fn, v) for k, v in tree.items()}


def map_tree(fn, tree):
    if isinstance(tree, dict):
        return map_dict(fn, tree)
    if isinstance(tree, (list, tuple)):
        return [map_tree(fn, t) for t in tree]
    return fn(tree)


def embed_all(model, batches):
    with torch.no_grad():
        return map_tree(model, batches)
'''


def test_mutual_recursion_settles_before_the_visit_cap(tmp_path, monkeypatch):
    # A forward inside mutually recursive helpers: each round of the fixpoint used to prepend
    # the same call sites to the requirement's call chain again, until the visit cap stopped it.
    from collections import Counter

    from evalguard.analysis import interprocedural

    visits: Counter[str] = Counter()
    real = interprocedural.FunctionAnalysis

    class Counting(real):  # type: ignore[misc, valid-type]
        def run(self):
            visits[self.key] += 1
            return super().run()

    monkeypatch.setattr(interprocedural, "FunctionAnalysis", Counting)
    assert analyse(tmp_path, RECURSIVE_MAP) == set()
    assert max(visits.values()) < interprocedural.MAX_VISITS // 2, visits


DICT_OF_NETS = NET + '''
def run(batches, x):
    nets = {"a": Net(), "b": Net()}
    opt = torch.optim.SGD([p for net in nets.values() for p in net.parameters()], lr=0.1)
    for net in nets.values():
        net.train()
    for xb, yb in batches:
        loss = F.cross_entropy(nets["a"](xb) + nets["b"](xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    nets["a"].eval()
    with torch.no_grad():
        print(nets["a"](x).argmax(1))
        print(nets["b"](x).argmax(1))  # expect: EG003
    kept = nets.copy()
    nets["b"] = restore_frozen()
    with torch.no_grad():
        print(nets["b"](x).argmax(1))
    kept.update(b=restore_frozen())
    with torch.no_grad():
        print(kept["b"](x).argmax(1))
'''


def test_dict_display_values_are_known_by_literal_key_until_the_dict_changes(tmp_path):
    # `nets["a"]` is the model stored under "a" (switched to eval), `nets["b"]` the other one;
    # once the dict is changed in place (an item assigned, update()), its values are unknown
    # rather than stale: the old "a", in train mode, is not judged in the replacement's place.
    text = src(DICT_OF_NETS)
    assert analyse(tmp_path, text) == expected(text)


EXTERNAL_BUILDERS = '''
import torch
import torch.nn.functional as F
from zoo import build_model, get_logger


def predict(x):
    model = build_model("resnet50")
    with torch.no_grad():
        return model(x).argmax(1)


def fit(batches):
    model = build_model("resnet50")
    log = get_logger()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for xb, yb in batches:
        loss = F.cross_entropy(model(xb), yb)  # expect: EG001
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.info(loss.item())
        model.eval()
'''


def test_model_built_outside_the_tree_has_an_unknown_mode_until_the_code_switches_it(tmp_path):
    # `build_model` from a module evalguard is not given: no finding from its unknown mode alone
    # (predict), but what the code does to it is followed (eval() at the end of each step).
    text = src(EXTERNAL_BUILDERS)
    assert analyse(tmp_path, text) == expected(text)


@pytest.mark.parametrize(
    "qualname, builds",
    [
        ("zoo.build_model", True),
        ("wrn.build_wideresnet", True),
        ("nets.get_network", True),
        ("arch.resnet50", True),
        ("seg.create_unet", True),
        ("zoo.build_optimizer", False),
        ("zoo.get_logger", False),
        ("zoo.get_net_stats", False),
        ("numpy.network", False),
    ],
)
def test_external_model_builders_by_name(qualname, builds):
    from evalguard.analysis.knowledge import builds_model_by_name

    assert builds_model_by_name(qualname) is builds
