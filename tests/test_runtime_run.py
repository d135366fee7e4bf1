"""`evalguard run`: runs a script or module like python does, under the tracer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from runtime_support import ROOT, RUNTIME_FIXTURES, found, read_trace, runtime_markers, single_thread, subprocess_env

from evalguard.cli import main

torch = pytest.importorskip("torch")

one_thread = pytest.fixture(autouse=True)(single_thread)

ARGV_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    report = {"argv": sys.argv[1:], "argv0": sys.argv[0], "name": __name__, "path0": sys.path[0],
              "file": __file__}
    with open(os.environ["EG_REPORT"], "w") as handle:
        json.dump(report, handle)
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Dropout(0.5))
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(2, 3))  # no eval()
    code = os.environ.get("EG_EXIT")
    if code == "message":
        sys.exit("bad input")
    if code == "raise":
        raise ValueError("broken script")
    if code == "interrupt":
        raise KeyboardInterrupt
    if code is not None:
        sys.exit(int(code))
    """
)


@pytest.fixture
def script(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "script.py"
    path.parent.mkdir()
    path.write_text(ARGV_SCRIPT, encoding="utf-8")
    monkeypatch.setenv("EG_REPORT", str(tmp_path / "report.json"))
    monkeypatch.chdir(tmp_path)
    return path


FORWARD_LINE = next(n for n, line in enumerate(ARGV_SCRIPT.splitlines(), 1) if "# no eval()" in line)
RAISE_LINE = next(n for n, line in enumerate(ARGV_SCRIPT.splitlines(), 1) if "broken script" in line)


def report(tmp_path):
    return json.loads((tmp_path / "report.json").read_text())


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_run_passes_arguments_and_runs_as_main(script, tmp_path):
    result = invoke("run", "--trace", "t.jsonl", str(script), "a", "--trace", "x", "-m", "--flag")
    assert result.exit_code == 0, result.output
    r = report(tmp_path)
    assert r["argv"] == ["a", "--trace", "x", "-m", "--flag"]
    assert r["name"] == "__main__"
    assert r["path0"] == str(script.parent) and os.path.samefile(r["argv0"], script)
    assert os.path.isabs(r["file"])
    records = read_trace(tmp_path / "t.jsonl")
    assert records[0]["argv"][1:] == ["a", "--trace", "x", "-m", "--flag"]
    assert found(records) == {("EG003", FORWARD_LINE)}
    assert "1 finding (EG003 x2)" in result.stderr and f"script.py:{FORWARD_LINE}: EG003" in result.stderr


@pytest.mark.parametrize(
    "exit_env, code, stderr",
    [
        ("0", 0, ""),
        ("3", 3, ""),
        ("message", 1, "bad input"),
        ("raise", 1, "ValueError: broken script"),
        ("interrupt", 130, "KeyboardInterrupt"),
    ],
)
def test_run_exit_codes_follow_the_script(script, tmp_path, monkeypatch, exit_env, code, stderr):
    monkeypatch.setenv("EG_EXIT", exit_env)
    result = invoke("run", "--no-summary", "--trace", "t.jsonl", str(script))
    assert result.exit_code == code, result.output
    assert stderr in result.stderr
    assert "evalguard: traced" not in result.stderr
    assert read_trace(tmp_path / "t.jsonl")[-1]["type"] == "end"
    if exit_env == "raise":
        assert f'script.py", line {RAISE_LINE}' in result.stderr and "runner.py" not in result.stderr


def test_run_module_with_dash_m(tmp_path, monkeypatch):
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text(ARGV_SCRIPT, encoding="utf-8")
    monkeypatch.setenv("EG_REPORT", str(tmp_path / "report.json"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(ROOT), *sys.path])
    result = invoke("run", "--trace", "t.jsonl", "-m", "mypkg.train", "x", "--y")
    assert result.exit_code == 0, result.output
    r = report(tmp_path)
    assert r["argv"] == ["x", "--y"] and r["name"] == "__main__"
    assert os.path.samefile(r["argv0"], pkg / "train.py") and r["path0"] == str(tmp_path)
    assert found(read_trace(tmp_path / "t.jsonl")) == {("EG003", FORWARD_LINE)}
    assert "mypkg.train" not in sys.modules


def test_run_restores_sys_argv_and_path(script):
    argv, path = sys.argv[:], sys.path[:]
    invoke("run", "--trace", "t.jsonl", str(script), "q")
    assert sys.argv == argv and sys.path == path


def test_run_without_target_or_missing_script_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("run").exit_code == 2
    result = invoke("run", "nope.py")
    assert result.exit_code == 2 and "can't open file 'nope.py'" in result.stderr
    assert not (tmp_path / "evalguard-trace.jsonl").exists()


def test_unwritable_trace_path_stops_before_the_script_runs(script, tmp_path):
    result = invoke("run", "--trace", str(tmp_path / "missing" / "t.jsonl"), str(script))
    assert result.exit_code == 2
    assert "evalguard: cannot write trace file" in result.stderr
    assert not (tmp_path / "report.json").exists()


def test_default_trace_file_name(script, tmp_path):
    assert invoke("run", str(script)).exit_code == 0
    assert read_trace(tmp_path / "evalguard-trace.jsonl")[0]["type"] == "start"


def test_real_subprocess_headline_fixture(tmp_path):
    fixture = RUNTIME_FIXTURES / "eg001_test_every_n_batches_bug.py"
    trace = tmp_path / "run.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "evalguard", "run", "--trace", str(trace), str(fixture), "8", "3"],
        capture_output=True, text=True, cwd=ROOT, env=subprocess_env(), timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "batch 6 test acc" in proc.stdout  # the script's own argv: 8 batches, eval every 3
    expected, _roles = runtime_markers(fixture)
    assert found(read_trace(trace)) == expected
    (code, line), = expected
    assert f"fixtures/runtime/eg001_test_every_n_batches_bug.py:{line}: EG001" in proc.stderr


def test_real_subprocess_exit_code_and_argv(script, tmp_path):
    env = subprocess_env(EG_EXIT="7", EG_REPORT=str(tmp_path / "report.json"))
    proc = subprocess.run(
        [sys.executable, "-m", "evalguard", "run", "--trace", "t.jsonl", str(script), "one", "--two"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )
    assert proc.returncode == 7, proc.stderr
    assert report(tmp_path)["argv"] == ["one", "--two"]


def test_import_evalguard_and_check_stay_torch_free():
    code = (
        "import sys\n"
        "import evalguard\n"
        "assert 'torch' not in sys.modules\n"
        "from click.testing import CliRunner\n"
        "from evalguard.cli import main\n"
        f"result = CliRunner().invoke(main, ['check', {str(RUNTIME_FIXTURES / 'eg001_test_every_n_batches_bug.py')!r}])\n"
        "assert result.exit_code == 1, result.output\n"
        "result = CliRunner().invoke(main, ['run', '--help'])\n"
        "assert result.exit_code == 0 and 'SCRIPT' in result.output, result.output\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'evalguard.runtime.tracer' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=subprocess_env(), timeout=120)
