"""Hostile inputs: every bad file gets a clear per-file message, the rest of the run goes on, and the
exit code says what happened. Plus property-based fuzzing (bounded here; EVALGUARD_FUZZ_EXAMPLES for
deeper runs)."""

from __future__ import annotations

import builtins
import os
import shutil

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from evalguard import pipeline
from evalguard.cli import main
from evalguard.pipeline import check_paths

BUG = FIXTURES / "eg001_test_every_n_batches_bug.py"
FUZZ_EXAMPLES = int(os.environ.get("EVALGUARD_FUZZ_EXAMPLES", "40"))


def check(*args):
    return CliRunner().invoke(main, ["check", *args])


def hostile_tree(tmp_path):
    shutil.copy(BUG, tmp_path / "train.py")
    files = {
        "syntax.py": b"def f(:\n    pass\n",
        "py2.py": b'print "hello"\n',
        "badutf8.py": b"x = '\xff\xfe'\n",
        "bom.py": b"\xef\xbb\xbfimport torch\nx = 1\n",
        "latin1.py": "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n".encode("latin-1"),
        "crlf.py": b"a = 1\r\nb = 2\nc = 3\r\n",
        "nul.py": b"x = 1\x00\n",
        "empty.py": b"",
        "deep_expr.py": ("x = " + "+".join(["a"] * 50000) + "\n").encode(),
        "deep_parens.py": ("x = " + "(" * 150 + "1" + ")" * 150 + "\n").encode(),
        "new_syntax.py": b"type V[T] = list[T]\ndef f[T](x: T) -> T:\n    match x:\n        case _:\n            return x\ntry:\n    pass\nexcept* ValueError:\n    pass\ns = f\"{'a' + f'{1}'}\"\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "dir.py").mkdir()
    os.symlink(tmp_path, tmp_path / "loop")
    return files


def test_hostile_tree_reports_each_bad_file_and_goes_on(tmp_path):
    hostile_tree(tmp_path)
    result = check(str(tmp_path))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    eg000 = {line.split(":")[0].rsplit("/", 1)[-1] for line in result.stdout.splitlines() if " EG000 " in line}
    assert eg000 == {"syntax.py", "py2.py", "badutf8.py", "nul.py", "deep_expr.py"}
    assert f"{tmp_path}/train.py:69:18: EG001" in result.stdout
    # bom, latin-1, CRLF, empty, deep parentheses, newest syntax: parsed, nothing to report.
    assert "(12 files checked)" in result.stderr


def test_symlink_out_of_the_tree_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(BUG, outside / "other.py")
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(FIXTURES / "eg001_test_every_n_batches_ok.py", tree / "ok.py")
    os.symlink(outside, tree / "linked")
    os.symlink(tree, tree / "self_loop")
    result = check(str(tree))
    assert result.exit_code == 0 and "(1 file checked)" in result.stderr


def test_unreadable_file_is_eg000(tmp_path, monkeypatch):
    shutil.copy(BUG, tmp_path / "train.py")
    (tmp_path / "secret.py").write_text("x = 1\n")
    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        if str(path).endswith("secret.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    result = check_paths([str(tmp_path)])
    assert [(os.path.basename(f.path), f.code) for f in result.findings] == [("secret.py", "EG000"), ("train.py", "EG001")]
    assert "Permission denied" in result.findings[0].message
    assert result.errors == []


def test_huge_generated_file_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MAX_FILE_BYTES", 20000)
    (tmp_path / "weights.py").write_text("W = [\n" + "    0.5,\n" * 4000 + "]\n")
    shutil.copy(BUG, tmp_path / "train.py")
    monkeypatch.chdir(tmp_path)
    result = check(".")
    assert result.exit_code == 1  # train.py's bug is still reported
    assert "note: weights.py: skipped" in result.stderr


def test_fifty_megabyte_file_is_bounded(tmp_path):
    big = tmp_path / "generated.py"
    with open(big, "w") as handle:
        line = "x = [" + ", ".join(["1.0"] * 200) + "]\n"
        for _ in range(50 * 2**20 // len(line) + 1):
            handle.write(line)
    assert big.stat().st_size >= 50 * 2**20
    result = check(str(big))
    assert result.exit_code == 0 and "skipped" in result.stderr


def test_non_utf8_file_name(tmp_path):
    name = os.fsdecode(b"caf\xe9.py")
    shutil.copy(FIXTURES / "eg005_pickled_model_predict_bug.py", os.path.join(os.fsencode(tmp_path), b"caf\xe9.py"))
    result = check(str(tmp_path))
    assert result.exit_code == 1 and "EG005" in result.stdout
    assert name.encode("utf-8", "surrogateescape")


def test_checking_twice_gives_the_same_findings():
    a = check_paths([str(FIXTURES)]).findings
    b = check_paths([str(FIXTURES)]).findings
    assert [(f.path, f.line, f.column, f.code, f.message) for f in a] == [
        (f.path, f.line, f.column, f.code, f.message) for f in b
    ]


try:
    import hypothesmith
except ImportError:  # pragma: no cover
    hypothesmith = None


@pytest.mark.skipif(hypothesmith is None, reason="hypothesmith not installed")
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=hypothesmith.from_grammar() if hypothesmith else st.just(""))
def test_generated_programs_never_crash_the_checker(source):
    from evalguard.pipeline import check_modules, parse_source

    errors: list[str] = []
    facts = parse_source(source, "fuzz.py", "fuzz", errors)
    result = check_modules([facts])
    assert errors == [] and result.errors == []
    again = check_modules([parse_source(source, "fuzz.py", "fuzz", [])])
    assert [f.code for f in again.findings] == [f.code for f in result.findings]


MUTATIONS = [
    ("model.train()", "model.eval()"),
    ("model.eval()", "model.train()"),
    ("torch.no_grad()", "torch.enable_grad()"),
    ("    ", "\t"),
    ("(", "(("),
    ("def ", "async def "),
    ("for ", "while "),
]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    fixture=st.sampled_from(sorted(FIXTURES.glob("*.py"))),
    mutation=st.sampled_from(MUTATIONS),
    cut=st.integers(min_value=0, max_value=4000),
)
def test_mutated_fixtures_never_crash_and_fixes_converge(fixture, mutation, cut):
    from evalguard.fix.apply import plan_fixes
    from evalguard.pipeline import check_modules, parse_source

    text = fixture.read_text(encoding="utf-8").replace(*mutation)
    text = text[: len(text) - cut % max(len(text), 1)]
    errors: list[str] = []
    result = check_modules([parse_source(text, "m.py", "m", errors)])
    assert errors == [] and result.errors == []
    outcome = plan_fixes(result.findings, lambda _path: text)
    if "m.py" in outcome.changed:
        fixed = outcome.changed["m.py"][1]
        compile(fixed, "m.py", "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST: still parses


def test_internal_error_in_one_function_is_reported_and_the_rest_still_checked(tmp_path, monkeypatch):
    from evalguard.analysis import flow

    shutil.copy(BUG, tmp_path / "train.py")
    (tmp_path / "other.py").write_text("def boom(model):\n    model.eval()\n    return model(1)\n")
    original = flow.FunctionAnalysis.run

    def run(self):
        if self.key == "other:boom":
            raise ValueError("synthetic failure")
        return original(self)

    monkeypatch.setattr(flow.FunctionAnalysis, "run", run)
    result = check("--no-cache", str(tmp_path))
    assert result.exit_code == 2
    assert "EG001" in result.stdout  # train.py's finding is still reported
    assert f"EG000 internal error in {tmp_path / 'other.py'}: while analysing other:boom: ValueError('synthetic failure'), please report" in result.stderr


def test_internal_error_while_parsing_one_file(tmp_path, monkeypatch):
    shutil.copy(BUG, tmp_path / "train.py")
    (tmp_path / "other.py").write_text("x = 1\n")
    original = pipeline.facts_from_source

    def parse(data, path, module_name):
        if path.endswith("other.py"):
            raise ValueError("synthetic parse failure")
        return original(data, path, module_name)

    monkeypatch.setattr(pipeline, "facts_from_source", parse)
    result = check("--no-cache", str(tmp_path))
    assert result.exit_code == 2
    assert "EG001" in result.stdout
    assert "EG000 internal error in" in result.stderr and "while parsing: ValueError('synthetic parse failure'), please report" in result.stderr
