"""The `evalguard check` command line: output formats, summary, exit codes, selection, discovery."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import evalguard
from evalguard.cli import main

# A classifier trained with model.train() once before the epoch loop; the evaluation helper
# switches to eval() at the end of every epoch, so epochs 2.. train in eval mode (EG001).
TRAIN_SRC = textwrap.dedent(
    '''\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 256)
            self.bn = nn.BatchNorm1d(256)
            self.drop = nn.Dropout(0.5)
            self.fc2 = nn.Linear(256, 10)

        def forward(self, x):
            return self.fc2(self.drop(F.relu(self.bn(self.fc1(x)))))


    def evaluate(model, loader):
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum().item()
        return correct


    def train(model, loader, val_loader, epochs):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.train()
        for epoch in range(epochs):
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            print(epoch, evaluate(model, val_loader))
    '''
)
TRAIN_BUG = "loss = F.cross_entropy(model(x), y)"

# The fixed version: train() at the top of every epoch.
CLEAN_SRC = TRAIN_SRC.replace(
    "    model.train()\n    for epoch in range(epochs):\n",
    "    for epoch in range(epochs):\n        model.train()\n",
)

# A pretrained ResNet used for prediction without eval(): EG003 under no_grad (line 7),
# EG002 without it (line 12). One finding below line 10 and one above it.
PREDICT_SRC = textwrap.dedent(
    '''\
    import torch
    import torchvision

    model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
    images = torch.rand(8, 3, 224, 224)
    with torch.no_grad():
        top1 = model(images).argmax(1)
    print("top-1 classes:", top1.tolist())

    # Probabilities for the report.
    print("confidence:")
    probs = model(images).softmax(1)
    print(probs.max(1).values)
    '''
)

SYNTAX_ERROR_SRC = "import torch\n\n\ndef evaluate(model loader):\n    model.eval()\n"

TEXT_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>EG\d{3}) (?P<message>\S.*)$")
SUMMARY = re.compile(r"Found (\d+) findings? in (\d+) files? \((\d+) files? checked\)")


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def position(src: str, line_text: str, needle: str = "model(") -> tuple[int, int]:
    """1-based (line, column) of `needle` on the only line containing `line_text`."""
    hits = [i for i, line in enumerate(src.splitlines(), 1) if line_text in line]
    assert len(hits) == 1, f"{line_text!r} must occur once"
    line = src.splitlines()[hits[0] - 1]
    return hits[0], line.index(needle) + 1


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def parse_text(stdout: str) -> list[tuple[str, int, int, str]]:
    rows = []
    for line in stdout.splitlines():
        m = TEXT_LINE.match(line)
        assert m, f"not `path:line:col: CODE message`: {line!r}"
        rows.append((m["path"], int(m["line"]), int(m["col"]), m["code"]))
    return rows


def summary(stderr: str) -> tuple[int, int, int]:
    m = SUMMARY.search(stderr)
    assert m, f"no summary line in stderr: {stderr!r}"
    return int(m[1]), int(m[2]), int(m[3])


def assert_usage_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "Error:" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    # A usage error is a clean exit, not an exception escaping the command.
    assert isinstance(result.exception, SystemExit)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------------------------ text output


def test_text_output_is_path_line_col_code_message(in_tmp):
    write(in_tmp / "train.py", TRAIN_SRC)
    result = run("check", "train.py")
    assert result.exit_code == 1
    line, col = position(TRAIN_SRC, TRAIN_BUG)
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"train.py:{line}:{col}: EG001 ")
    assert TEXT_LINE.match(lines[0])
    # The message names the cause: the evaluate() call and the eval() inside it.
    assert "evaluate()" in lines[0] and "model.eval()" in lines[0]
    # Findings go to stdout, the summary to stderr only.
    assert "Found" not in result.stdout
    assert "Found 1 finding in 1 file (1 file checked)" in result.stderr


def test_findings_are_sorted_by_path_then_numeric_position(in_tmp):
    write(in_tmp / "zoo" / "predict.py", PREDICT_SRC)
    write(in_tmp / "a_train.py", TRAIN_SRC)
    write(in_tmp / "m_predict.py", PREDICT_SRC)
    # Named out of order on purpose.
    result = run("check", os.path.join("zoo", "predict.py"), "m_predict.py", "a_train.py")
    assert result.exit_code == 1
    rows = parse_text(result.stdout)
    train_pos = position(TRAIN_SRC, TRAIN_BUG)
    nograd_pos = position(PREDICT_SRC, "top1 = model(images)")
    plain_pos = position(PREDICT_SRC, "probs = model(images)")
    assert nograd_pos[0] < 10 <= plain_pos[0]  # line 7 must come before line 12 (not "12" < "7")
    expected = [
        ("a_train.py", *train_pos, "EG001"),
        ("m_predict.py", *nograd_pos, "EG003"),
        ("m_predict.py", *plain_pos, "EG002"),
        (os.path.join("zoo", "predict.py"), *nograd_pos, "EG003"),
        (os.path.join("zoo", "predict.py"), *plain_pos, "EG002"),
    ]
    assert rows == expected
    assert rows == sorted(rows, key=lambda r: (r[0], r[1], r[2]))


def test_summary_counts_findings_files_with_findings_and_files_checked(in_tmp):
    write(in_tmp / "train.py", TRAIN_SRC)
    write(in_tmp / "predict.py", PREDICT_SRC)
    write(in_tmp / "train_fixed.py", CLEAN_SRC)
    result = run("check", ".")
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 3
    assert "Found 3 findings in 2 files (3 files checked)" in result.stderr


def test_clean_code_exits_0_with_empty_stdout(in_tmp):
    write(in_tmp / "train.py", CLEAN_SRC)
    result = run("check", "train.py")
    assert result.exit_code == 0, result.stdout
    assert result.stdout == ""
    assert "Found 0 findings in 0 files (1 file checked)" in result.stderr


def test_same_file_named_twice_is_checked_once(in_tmp):
    write(in_tmp / "train.py", TRAIN_SRC)
    result = run("check", "train.py", ".", "./train.py")
    assert result.exit_code == 1
    assert len(parse_text(result.stdout)) == 1
    assert summary(result.stderr) == (1, 1, 1)


# ------------------------------------------------------------------------------------ usage errors


def test_missing_path_exits_2_with_message(in_tmp):
    result = run("check", "no_such_dir")
    assert_usage_error(result, "no_such_dir", "does not exist")


def test_missing_path_next_to_a_real_one_still_exits_2(in_tmp):
    write(in_tmp / "train.py", TRAIN_SRC)
    result = run("check", "train.py", "missing.py")
    assert_usage_error(result, "missing.py")


@pytest.mark.parametrize(
    "args, bad",
    [
        (["--select", "EG123"], "EG123"),
        (["--select", "EG001,BOGUS"], "BOGUS"),
        (["--ignore", "XY9"], "XY9"),
        (["--select", "EG001", "--select", "E0"], "E0"),
    ],
)
def test_unknown_rule_code_exits_2_with_message(in_tmp, args, bad):
    write(in_tmp / "train.py", TRAIN_SRC)
    result = run("check", *args, "train.py")
    assert_usage_error(result, bad, "unknown rule code")


def test_bad_output_format_exits_2_with_message(in_tmp):
    write(in_tmp / "train.py", TRAIN_SRC)
    result = run("check", "--output-format", "xml", "train.py")
    assert_usage_error(result, "--output-format", "xml")
    assert "text" in result.stderr and "json" in result.stderr


# ------------------------------------------------------------------------------------ json


def test_json_output_is_an_array_of_findings_with_1_based_positions(in_tmp):
    write(in_tmp / "train.py", TRAIN_SRC)
    write(in_tmp / "predict.py", PREDICT_SRC)
    text = run("check", "train.py", "predict.py")
    result = run("check", "--output-format", "json", "train.py", "predict.py")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and len(rows) == 3
    keys = {"code", "name", "message", "path", "line", "column", "end_line", "end_column", "cell", "fixable"}
    names = {"EG001": "train-step-in-eval-mode", "EG002": "inference-in-train-mode", "EG003": "no-grad-without-eval"}
    for row in rows:
        assert set(row) == keys
        assert row["name"] == names[row["code"]]
        assert isinstance(row["message"], str) and row["message"]
        for key in ("line", "column", "end_line", "end_column"):
            assert isinstance(row[key], int) and row[key] >= 1, (key, row)
        assert (row["end_line"], row["end_column"]) > (row["line"], row["column"])
    # Same findings, same order, same positions as the text format.
    assert [(r["path"], r["line"], r["column"], r["code"]) for r in rows] == parse_text(text.stdout)
    # The range covers the forward call `model(x)` (end column is exclusive, as in SARIF/ruff).
    eg001 = next(r for r in rows if r["code"] == "EG001")
    line, col = position(TRAIN_SRC, TRAIN_BUG)
    assert (eg001["path"], eg001["line"], eg001["column"]) == ("train.py", line, col)
    assert (eg001["end_line"], eg001["end_column"]) == (line, col + len("model(x)"))
    assert summary(result.stderr) == (3, 2, 2)


def test_json_output_on_clean_code_is_an_empty_array(in_tmp):
    write(in_tmp / "train.py", CLEAN_SRC)
    result = run("check", "--output-format", "json", "train.py")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_json_parse_error_positions_are_1_based(in_tmp):
    write(in_tmp / "broken.py", SYNTAX_ERROR_SRC)
    result = run("check", "--output-format", "json", "broken.py")
    (row,) = json.loads(result.stdout)
    assert row["code"] == "EG000" and row["name"] == "parse-error"
    assert row["line"] >= 1 and row["column"] >= 1
    assert row["end_line"] >= row["line"] and row["end_column"] >= 1


# ------------------------------------------------------------------------------------ selection


CODE_FILES = {"EG000": "broken.py", "EG001": "train.py", "EG002": "predict.py", "EG003": "predict.py"}


@pytest.fixture
def all_codes_tree(in_tmp):
    """Files that produce EG000, EG001, EG002 and EG003 once each."""
    write(in_tmp / "broken.py", SYNTAX_ERROR_SRC)
    write(in_tmp / "train.py", TRAIN_SRC)
    write(in_tmp / "predict.py", PREDICT_SRC)
    return in_tmp


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], {"EG000", "EG001", "EG002", "EG003"}),
        (["--select", "EG001"], {"EG001"}),
        (["--select", "eg003"], {"EG003"}),
        (["--select", "EG001,EG003"], {"EG001", "EG003"}),
        (["--select", "EG001, EG002"], {"EG001", "EG002"}),
        (["--select", "EG001", "--select", "EG002"], {"EG001", "EG002"}),
        (["--select", "EG00"], {"EG000", "EG001", "EG002", "EG003"}),
        (["--select", "ALL"], {"EG000", "EG001", "EG002", "EG003"}),
        (["--ignore", "EG002"], {"EG000", "EG001", "EG003"}),
        (["--ignore", "EG000,EG001"], {"EG002", "EG003"}),
        (["--ignore", "EG000", "--ignore", "EG003"], {"EG001", "EG002"}),
        (["--select", "EG00", "--ignore", "EG001"], {"EG000", "EG002", "EG003"}),
        (["--select", "EG001,EG002", "--ignore", "EG002"], {"EG001"}),
        (["--ignore", "EG00"], set()),
    ],
    ids=lambda v: (" ".join(v) or "no-options") if isinstance(v, list) else "",
)
def test_select_and_ignore(all_codes_tree, args, expected):
    result = run("check", *args, ".")
    rows = parse_text(result.stdout)
    codes = [row[3] for row in rows]
    assert set(codes) == expected
    assert len(codes) == len(expected)  # one finding per code in this tree
    assert {(r[0], r[3]) for r in rows} == {(CODE_FILES[c], c) for c in expected}
    assert result.exit_code == (1 if expected else 0)
    assert summary(result.stderr) == (len(expected), len({CODE_FILES[c] for c in expected}), 3)


def test_select_applies_to_json_too(all_codes_tree):
    result = run("check", "--output-format", "json", "--select", "EG002", ".")
    assert [r["code"] for r in json.loads(result.stdout)] == ["EG002"]


# ------------------------------------------------------------------------------------ discovery


def test_default_path_is_the_current_directory(in_tmp):
    write(in_tmp / "train.py", TRAIN_SRC)
    write(in_tmp / "lib" / "fixed.py", CLEAN_SRC)
    result = run("check")
    assert result.exit_code == 1
    rows = parse_text(result.stdout)
    assert [(r[0], r[3]) for r in rows] == [("train.py", "EG001")]  # shown relative, no "./"
    assert summary(result.stderr) == (1, 1, 2)


SKIPPED_DIRS = [
    ".git/hooks",
    ".venv/lib/python3.11/site-packages/torchlib",
    "myenv/lib/python3.11/site-packages",  # a virtualenv by its pyvenv.cfg, whatever its name
    "build/lib/project",
    "__pycache__",
    "src/__pycache__",
    ".tox/py311",
    ".ipynb_checkpoints",
]


@pytest.fixture
def tree_with_skipped_dirs(in_tmp):
    write(in_tmp / "train.py", CLEAN_SRC)
    write(in_tmp / "src" / "predict.py", PREDICT_SRC)
    write(in_tmp / "myenv" / "pyvenv.cfg", "home = /usr/bin\nversion = 3.11.7\n")
    for d in SKIPPED_DIRS:
        write(in_tmp / d / "vendored_train.py", TRAIN_SRC)
    # Not Python source files.
    write(in_tmp / "README.md", "model.eval()\n")
    write(in_tmp / "notes.txt", TRAIN_SRC)
    write(in_tmp / "train.py.orig", TRAIN_SRC)
    return in_tmp


def test_directory_walk_skips_vcs_venv_build_cache_and_hidden_dirs(tree_with_skipped_dirs):
    result = run("check", ".")
    rows = parse_text(result.stdout)
    assert {r[0] for r in rows} == {os.path.join("src", "predict.py")}
    assert summary(result.stderr) == (2, 1, 2)


def test_a_directory_named_like_a_skipped_one_is_walked_when_it_has_no_pyvenv_cfg(in_tmp):
    # `myenv` is only skipped because of pyvenv.cfg; `experiments` is an ordinary folder.
    write(in_tmp / "experiments" / "lib" / "train.py", TRAIN_SRC)
    result = run("check", ".")
    assert [r[0] for r in parse_text(result.stdout)] == [os.path.join("experiments", "lib", "train.py")]


@pytest.mark.parametrize("skipped", SKIPPED_DIRS)
def test_file_named_explicitly_inside_a_skipped_dir_is_checked(tree_with_skipped_dirs, skipped):
    target = os.path.join(*skipped.split("/"), "vendored_train.py")
    result = run("check", target)
    assert result.exit_code == 1
    assert [(r[0], r[3]) for r in parse_text(result.stdout)] == [(target, "EG001")]
    assert summary(result.stderr) == (1, 1, 1)


# ------------------------------------------------------------------------------------ EG000


def test_syntax_error_is_one_eg000_with_position_and_the_run_goes_on(in_tmp):
    write(in_tmp / "broken.py", SYNTAX_ERROR_SRC)
    write(in_tmp / "train.py", TRAIN_SRC)
    write(in_tmp / "train_fixed.py", CLEAN_SRC)
    result = run("check", ".")
    assert result.exit_code == 1
    with pytest.raises(SyntaxError) as err:
        ast.parse(SYNTAX_ERROR_SRC)
    rows = parse_text(result.stdout)
    assert rows == [
        ("broken.py", err.value.lineno, err.value.offset, "EG000"),
        ("train.py", *position(TRAIN_SRC, TRAIN_BUG), "EG001"),
    ]
    assert "SyntaxError" in result.stdout.splitlines()[0]
    assert summary(result.stderr) == (2, 2, 3)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "data",
    [
        b"# Trainer for caf\xe9 reviews\nimport torch\n",  # latin-1 in a comment, no coding cookie
        b'import torch\nLABEL = "\xff\xfe"\n',  # invalid UTF-8 in a string literal
        b"\xff\xfe\x00\x00\x00\x00",  # binary junk named .py
    ],
    ids=["latin1-comment", "bad-utf8-string", "binary"],
)
def test_undecodable_file_is_eg000_and_the_run_goes_on(in_tmp, data):
    write(in_tmp / "legacy.py", data)
    write(in_tmp / "train.py", TRAIN_SRC)
    result = run("check", ".")
    assert result.exit_code == 1
    rows = parse_text(result.stdout)
    assert [(r[0], r[3]) for r in rows] == [("legacy.py", "EG000"), ("train.py", "EG001")]
    _, line, col, _ = rows[0]
    assert line >= 1 and col >= 1
    assert summary(result.stderr) == (2, 2, 2)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "data",
    [
        b"# -*- coding: latin-1 -*-\n# Trainer for caf\xe9 reviews\nimport torch\n",
        b"\xef\xbb\xbfimport torch\n",  # UTF-8 with BOM
    ],
    ids=["coding-cookie", "bom"],
)
def test_declared_encodings_are_honoured(in_tmp, data):
    write(in_tmp / "legacy.py", data)
    result = run("check", "legacy.py")
    assert result.exit_code == 0, result.stdout
    assert result.stdout == ""


def test_unknown_coding_cookie_is_eg000_with_a_1_based_position(in_tmp):
    write(in_tmp / "legacy.py", b"# -*- coding: klingon -*-\nimport torch\n")
    result = run("check", "legacy.py")
    assert result.exit_code == 1
    ((path, line, col, code),) = parse_text(result.stdout)
    assert (path, code) == ("legacy.py", "EG000")
    assert line >= 1 and col >= 1


# ------------------------------------------------------------------------------------ misc


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"evalguard, version {evalguard.__version__}"


def test_python_dash_m_evalguard_runs_as_a_real_process(tmp_path):
    write(tmp_path / "train.py", TRAIN_SRC)
    write(tmp_path / "predict.py", PREDICT_SRC)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "evalguard", "check", "train.py", "predict.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    rows = parse_text(proc.stdout)
    assert [(r[0], r[3]) for r in rows] == [("predict.py", "EG003"), ("predict.py", "EG002"), ("train.py", "EG001")]
    assert proc.stderr.strip().splitlines()[-1] == "Found 3 findings in 2 files (2 files checked)"

    missing = subprocess.run(
        [sys.executable, "-m", "evalguard", "check", "nope.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert missing.returncode == 2
    assert "nope.py" in missing.stderr and "Traceback" not in missing.stderr
