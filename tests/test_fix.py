"""--fix / --diff: verified fixes that remove the finding, keep every other byte, and converge."""

from __future__ import annotations

import ast
import difflib
import shutil

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from evalguard.cli import main
from evalguard.pipeline import check_paths

FIXABLE = [
    "eg001_test_every_n_batches_bug.py",
    "eg001_validate_end_of_epoch_bug.py",
    "eg002_resnet50_predict_bug.py",
    "eg003_inference_mode_bug.py",
    "eg004_tabular_mlp_bug.py",
    "eg004_keyword_spotting_bug.py",
    "eg005_pickled_model_predict_bug.py",
    "eg007_int_mode_flags_bug.py",
    "eg007_phase_name_bug.py",
    "eg008_trace_after_load_bug.py",
]


def run(*args: str):
    return CliRunner().invoke(main, ["check", *args])


@pytest.mark.parametrize("name", FIXABLE)
def test_fix_removes_every_finding_of_the_fixture(tmp_path, name):
    path = tmp_path / name
    shutil.copy(FIXTURES / name, path)
    before = path.read_text(encoding="utf-8")
    n_findings = len(check_paths([str(path)]).findings)
    assert n_findings, "the fixture has findings to fix"
    result = run("--fix", str(path))
    assert result.exit_code == 0, result.stderr
    after = path.read_text(encoding="utf-8")
    ast.parse(after)
    assert check_paths([str(path)]).findings == []
    # Only lines with a fix change: every other line survives, in order.
    old_lines, new_lines = before.splitlines(), after.splitlines()
    kept = sum(block.size for block in difflib.SequenceMatcher(None, old_lines, new_lines).get_matching_blocks())
    assert kept >= len(old_lines) - n_findings
    # A second run changes nothing.
    assert run("--fix", str(path)).exit_code == 0
    assert path.read_text(encoding="utf-8") == after


def test_diff_prints_and_changes_nothing(tmp_path):
    path = tmp_path / "m.py"
    shutil.copy(FIXTURES / "eg004_tabular_mlp_bug.py", path)
    before = path.read_bytes()
    result = run("--diff", str(path))
    assert result.exit_code == 1
    assert "+            h = h + F.dropout(block(h), p=self.p, training=self.training)" in result.stdout
    assert path.read_bytes() == before


def test_diff_on_clean_code_exits_0(tmp_path):
    path = tmp_path / "ok.py"
    shutil.copy(FIXTURES / "eg004_tabular_mlp_ok.py", path)
    result = run("--diff", str(path))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_fix_keeps_crlf_newlines(tmp_path):
    path = tmp_path / "crlf.py"
    text = (FIXTURES / "eg005_pickled_model_predict_bug.py").read_text(encoding="utf-8")
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    assert run("--fix", str(path)).exit_code == 0
    data = path.read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert check_paths([str(path)]).findings == []


def test_unfixable_findings_remain_and_exit_1(tmp_path):
    path = tmp_path / "bn.py"
    shutil.copy(FIXTURES / "eg009_inline_bn_freeze_bug.py", path)
    before = path.read_text(encoding="utf-8")
    result = run("--fix", str(path))
    assert result.exit_code == 1
    assert "EG009" in result.stdout
    assert path.read_text(encoding="utf-8") == before


def test_fix_over_the_fixture_tree_converges(tmp_path):
    tree = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, tree, ignore=shutil.ignore_patterns("__pycache__"))
    before = len(check_paths([str(tree)]).findings)
    run("--fix", str(tree))
    after = check_paths([str(tree)]).findings
    assert len(after) < before
    for path in tree.rglob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"))
    snapshot = {p: p.read_text(encoding="utf-8") for p in tree.rglob("*.py")}
    run("--fix", str(tree))
    assert {p: p.read_text(encoding="utf-8") for p in tree.rglob("*.py")} == snapshot
