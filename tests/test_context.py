"""Checking one file still sees what its imports do (pre-commit passes only the changed files)."""

from __future__ import annotations

import os

from evalguard.pipeline import check_paths


def test_single_file_check_reads_imported_helpers(in_root):
    path = "fixtures/projects/eg001_crossfile_from_import_bug/train.py"
    result = check_paths([path])
    assert [(f.path, f.line, f.code) for f in result.findings] == [(os.path.normpath(path), 63, "EG001")]
    assert result.files_checked == 1


def test_module_import_of_sibling_file(in_root):
    path = "fixtures/projects/eg001_engine_module_bug/main.py"
    assert [(f.line, f.code) for f in check_paths([path]).findings] == [(56, "EG001")]


def test_imports_naming_the_checked_folder_itself_are_found(in_root):
    # A folder without `__init__.py`, run as `python -m <folder>.run` from its parent, imports its
    # modules as `<folder>.scoring` and `from <folder> import nets`; checked alone, its own
    # modules are named from inside it.
    path = "fixtures/projects/eg001_namespace_package_bug/run.py"
    assert [(f.line, f.code) for f in check_paths([path]).findings] == [(17, "EG001")]
    assert check_paths(["fixtures/projects/eg001_namespace_package_ok/run.py"]).findings == []


def test_findings_inside_context_files_are_not_reported(in_root):
    # The bug sits in trainer/loops.py; only run.py is checked, so nothing is reported.
    assert check_paths(["fixtures/projects/eg001_helper_crossfile_bug/run.py"]).findings == []


def test_correct_project_stays_clean_file_by_file(in_root):
    root = "fixtures/projects/eg001_crossfile_from_import_ok"
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(".py"):
                assert check_paths([os.path.join(dirpath, name)]).findings == []


def test_context_functions_nothing_checked_calls_are_not_analysed(tmp_path, analysed_functions):
    (tmp_path / "helpers.py").write_text(
        "import torch\n\n\n"
        "def evaluate(model, batch):\n"
        "    model.eval()\n"
        "    with torch.no_grad():\n"
        "        return model(batch)\n\n\n"
        + "".join(f"def unrelated_{i}(x):\n    return x + {i}\n\n\n" for i in range(20))
    )
    (tmp_path / "train.py").write_text(
        "import torch\n"
        "import torch.nn as nn\n\n"
        "from helpers import evaluate\n\n\n"
        "def main(loader):\n"
        "    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))\n"
        "    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "    model.train()\n"
        "    for batch in loader:\n"
        "        loss = model(batch).sum()\n"
        "        loss.backward()\n"
        "        opt.step()\n"
        "        evaluate(model, batch)  # eval() in the batch loop, never train() again\n"
    )
    analysed = analysed_functions
    result = check_paths([str(tmp_path / "train.py")])
    assert [(f.line, f.code) for f in result.findings] == [(12, "EG001")]
    assert "helpers:evaluate" in analysed
    assert not [key for key in analysed if "unrelated" in key]


def _cyclic_project(tmp_path, layer: str) -> str:
    """steps.py (checked) imports runner.py (context), which calls back into steps.py."""
    tmp_path.mkdir()
    (tmp_path / "steps.py").write_text(
        "import torch\n\nimport runner\n\n\n"
        "def evaluate(model, loader):\n"
        "    outputs = []\n"
        "    with torch.no_grad():\n"
        "        for images in loader:\n"
        "            outputs.append(model(images))\n"
        "    return outputs\n\n\n"
        "LOG_EVERY = runner.LOG_EVERY\n"
    )
    (tmp_path / "runner.py").write_text(
        "import torch\nimport torch.nn as nn\n\nimport steps\n\nLOG_EVERY = 10\n\n\n"
        "def run(loader):\n"
        f"    model = nn.Sequential(nn.Linear(4, 4), nn.{layer})\n"
        "    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "    model.train()\n"
        "    for batch in loader:\n"
        "        model(batch).sum().backward()\n"
        "        opt.step()\n"
        "    return steps.evaluate(model, loader)\n"
    )
    return str(tmp_path / "steps.py")


def test_a_context_function_calling_the_checked_file_still_counts(tmp_path):
    # runner.py's model.train() before the call is what makes steps.py's forward a bug, and what
    # it passes decides whether `model` is mode-sensitive at all.
    sensitive = check_paths([_cyclic_project(tmp_path / "a", "Dropout(0.1)")]).findings
    assert [(f.line, f.code) for f in sensitive] == [(10, "EG003")]
    assert check_paths([_cyclic_project(tmp_path / "b", "ReLU()")]).findings == []


def test_analysing_on_demand_changes_no_single_file_result(in_root, monkeypatch):
    """Each file of every fixture project checked alone: the same findings as when every context
    function is analysed."""
    from evalguard import pipeline

    paths = [
        os.path.join(dirpath, name)
        for dirpath, _, names in sorted(os.walk("fixtures/projects"))
        for name in sorted(names)
        if name.endswith(".py")
    ]
    on_demand = [check_paths([p]).findings for p in paths]
    # Neither on demand nor prefiltered: every function of the file and its context.
    monkeypatch.setattr(pipeline, "_needed", lambda index, report, prefilter, graph=None: (None, None))
    everything = [check_paths([p]).findings for p in paths]
    assert on_demand == everything
    assert any(on_demand)
