"""Output formats (evalguard.report): text, json, full, github, sarif, on real and hand-made findings."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT

from evalguard import __version__
from evalguard.findings import Finding
from evalguard.fix.specs import InsertText
from evalguard.pipeline import check_paths
from evalguard.report.context import ReportContext
from evalguard.report.formats import FORMATS, render
from evalguard.report.full import caret_line
from evalguard.report.github import escape_data, escape_property
from evalguard.report.pages import first_paragraph, first_sentence, fix_hint, rule_page
from evalguard.report.sarif import FINGERPRINT_KEY
from evalguard.rules_catalog import RULES

SCHEMA = ROOT.parent / "shared" / "data" / "sarif" / "sarif-schema-2.1.0.json"
EG001_FIXTURE = "fixtures/eg001_test_every_n_batches_bug.py"
EG004_FIXTURE = "fixtures/eg004_tabular_mlp_bug.py"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

NOTEBOOK_CELLS = [
    ("markdown", "# Fine-tuning\nSome notes."),
    ("code", "import torch\nimport torch.nn.functional as F\n"),
    ("code", "%matplotlib inline\nmodel = build()\nwith torch.no_grad():\n    probs = model(images).softmax(1)\n"),
]


def write_notebook(path: Path) -> Path:
    cells = [
        {"cell_type": kind, "metadata": {}, "source": src.splitlines(keepends=True)}
        | ({"outputs": [], "execution_count": None} if kind == "code" else {})
        for kind, src in NOTEBOOK_CELLS
    ]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), "utf-8")
    return path


def notebook_finding(path: str) -> Finding:
    # Cell 3 (cells are numbered like Jupyter shows them, markdown included), line 4 of the cell:
    # `probs = model(images).softmax(1)`; `model(images)` is columns 13..26.
    return Finding(
        path, 4, 13, "EG003", "forward under `torch.no_grad()` while `model` is in train mode; call `model.eval()`",
        4, 26, cell=3,
    )


@pytest.fixture
def real(in_root):
    """Findings of a real run over two bug fixtures (paths relative to the repository root)."""
    findings = check_paths([EG001_FIXTURE, EG004_FIXTURE]).findings
    assert [f.code for f in findings] == ["EG001", "EG004"]
    return findings


def lines_of(path: str) -> list[str]:
    return (ROOT / path).read_text(encoding="utf-8").splitlines()


# ------------------------------------------------------------------------------------ registry


def test_registry_has_every_format_and_render_uses_it(real):
    assert set(FORMATS) == {"text", "json", "full", "github", "sarif"}
    for name, formatter in FORMATS.items():
        assert render(name, real) == formatter(real, ReportContext())
        assert render(name, real, ReportContext(color=False)) == formatter(real, ReportContext())


def test_render_rejects_unknown_format():
    with pytest.raises(ValueError, match="xml"):
        render("xml", [])


@pytest.mark.parametrize("name", ["text", "full", "github"])
def test_no_findings_no_output(name):
    assert render(name, []) == ""


# ------------------------------------------------------------------------------------ text / json


def test_text_marks_fixable_findings_and_keeps_the_line_format(real):
    out = render("text", real).splitlines()
    assert len(out) == 2
    for f, line in zip(real, out):
        assert f.fix is not None
        assert line == f"{f.path}:{f.line}:{f.column}: {f.code} {f.message} [*]"
    plain = Finding("a.py", 3, 5, "EG006", "`model.training = False` sets one module", 3, 27)
    assert render("text", [plain]) == "a.py:3:5: EG006 `model.training = False` sets one module\n"


def test_text_shows_notebook_cell_line_and_column():
    nb = notebook_finding("analysis.ipynb")
    fixable = Finding("analysis.ipynb", 2, 1, "EG005", "`model.eval` is not called", 2, 11,
                      InsertText(line=2, col=11, text="()"), cell=5)
    assert render("text", [nb, fixable]) == (
        f"analysis.ipynb:cell 3:line 4:col 13: EG003 {nb.message}\n"
        "analysis.ipynb:cell 5:line 2:col 1: EG005 `model.eval` is not called [*]\n"
    )


def test_json_has_cell_and_fixable(real):
    rows = json.loads(render("json", real + [notebook_finding("nb.ipynb")]))
    keys = {"code", "name", "message", "path", "line", "column", "end_line", "end_column", "cell", "fixable"}
    assert all(set(row) == keys for row in rows)
    assert [(r["cell"], r["fixable"]) for r in rows] == [(None, True), (None, True), (3, False)]
    assert rows[0]["path"] == EG001_FIXTURE and rows[0]["name"] == "train-step-in-eval-mode"


# ------------------------------------------------------------------------------------ full


def test_full_shows_source_line_caret_and_help(real):
    out = render("full", real, ReportContext(color=False))
    assert not ANSI.search(out)
    blocks = out.split("\n\n")
    assert len(blocks) == 2
    for f, block in zip(real, blocks):
        head, source, carets, hint = block.rstrip("\n").split("\n")
        assert head == f"{f.path}:{f.line}:{f.column}: {f.code} {f.message} [*]"
        text = lines_of(f.path)[f.line - 1]
        assert source == f"  {f.line} | {text}"
        gutter = f"  {' ' * len(str(f.line))} | "
        assert carets.startswith(gutter)
        under = carets[len(gutter):]
        # The carets sit exactly under the finding's range (end column is exclusive).
        assert under == " " * (f.column - 1) + "^" * (f.end_column - f.column)
        assert text[f.column - 1 : f.end_column - 1] in ("model(data)", "F.dropout(block(h), p=self.p)")
        assert hint == f"  help: {fix_hint(f.code)}"
    assert "help: Put `model.train()` inside the loop" in blocks[0]
    assert "help: Pass the module's flag: `F.dropout(x, p, training=self.training)`" in blocks[1]


def test_full_uses_ansi_colour_only_when_asked(real):
    coloured = render("full", real, ReportContext(color=True))
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == render("full", real, ReportContext(color=False))


def test_full_without_source_still_prints_headline_and_help(tmp_path):
    missing = Finding(str(tmp_path / "gone.py"), 7, 3, "EG005", "`model.eval` is not called", 7, 13)
    out = render("full", [missing], ReportContext(source_lines=lambda path: None))
    assert out.splitlines() == [f"{missing.path}:7:3: EG005 `model.eval` is not called",
                                f"  help: {fix_hint('EG005')}"]
    assert render("full", [missing]) == out  # unreadable file: same


def test_full_reads_notebook_cells(tmp_path):
    nb = write_notebook(tmp_path / "analysis.ipynb")
    out = render("full", [notebook_finding(str(nb))])
    lines = out.splitlines()
    assert lines[0].startswith(f"{nb}:cell 3:line 4:col 13: EG003 ")
    assert lines[1] == "  4 |     probs = model(images).softmax(1)"
    assert lines[2] == "    |             " + "^" * len("model(images)")
    # Cell 1 is markdown and cell 9 does not exist: no excerpt, but the finding is still shown.
    for cell in (1, 9):
        other = Finding(str(nb), 1, 1, "EG005", "m", 1, 2, cell=cell)
        assert render("full", [other]).splitlines() == [
            f"{nb}:cell {cell}:line 1:col 1: EG005 m",
            f"  help: {fix_hint('EG005')}",
        ]


def test_caret_line_edge_cases():
    f = Finding("a.py", 1, 3, "EG004", "m", 1, 6)
    assert caret_line("\tx = F.dropout(h)", f) == "\t ^^^"  # tabs kept so the caret stays aligned
    assert caret_line("é = abcdef", f) == "  ^^^"
    assert caret_line("表 = abc", f) == "   ^^^"  # a wide character takes two cells
    multi = Finding("a.py", 1, 5, "EG008", "m", 3, 2)
    assert caret_line("out(model,", multi) == "    ^^^^^^"  # to the end of the first line
    past = Finding("a.py", 1, 40, "EG000", "m", 1, 40)
    assert caret_line("def f(x)", past) == "        ^"  # past the end: one caret after the text
    empty = Finding("a.py", 2, 1, "EG000", "m", 2, 1)
    assert caret_line("", empty) == "^"


# ------------------------------------------------------------------------------------ github


def test_github_commands_for_real_findings(real):
    out = render("github", real, ReportContext(root=str(ROOT)))
    lines = out.splitlines()
    assert len(lines) == 2
    f = real[0]
    assert lines[0] == (
        f"::error file={EG001_FIXTURE},line={f.line},col={f.column},endLine={f.end_line},"
        f"endColumn={f.end_column},title=EG001 train-step-in-eval-mode::{escape_data(f.message)}"
    )
    assert lines[1].startswith(f"::error file={EG004_FIXTURE},line=32,col=21,endLine=32,endColumn=50,"
                               "title=EG004 functional-dropout-ignores-mode::")


def test_github_escapes_data_and_properties(tmp_path):
    path = tmp_path / "run,1" / "a:b.py"
    f = Finding(str(path), 3, 1, "EG007", "100% wrong:\nline two\r\nend, done", 3, 9)
    (line,) = render("github", [f], ReportContext(root=str(tmp_path))).splitlines()
    assert line == (
        "::error file=run%2C1/a%3Ab.py,line=3,col=1,endLine=3,endColumn=9,title=EG007 bad-mode-argument"
        "::100%25 wrong:%0Aline two%0D%0Aend, done"
    )
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    assert escape_data("a,b:c%\r") == "a,b:c%25%0D"


def test_github_notebook_is_a_file_annotation_with_the_cell_in_the_message(tmp_path):
    nb = notebook_finding(str(tmp_path / "nb.ipynb"))
    (line,) = render("github", [nb], ReportContext(root=str(tmp_path))).splitlines()
    assert line == f"::error file=nb.ipynb,title=EG003 no-grad-without-eval::cell 3, line 4, col 13: {nb.message}"


def test_github_end_position_never_before_start():
    f = Finding("a.py", 5, 9, "EG000", "invalid syntax", 0, 0)
    (line,) = render("github", [f]).splitlines()
    assert "line=5,col=9,endLine=5,endColumn=9," in line


# ------------------------------------------------------------------------------------ sarif


def sarif(findings, root=ROOT, **kwargs) -> dict:
    return json.loads(render("sarif", findings, ReportContext(root=str(root), **kwargs)))


def validate(log: dict) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


@pytest.fixture
def mixed(real, tmp_path):
    """Real findings; then, outside the root (tmp_path), a parse error, a notebook finding and a hand-made one."""
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\n\n\ndef evaluate(model loader):\n    model.eval()\n", encoding="utf-8")
    (eg000,) = check_paths([str(broken)]).findings
    assert eg000.code == "EG000"
    nb = write_notebook(tmp_path / "nb.ipynb")
    outside = Finding(str(tmp_path / "elsewhere.py"), 2, 1, "EG006", "`m.training = False`", 2, 19)
    return real + [eg000, notebook_finding(str(nb)), outside]


def test_sarif_validates_against_the_official_schema(mixed):
    validate(sarif(mixed))
    validate(sarif([]))


def test_sarif_has_what_github_code_scanning_needs(mixed):
    log = sarif(mixed)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "evalguard" and driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    for rule in rules:
        code = rule["id"]
        assert rule["name"] == RULES[code].name
        assert rule["shortDescription"]["text"] == RULES[code].summary
        assert rule["fullDescription"]["text"] == first_paragraph(code)
        assert rule["help"]["text"] == rule["help"]["markdown"] == rule_page(code)
        assert rule["helpUri"] == f"https://github.com/evalguard/evalguard/blob/main/rules/{code}.md"
        assert rule["defaultConfiguration"]["level"] == "error"
    assert rules[1]["fullDescription"]["text"].startswith("Flags a training step (a forward pass whose loss")
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": ROOT.as_uri() + "/"}}
    assert run["columnKind"] == "unicodeCodePoints"

    results = run["results"]
    assert len(results) == len(mixed)
    for f, result in zip(mixed, results):
        assert result["ruleId"] == f.code
        assert rules[result["ruleIndex"]]["id"] == f.code
        assert result["level"] == "error"
        assert result["message"]["text"] == f.message
        (loc,) = result["locations"]
        region = loc["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (f.line, f.column)
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])
        assert region["endLine"] >= region["startLine"]
        assert set(result["partialFingerprints"]) == {FINGERPRINT_KEY}
    real_eg001 = results[0]["locations"][0]["physicalLocation"]
    assert real_eg001["artifactLocation"] == {"uri": EG001_FIXTURE, "uriBaseId": "%SRCROOT%"}
    assert real_eg001["region"] == {"startLine": 69, "startColumn": 18, "endLine": 69, "endColumn": 29}
    eg000 = results[2]
    assert eg000["ruleId"] == "EG000" and eg000["level"] == "error" and eg000["ruleIndex"] == 0
    nb = results[3]
    assert nb["properties"] == {"cell": 3}
    assert nb["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert all("properties" not in r for i, r in enumerate(results) if i != 3)
    # Outside the root: an absolute file URI, no base id.
    outside = results[4]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert outside["uri"].startswith("file:///") and "uriBaseId" not in outside


def test_sarif_uris_are_relative_to_root_with_forward_slashes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = Finding("src/my pkg/train.py", 1, 1, "EG005", "m", 1, 11)
    log = sarif([f], root=tmp_path)
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "src/my%20pkg/train.py", "uriBaseId": "%SRCROOT%"}
    # A root above the current directory keeps the directories in between.
    log = sarif([f], root=tmp_path.parent)
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == f"{tmp_path.name}/src/my%20pkg/train.py"


def fingerprints(log: dict) -> list[str]:
    return [r["partialFingerprints"][FINGERPRINT_KEY] for r in log["runs"][0]["results"]]


def test_fingerprints_are_stable_across_runs_and_differ_between_findings(mixed, in_root):
    first = fingerprints(sarif(mixed))
    again = fingerprints(sarif(check_paths([EG001_FIXTURE, EG004_FIXTURE]).findings + mixed[2:]))
    assert first == again
    assert len(set(first)) == len(first)
    assert all(re.fullmatch(r"[0-9a-f]{32}:\d+", fp) for fp in first)


def test_fingerprints_survive_lines_moving_but_not_a_changed_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / EG001_FIXTURE, tmp_path / "train.py")
    (before,) = check_paths(["train.py"]).findings
    fp_before = fingerprints(sarif([before], root=tmp_path))
    source = (tmp_path / "train.py").read_text(encoding="utf-8")
    (tmp_path / "train.py").write_text("# a new header comment\n\n" + source, encoding="utf-8")
    (moved,) = check_paths(["train.py"]).findings
    assert moved.line == before.line + 2 and moved.message != before.message  # message names line numbers
    assert fingerprints(sarif([moved], root=tmp_path)) == fp_before
    # Same finding, different source text on its line: a different fingerprint.
    (tmp_path / "train.py").write_text(source.replace("output = model(data)", "logits = model(data)"), "utf-8")
    (edited,) = check_paths(["train.py"]).findings
    assert fingerprints(sarif([edited], root=tmp_path)) != fp_before


def test_identical_findings_get_distinct_fingerprints(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("x = F.dropout(h, p)\nx = F.dropout(h, p)\n", encoding="utf-8")
    twins = [Finding(str(src), n, 5, "EG004", "`F.dropout(...)` without `training=`", n, 19) for n in (1, 2)]
    a, b = fingerprints(sarif(twins, root=tmp_path))
    assert a.split(":")[0] == b.split(":")[0] and (a.endswith(":1"), b.endswith(":2")) == (True, True)


# ------------------------------------------------------------------------------------ rule pages


def test_rule_pages_are_the_rules_folder_pages():
    rule_page.cache_clear()
    for code in RULES:
        assert rule_page(code) == (ROOT / "rules" / f"{code}.md").read_text(encoding="utf-8")
    assert rule_page("EG999") is None
    assert rule_page("../README") is None


def test_page_pieces():
    assert first_paragraph("EG005").startswith("Flags `model.eval` or `model.train` written as a statement")
    assert "\n" not in first_paragraph("EG001")
    assert fix_hint("EG005") == "Add the parentheses: `model.eval()`, `model.train()`, `trainer.train()`."
    # The page's "(here, ...)" aside about its own example is left out.
    assert fix_hint("EG000") == "Fix the syntax error at or just before the reported position."
    assert all(fix_hint(code) for code in RULES)
    assert first_sentence("Use e.g. `x.eval()`. Then go.") == "Use e.g. `x.eval()`."
    assert first_sentence("Call `a. B` now (see b. C). Next.") == "Call `a. B` now (see b. C)."
    assert first_sentence("no full stop") == "no full stop"
