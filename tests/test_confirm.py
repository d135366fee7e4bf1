"""`evalguard check --trace`: runtime traces (JSONL) joined with static findings, in every format."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import ROOT

from evalguard.cli import main
from evalguard.findings import Finding
from evalguard.report.confirm import (
    CONFIRMED,
    NOT_REACHED,
    Related,
    RuntimeFinding,
    Trace,
    TraceError,
    confirm,
    load_traces,
    message_locations,
)

BUG = "fixtures/eg001_test_every_n_batches_bug.py"  # static EG001 at 69:18, naming model.eval() at :33
OK = "fixtures/eg001_test_every_n_batches_ok.py"
ABS_BUG = os.path.realpath(ROOT / BUG)
SCHEMA = ROOT.parent / "shared" / "data" / "sarif" / "sarif-schema-2.1.0.json"

START = {
    "type": "start", "evalguard": "0.1.0", "torch": "2.13.0", "pid": 4242, "rank": None, "argv": ["train.py"], "time": 1.5,
}
END = {"type": "end", "counts": {"EG001": 1}, "steps": 100, "forwards": 120, "mode_changes": 4}


def step_in_eval(count: int, path: str = ABS_BUG, related: list | None = None) -> dict:
    """The tracer's EG001 at `optimizer.step()` (line 72), the forward at 69 and `model.eval()` at 33 related."""
    if related is None:
        related = [
            {"role": "forward", "path": path, "line": 69},
            {"role": "switched_to_eval", "path": path, "line": 33},
        ]
    return {
        "type": "finding", "code": "EG001", "path": path, "line": 72, "count": count, "related": related,
        "message": "optimizer.step() while `ConvNet` is in eval mode (switched at line 33)",
    }


def nograd_in_train(count: int, path: str = ABS_BUG, line: int = 38) -> dict:
    return {
        "type": "finding", "code": "EG003", "path": path, "line": line, "count": count, "related": [],
        "message": "forward under no_grad while `ConvNet` is in train mode",
    }


def write_trace(path: Path, *records: dict, tail: str = "") -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail, encoding="utf-8")
    return str(path)


def check(*args: str):
    return CliRunner().invoke(main, ["check", *args])


@pytest.fixture(autouse=True)
def _in_root(in_root):
    return in_root


# ------------------------------------------------------------------------------------ text output, exit codes


def test_confirmed_with_the_largest_count_of_a_run(tmp_path):
    trace = write_trace(tmp_path / "t.jsonl", START, step_in_eval(1), step_in_eval(57), END)
    result = check(BUG, "--trace", trace)
    assert result.exit_code == 1, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{BUG}:69:18: EG001 training step may run in eval mode")
    assert line.endswith(" [*] — confirmed at runtime (57 times)")
    assert "Runtime: 1 of 1 finding confirmed, 0 runtime findings with no static counterpart" in result.stderr


def test_not_reached(tmp_path):
    trace = write_trace(tmp_path / "t.jsonl", START, END)
    result = check(BUG, "--trace", trace)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].endswith("[*] — not reached at runtime")
    assert "Runtime findings" not in result.stdout


def test_runtime_only_findings_are_listed_and_fail_the_check(tmp_path):
    ok_abs = os.path.realpath(ROOT / OK)
    trace = write_trace(tmp_path / "t.jsonl", START, nograd_in_train(1, ok_abs), nograd_in_train(12, ok_abs), END)
    result = check(OK, "--trace", trace)
    assert result.exit_code == 1
    assert result.stdout == (
        "Runtime findings with no static counterpart:\n"
        f"{OK}:38: EG003 forward under no_grad while `ConvNet` is in train mode (12 times)\n"
    )
    assert "Found 0 findings in 0 files (1 file checked)" in result.stderr
    assert "Runtime: 0 of 0 findings confirmed, 1 runtime finding with no static counterpart" in result.stderr
    # The same check with a clean trace passes.
    assert check(OK, "--trace", write_trace(tmp_path / "clean.jsonl", START, END)).exit_code == 0


def test_static_and_runtime_only_together(tmp_path):
    trace = write_trace(tmp_path / "t.jsonl", START, step_in_eval(3), nograd_in_train(1), END)
    result = check(BUG, "--trace", trace)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].endswith("— confirmed at runtime (3 times)")
    assert lines[1:] == [
        "",
        "Runtime findings with no static counterpart:",
        f"{BUG}:38: EG003 forward under no_grad while `ConvNet` is in train mode (1 time)",
    ]


def test_counts_add_up_over_files_and_runs(tmp_path):
    rank0 = write_trace(tmp_path / "rank0.jsonl", START | {"rank": 0}, step_in_eval(1), step_in_eval(30), END)
    rank1 = write_trace(tmp_path / "rank1.jsonl", START | {"rank": 1}, step_in_eval(1), step_in_eval(29), END)
    # Two runs appended to one file: each run's largest count, then the sum.
    twice = write_trace(tmp_path / "twice.jsonl", START, step_in_eval(5), END, START, step_in_eval(2), END)
    result = check(BUG, "--trace", rank0, "--trace", rank1, "--trace", twice)
    assert result.stdout.splitlines()[0].endswith("— confirmed at runtime (66 times)")
    trace = load_traces([rank0, rank1, twice])
    assert trace.runs == 4
    (rf,) = trace.findings
    assert (rf.code, rf.path, rf.line, rf.count) == ("EG001", ABS_BUG, 72, 66)
    assert [(r.role, r.line) for r in rf.related] == [("forward", 69), ("switched_to_eval", 33)]


def test_truncated_last_line_is_skipped_with_a_note(tmp_path):
    cut = json.dumps(step_in_eval(40))[:50]
    trace = write_trace(tmp_path / "killed.jsonl", START, step_in_eval(1), step_in_eval(9), tail=cut)
    result = check(BUG, "--trace", trace)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].endswith("— confirmed at runtime (9 times)")
    assert f"note: {trace}:4: trace line is cut off (the run was killed?); skipped" in result.stderr
    assert f"note: {trace}: the run did not finish (no end record)" in result.stderr


def test_bad_records_inside_a_trace_are_skipped_with_notes(tmp_path):
    bad = {"type": "finding", "code": "EG001", "path": ABS_BUG, "line": "72"}
    unknown = nograd_in_train(2) | {"code": "EG999"}
    trace = write_trace(tmp_path / "t.jsonl", START, bad, unknown, {"type": "future-record"}, step_in_eval(2), END,
                        tail="not json\n" + json.dumps(END) + "\n")
    result = check(BUG, "--trace", trace)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].endswith("— confirmed at runtime (2 times)")
    assert f"note: {trace}:2: malformed finding record; skipped" in result.stderr
    assert f"note: {trace}:3: unknown rule code EG999 (a newer tracer?); skipped" in result.stderr
    assert f"note: {trace}:7: trace line is not a JSON object; skipped" in result.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "is not an evalguard trace"),
        (b"epoch 1 loss 0.3\nepoch 2 loss 0.2\n", "is not an evalguard trace"),
        (json.dumps(END).encode() + b"\n", "is not an evalguard trace"),
        (b'{"type": "start"}\n', "is not an evalguard trace"),
        (b"[1, 2, 3]\n", "is not an evalguard trace"),
        (b"", "is empty"),
        (b"\n\n", "is empty"),
    ],
    ids=["binary", "log", "no-start", "start-without-version", "json-array", "empty", "blank"],
)
def test_a_file_that_is_not_a_trace_is_a_usage_error(tmp_path, content, fragment):
    path = tmp_path / "t.jsonl"
    path.write_bytes(content)
    result = check(BUG, "--trace", str(path))
    assert result.exit_code == 2
    assert fragment in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_missing_trace_is_a_usage_error_before_any_analysis(tmp_path):
    result = check(BUG, "--trace", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert f"cannot read trace file {tmp_path / 'nope.jsonl'}: No such file or directory" in result.stderr
    assert "Found" not in result.stderr
    with pytest.raises(TraceError):
        load_traces([str(tmp_path)])


# ------------------------------------------------------------------------------------ matching


def test_relative_absolute_and_symlinked_paths_match(tmp_path, monkeypatch):
    # Static path absolute on the command line; trace path relative to the current directory.
    trace = write_trace(tmp_path / "t.jsonl", START, step_in_eval(4, BUG), END)
    result = check(str(ROOT / BUG), "--trace", trace)
    assert result.stdout.splitlines()[0].endswith("— confirmed at runtime (4 times)")
    # The trace names the file through a symlinked folder (realpaths are compared).
    link = tmp_path / "link"
    link.symlink_to(ROOT / "fixtures", target_is_directory=True)
    linked = str(link / Path(BUG).name)
    trace = write_trace(tmp_path / "t2.jsonl", START, step_in_eval(6, linked), END)
    assert check(BUG, "--trace", trace).stdout.splitlines()[0].endswith("(6 times)")
    # Checked from another directory, through the relative path the user typed.
    monkeypatch.chdir(ROOT / "fixtures")
    result = check(Path(BUG).name, "--trace", trace)
    assert result.stdout.splitlines()[0].startswith("eg001_test_every_n_batches_bug.py:69:18: EG001")
    assert result.stdout.splitlines()[0].endswith("(6 times)")


def test_a_location_named_in_the_static_message_matches():
    # The tracer knows only where the model was switched to eval (line 33), not the forward.
    static = Finding(BUG, 69, 18, "EG001", f"training step ... `model.eval()` ({BUG}:33) ...")
    only_eval = RuntimeFinding("EG001", ABS_BUG, 72, "step in eval", 5, (Related("switched_to_eval", ABS_BUG, 33),))
    elsewhere = RuntimeFinding("EG001", ABS_BUG, 80, "step in eval", 2, (Related("switched_to_eval", ABS_BUG, 50),))
    other_code = RuntimeFinding("EG002", ABS_BUG, 69, "inference in train", 1)
    joined = confirm([static], Trace(("t",), [only_eval, elsewhere, other_code]), base=str(ROOT))
    assert joined.status_of(static).status == CONFIRMED and joined.status_of(static).count == 5
    assert joined.runtime_only == [elsewhere, other_code]


def test_a_location_match_beats_a_message_match():
    # Two training loops call the same test() (model.eval() at line 33); only loop A ran into it.
    loop_a = Finding(BUG, 69, 18, "EG001", f"... `model.eval()` ({BUG}:33) ...")
    loop_b = Finding(BUG, 120, 18, "EG001", f"... `model.eval()` ({BUG}:33) ...")
    rf = RuntimeFinding(
        "EG001", ABS_BUG, 72, "step in eval", 3,
        (Related("forward", ABS_BUG, 69), Related("switched_to_eval", ABS_BUG, 33)),
    )
    joined = confirm([loop_a, loop_b], Trace(("t",), [rf]), base=str(ROOT))
    assert joined.status_of(loop_a).count == 3
    assert joined.status_of(loop_b).status == NOT_REACHED
    assert joined.runtime_only == []


def test_parse_errors_and_notebook_findings_are_not_marked(tmp_path):
    eg000 = Finding(BUG, 1, 1, "EG000", "cannot parse")
    cell = Finding(str(tmp_path / "nb.ipynb"), 4, 13, "EG003", "forward under no_grad", cell=3)
    joined = confirm([eg000, cell], Trace(("t",), []))
    assert joined.status_of(eg000) is None and joined.status_of(cell) is None
    assert joined.summary() == "Runtime: 0 of 0 findings confirmed, 0 runtime findings with no static counterpart"


def test_message_locations():
    text = "`test()` (fixtures/a.py:75), through `model.eval()` (/abs/b.py:33:4) reached at run.py:40; not 1:2"
    assert message_locations(text, "/root") == {
        (os.path.realpath("/root/fixtures/a.py"), 75),
        (os.path.realpath("/abs/b.py"), 33),
        (os.path.realpath("/root/run.py"), 40),
    }


def test_runtime_only_findings_obey_noqa_selection_and_the_checked_files(tmp_path):
    copy = tmp_path / "proj" / "train.py"
    copy.parent.mkdir()
    shutil.copy(ROOT / OK, copy)
    lines = copy.read_text(encoding="utf-8").splitlines()
    assert lines[37].strip() == "output = model(data)"
    real_copy = os.path.realpath(copy)
    other = os.path.realpath(tmp_path / "elsewhere.py")
    trace = write_trace(
        tmp_path / "t.jsonl", START, nograd_in_train(3, real_copy, 38), nograd_in_train(1, other, 5), END
    )
    result = check(str(copy), "--trace", trace)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == (
        f"{copy}:38: EG003 forward under no_grad while `ConvNet` is in train mode (3 times)"
    )
    assert f"note: 1 runtime finding in a file this check did not cover, not listed: {other}" in result.stderr
    assert check(str(copy), "--trace", trace, "--ignore", "EG003").exit_code == 0
    lines[37] += "  # noqa: EG003"
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = check(str(copy), "--trace", trace)
    assert (result.exit_code, result.stdout) == (0, "")


def test_a_runtime_finding_matching_a_suppressed_static_finding_stays_suppressed(tmp_path):
    copy = tmp_path / "train.py"
    text = (ROOT / BUG).read_text(encoding="utf-8").replace("# expect: EG001", "# noqa: EG001")
    copy.write_text(text, encoding="utf-8")
    trace = write_trace(tmp_path / "t.jsonl", START, step_in_eval(8, os.path.realpath(copy)), END)
    result = check(str(copy), "--trace", trace)
    assert (result.exit_code, result.stdout) == (0, "")


# ------------------------------------------------------------------------------------ other formats


def both_trace(tmp_path) -> str:
    return write_trace(tmp_path / "t.jsonl", START, step_in_eval(3), nograd_in_train(2), END)


def test_json_marks_rows_and_appends_runtime_only_rows(tmp_path):
    result = check(BUG, "--trace", both_trace(tmp_path), "--output-format", "json")
    assert result.exit_code == 1
    static, runtime_only = json.loads(result.stdout)
    assert static["code"] == "EG001" and static["line"] == 69 and static["fixable"] is True
    assert static["source"] == "static"
    assert static["runtime"] == {"status": "confirmed", "count": 3}
    assert runtime_only == {
        "code": "EG003",
        "name": "no-grad-without-eval",
        "message": "forward under no_grad while `ConvNet` is in train mode",
        "path": BUG,
        "line": 38,
        "column": None,
        "end_line": None,
        "end_column": None,
        "cell": None,
        "fixable": False,
        "source": "runtime",
        "runtime": {"status": "runtime_only", "count": 2, "related": []},
    }
    # Without --trace the rows are exactly as before.
    (plain,) = json.loads(check(BUG, "--output-format", "json").stdout)
    assert "runtime" not in plain and "source" not in plain
    assert plain == {k: v for k, v in static.items() if k not in ("runtime", "source")}


def test_sarif_validates_and_carries_runtime_properties(tmp_path):
    result = check(BUG, "--trace", both_trace(tmp_path), "--output-format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    if not SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(log))
    assert not errors, [e.message for e in errors[:5]]
    static, runtime_only = log["runs"][0]["results"]
    assert static["properties"] == {"runtime": {"status": "confirmed", "count": 3}}
    assert runtime_only["ruleId"] == "EG003"
    assert runtime_only["properties"] == {"source": "runtime", "runtime": {"status": "runtime_only", "count": 2}}
    assert runtime_only["locations"][0]["physicalLocation"]["region"] == {"startLine": 38}
    assert runtime_only["message"]["text"].endswith("(found at runtime, 2 times; no static finding)")
    assert static["partialFingerprints"] != runtime_only["partialFingerprints"]
    # The static result is the same as without a trace but for its properties (fingerprints stable).
    (plain,) = json.loads(check(BUG, "--output-format", "sarif").stdout)["runs"][0]["results"]
    assert plain == {k: v for k, v in static.items() if k != "properties"}


def test_sarif_related_locations_of_runtime_only_findings(tmp_path):
    ok_abs = os.path.realpath(ROOT / OK)
    rf = step_in_eval(2, ok_abs) | {"line": 73}
    result = check(OK, "--trace", write_trace(tmp_path / "t.jsonl", START, rf, END), "--output-format", "sarif")
    (res,) = json.loads(result.stdout)["runs"][0]["results"]
    assert [(r["message"]["text"], r["physicalLocation"]["region"]["startLine"]) for r in res["relatedLocations"]] == [
        ("forward", 69),
        ("switched to eval", 33),
    ]
    assert res["relatedLocations"][0]["physicalLocation"]["artifactLocation"] == {"uri": OK, "uriBaseId": "%SRCROOT%"}


def test_github_and_full_formats(tmp_path):
    trace = both_trace(tmp_path)
    github = check(BUG, "--trace", trace, "--output-format", "github").stdout.splitlines()
    assert github[0].endswith("at the top of the training loop body — confirmed at runtime (3 times)")
    assert github[1] == (
        f"::error file={BUG},line=38,title=EG003 no-grad-without-eval (runtime)::forward under no_grad while"
        " `ConvNet` is in train mode (found at runtime, 2 times; no static finding)"
    )
    full = check(BUG, "--trace", trace, "--output-format", "full").stdout
    assert "[*] — confirmed at runtime (3 times)\n  69 |         output = model(data)" in full
    assert (
        "\nRuntime findings with no static counterpart:\n"
        f"{BUG}:38: EG003 forward under no_grad while `ConvNet` is in train mode (2 times)\n"
        "  38 |             output = model(data)\n"
        "  help: "
    ) in full
