"""End to end: run the runtime fixtures under `evalguard run --trace`, then `evalguard check --trace`
marks every static finding confirmed at runtime and finds no runtime finding static analysis missed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import FIXTURES, ROOT

# Not eg006_training_flag_bug: the tracer sees the mixed mode at the next forward (it does not hook
# attribute assignment), while the static EG006 points at the `model.training = False` line, so the
# two are not matched yet (a known limit, listed in the closing note of issue 4).
BUGS = ["eg001_test_every_n_batches_bug", "eg002_train_then_evaluate_bug", "eg003_predict_without_eval_bug",
        "eg009_frozen_bn_bug"]


@pytest.mark.parametrize("name", BUGS)
def test_static_findings_are_confirmed_by_a_real_run(name, tmp_path):
    script = FIXTURES / "runtime" / f"{name}.py"
    trace = tmp_path / "trace.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "evalguard", "run", "--trace", str(trace), str(script)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    check = subprocess.run(
        [sys.executable, "-m", "evalguard", "check", "--no-cache", "--output-format", "json",
         "--trace", str(trace), str(script.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert check.returncode == 1, check.stderr
    rows = json.loads(check.stdout)
    static = [r for r in rows if r.get("source") != "runtime"]
    assert static, "the fixture has static findings"
    assert all(r["runtime"]["status"] == "confirmed" and r["runtime"]["count"] >= 1 for r in static), rows
    assert not [r for r in rows if r.get("source") == "runtime"], "runtime findings static analysis missed"


def test_correct_script_runs_clean_and_confirms_nothing(tmp_path):
    script = FIXTURES / "runtime" / "eg001_test_every_n_batches_ok.py"
    trace = tmp_path / "trace.jsonl"
    run = subprocess.run([sys.executable, "-m", "evalguard", "run", "--trace", str(trace), str(script)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    findings = [json.loads(line) for line in trace.read_text().splitlines() if '"finding"' in line]
    assert findings == []
    check = subprocess.run([sys.executable, "-m", "evalguard", "check", "--no-cache", "--trace", str(trace),
                            str(script.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
