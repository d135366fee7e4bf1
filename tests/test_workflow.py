"""Config, suppressions, statistics, rules/explain, flake8 and pre-commit: the user's workflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT
from evalguard.cli import main

BUG = FIXTURES / "eg001_test_every_n_batches_bug.py"  # one EG001 at line 69
BUG_LINE = 69


def run(*args: str, cwd=None):
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)


def project(tmp_path, config: str | None = None) -> str:
    shutil.copy(BUG, tmp_path / "train.py")
    if config is not None:
        (tmp_path / "pyproject.toml").write_text(textwrap.dedent(config), encoding="utf-8")
    return str(tmp_path)


def with_comment(tmp_path, comment: str) -> None:
    lines = BUG.read_text(encoding="utf-8").splitlines()
    lines[BUG_LINE - 1] = lines[BUG_LINE - 1].split("#")[0].rstrip() + "  " + comment
    (tmp_path / "train.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------- suppressions


@pytest.mark.parametrize(
    "comment", ["# noqa: EG001", "# noqa", "# noqa: EG003, EG001", "# evalguard: ignore[EG001]"]
)
def test_suppression_comments(tmp_path, comment):
    with_comment(tmp_path, comment)
    result = run("check", "train.py", cwd=tmp_path)
    assert result.exit_code == 0, result.stdout
    assert "Found 0 findings" in result.stderr


def test_noqa_for_another_code_does_not_suppress(tmp_path):
    with_comment(tmp_path, "# noqa: EG003")
    result = run("check", "train.py", "--show-unused-noqa", cwd=tmp_path)
    assert result.exit_code == 1
    assert f"train.py:{BUG_LINE}:" in result.stdout
    assert f"train.py:{BUG_LINE}: unused suppression of EG003" in result.stderr


def test_skip_file(tmp_path):
    text = "# evalguard: skip-file\n" + BUG.read_text(encoding="utf-8")
    (tmp_path / "train.py").write_text(text, encoding="utf-8")
    assert run("check", "train.py", cwd=tmp_path).exit_code == 0


# ------------------------------------------------------------------------------- configuration


def test_config_ignore_and_cli_override(tmp_path):
    project(tmp_path, '[tool.evalguard]\nignore = ["EG001"]\n')
    assert run("check", ".", cwd=tmp_path).exit_code == 0
    assert run("check", ".", "--select", "EG001", cwd=tmp_path).exit_code == 0  # ignore still applies
    project(tmp_path, '[tool.evalguard]\nselect = ["EG003"]\n')
    assert run("check", ".", cwd=tmp_path).exit_code == 0
    assert run("check", ".", "--select", "EG001", cwd=tmp_path).exit_code == 1  # CLI select wins


def test_per_file_ignores_and_exclude(tmp_path):
    project(tmp_path, '[tool.evalguard]\nper-file-ignores = {"train.py" = ["EG00"]}\n')
    assert run("check", ".", cwd=tmp_path).exit_code == 0
    project(tmp_path, '[tool.evalguard]\nextend-exclude = ["train.py"]\n')
    result = run("check", ".", cwd=tmp_path)
    assert result.exit_code == 0 and "(0 files checked)" in result.stderr


def test_gitignore_is_respected_unless_disabled(tmp_path):
    project(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("train.py\n", encoding="utf-8")
    assert "(0 files checked)" in run("check", ".", cwd=tmp_path).stderr
    (tmp_path / "pyproject.toml").write_text("[tool.evalguard]\nrespect-gitignore = false\n", encoding="utf-8")
    assert run("check", ".", cwd=tmp_path).exit_code == 1


@pytest.mark.parametrize(
    "config, key",
    [
        ('[tool.evalguard]\nselcet = ["EG001"]\n', "selcet"),
        ('[tool.evalguard]\nselect = "EG001"\n', "select"),
        ('[tool.evalguard]\nignore = ["EG999"]\n', "ignore"),
        ('[tool.evalguard]\nrespect-gitignore = "no"\n', "respect-gitignore"),
        ('[tool.evalguard]\noutput-format = "xml"\n', "output-format"),
    ],
)
def test_bad_config_is_a_usage_error_naming_key_and_file(tmp_path, config, key):
    project(tmp_path, config)
    result = run("check", ".", cwd=tmp_path)
    assert result.exit_code == 2
    assert key in result.stderr and "pyproject.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_toml_is_a_usage_error(tmp_path):
    project(tmp_path, "[tool.evalguard\n")
    result = run("check", ".", cwd=tmp_path)
    assert result.exit_code == 2 and "invalid TOML" in result.stderr


def test_show_settings(tmp_path):
    project(tmp_path, '[tool.evalguard]\nignore = ["EG005"]\noutput-format = "json"\n')
    result = run("check", "--show-settings", cwd=tmp_path)
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["ignore"] == ["EG005"] and shown["output-format"] == "json"
    assert "EG005" not in shown["enabled"] and "EG001" in shown["enabled"]


def test_model_names_setting_reaches_the_analysis(tmp_path):
    source = textwrap.dedent(
        """
        def reset(tower):
            tower.train(0)
        """
    )
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    assert run("check", "m.py", cwd=tmp_path).exit_code == 0
    (tmp_path / "pyproject.toml").write_text('[tool.evalguard]\nmodel-names = ["tower"]\n', encoding="utf-8")
    result = run("check", "m.py", cwd=tmp_path)
    assert result.exit_code == 1 and "EG007" in result.stdout


# ------------------------------------------------------------------------------- output options


def test_statistics_and_output_file(tmp_path):
    project(tmp_path)
    result = run("check", ".", "--statistics", cwd=tmp_path)
    assert result.stdout.split() == ["1", "EG001", "train-step-in-eval-mode"]
    out = tmp_path / "report.json"
    result = run("check", ".", "--output-format", "json", "--output-file", str(out), cwd=tmp_path)
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))[0]["code"] == "EG001"


def test_rules_and_explain():
    result = run("rules")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == [f"EG00{i}" for i in range(10)]
    page = run("explain", "eg001")
    assert page.exit_code == 0 and page.stdout.startswith("# EG001: train-step-in-eval-mode")
    assert run("explain", "EG042").exit_code == 2


# ------------------------------------------------------------------------------- integrations


def test_flake8_plugin_reports_single_file_findings():
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "EG", str(FIXTURES / "eg004_tabular_mlp_bug.py")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    assert ":32:21: EG004 " in result.stdout


def test_precommit_hook_fails_on_the_buggy_file_and_passes_the_clean_one(tmp_path):
    repo = tmp_path / "user-repo"
    repo.mkdir()
    shutil.copy(FIXTURES / "eg001_test_every_n_batches_bug.py", repo / "train_bug.py")
    shutil.copy(FIXTURES / "eg001_test_every_n_batches_ok.py", repo / "train_ok.py")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    precommit = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "evalguard", "--files"]
    bad = subprocess.run([*precommit, "train_bug.py"], cwd=repo, capture_output=True, text=True, env=env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "train_bug.py:69:18: EG001" in bad.stdout
    good = subprocess.run([*precommit, "train_ok.py"], cwd=repo, capture_output=True, text=True, env=env)
    assert good.returncode == 0, good.stdout + good.stderr


def test_progress_only_on_a_terminal_for_long_text_runs():
    from evalguard.cli import want_progress

    assert want_progress("text", 500, True, {})
    assert not want_progress("text", 500, False, {})
    assert not want_progress("text", 500, True, {"PRE_COMMIT": "1"})
    assert not want_progress("json", 500, True, {})
    assert not want_progress("sarif", 500, True, {})
    assert not want_progress("text", 3, True, {})


def test_checking_a_file_never_imports_torch():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from evalguard.cli import main\n"
        f"result = CliRunner().invoke(main, ['check', {str(FIXTURES / 'eg004_tabular_mlp_bug.py')!r}])\n"
        "assert result.exit_code == 1, result.output\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_folder_named_explicitly_is_checked_even_if_git_ignores_it(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("experiments/\n", encoding="utf-8")
    (tmp_path / "experiments").mkdir()
    shutil.copy(BUG, tmp_path / "experiments" / "train.py")
    assert "(0 files checked)" in run("check", ".", cwd=tmp_path).stderr
    result = run("check", "experiments", cwd=tmp_path)
    assert result.exit_code == 1 and "(1 file checked)" in result.stderr


def test_mode_owning_frameworks_setting(tmp_path):
    source = textwrap.dedent(
        """
        import torch
        import torch.nn as nn
        from company.training import CompanyLoop


        def main(x):
            model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.2), nn.Linear(8, 2))
            model.load_state_dict(torch.load("ckpt.pt"))
            CompanyLoop(max_epochs=3).run(model)
            with torch.no_grad():
                return model(x).argmax(1)
        """
    )
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    result = run("check", "m.py", cwd=tmp_path)
    assert result.exit_code == 1 and "EG003" in result.stdout
    (tmp_path / "pyproject.toml").write_text(
        '[tool.evalguard]\nmode-owning-frameworks = ["CompanyLoop"]\n', encoding="utf-8"
    )
    assert run("check", "m.py", cwd=tmp_path).exit_code == 0
