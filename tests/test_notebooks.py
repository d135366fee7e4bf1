"""Jupyter notebooks: cells joined into one Python text, IPython syntax neutralised without moving any
line or column, positions mapped back to (cell, line in cell), malformed files refused, and the
notebook fixtures checked end to end against their `.expected` sidecars."""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from evalguard.findings import Finding
from evalguard.parsing.notebook import (
    NotebookError,
    NotebookSource,
    convert_cell,
    map_finding,
    notebook_source,
)
from evalguard.parsing.source import facts_from_source
from evalguard.pipeline import check_modules

NOTEBOOKS = sorted((FIXTURES / "notebooks").glob("*.ipynb"))
EXPECTED_LINE = re.compile(r"cell (\d+) line (\d+) (EG\d{3})")


def make_notebook(*cells: tuple[str, str | list[str]], metadata: dict | None = None) -> bytes:
    """(cell_type, source) pairs -> .ipynb bytes (nbformat 4)."""
    body = []
    for kind, source in cells:
        cell: dict = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        body.append(cell)
    doc = {"cells": body, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc).encode()


def converted(source: str) -> list[str]:
    lines, _ = convert_cell(source.split("\n"))
    return lines


def parses(lines: list[str]) -> bool:
    try:
        ast.parse("\n".join(lines) + "\n")
    except SyntaxError:
        return False
    return True


def check_notebook(data: bytes, path: str, module_name: str = "nb-ipynb") -> tuple[list[Finding], NotebookSource]:
    nb = notebook_source(data)
    facts = facts_from_source(nb.text, path, module_name)
    result = check_modules([facts])
    assert result.errors == []
    return [map_finding(f, nb) for f in result.findings], nb


# ---------------------------------------------------------------------------- joining cells


def test_code_cells_are_joined_in_order_and_numbered_like_the_notebook():
    data = make_notebook(
        ("markdown", "# Title"),
        ("code", ["import torch\n", "x = 1"]),
        ("raw", "raw text"),
        ("code", "y = 2\nz = 3"),
        ("markdown", ["more\n", "prose"]),
        ("code", "w = 4"),
    )
    nb = notebook_source(data)
    assert nb.text == "import torch\nx = 1\ny = 2\nz = 3\nw = 4\n"
    # Cells count markdown and raw ones: the code cells are cells 2, 4 and 6.
    assert [(s.number, s.first_line, s.line_count) for s in nb.cells] == [(2, 1, 2), (4, 3, 2), (6, 5, 1)]
    positions = [nb.to_cell_position(line) for line in range(1, 6)]
    assert positions == [(2, 1), (2, 2), (4, 1), (4, 2), (6, 1)]


def test_every_line_maps_to_a_cell_and_back():
    data = make_notebook(
        ("code", "a = 1\n\nb = 2\n"),  # trailing newline: the cell's empty last line counts
        ("markdown", "text"),
        ("code", ""),  # empty code cell: one empty line
        ("code", ["if a:\n", "    b = 3\n", "else:\n", "    b = 4"]),
    )
    nb = notebook_source(data)
    lines = nb.text.split("\n")
    assert lines[-1] == ""
    total = len(lines) - 1
    assert total == sum(s.line_count for s in nb.cells)
    for line in range(1, total + 1):
        cell, in_cell = nb.to_cell_position(line)
        assert nb.to_text_line(cell, in_cell) == line
        assert lines[line - 1] == (nb.cell_lines(cell) or ())[in_cell - 1]
    assert nb.to_cell_position(3) == (1, 3)
    assert nb.to_cell_position(5) == (3, 1)
    assert nb.to_cell_position(6) == (4, 1)


def test_cells_never_share_a_line():
    # The first cell does not end with a newline; joined naively, `x = 1y = 2` would be one line.
    nb = notebook_source(make_notebook(("code", ["x = 1"]), ("code", ["y = 2"])))
    assert nb.text == "x = 1\ny = 2\n"
    assert ast.parse(nb.text)


def test_source_as_string_or_list_gives_the_same_text():
    as_list = notebook_source(make_notebook(("code", ["import os\n", "print(os.sep)\n", "x = 1"])))
    as_str = notebook_source(make_notebook(("code", "import os\nprint(os.sep)\nx = 1")))
    assert as_list.text == as_str.text
    assert as_list.cells == as_str.cells


def test_crlf_and_cr_line_endings_count_as_one_line_break():
    nb = notebook_source(make_notebook(("code", "a = 1\r\nb = 2\rc = 3")))
    assert nb.text == "a = 1\nb = 2\nc = 3\n"
    assert nb.to_cell_position(3) == (1, 3)


def test_lines_past_the_end_are_clamped():
    nb = notebook_source(make_notebook(("markdown", "m"), ("code", "x = (")))
    assert nb.to_cell_position(0) == (2, 1)
    assert nb.to_cell_position(99) == (2, 1)
    assert notebook_source(make_notebook(("markdown", "only prose"))).to_cell_position(1) == (1, 1)


def test_bytes_with_a_bom_and_text_input_are_accepted():
    data = make_notebook(("code", "x = 1"))
    assert notebook_source(b"\xef\xbb\xbf" + data).text == "x = 1\n"
    assert notebook_source(data.decode()).text == "x = 1\n"


# ---------------------------------------------------------------------------- IPython syntax


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("!pip install x", ["pass  # !pip install x"]),
        ("%matplotlib inline\nimport torch", ["pass  # %matplotlib inline", "import torch"]),
        ("x = !ls", ["x = None  # !ls"]),
        ("files = !ls {path} | head", ["files = None  # !ls {path} | head"]),
        ("d['k'] = !ls", ["d['k'] = None  # !ls"]),
        ("out = %sx ls", ["out = None  # %sx ls"]),
        ("r = %timeit -o f()", ["r = None  # %timeit -o f()"]),
        ("model?", ["pass  # model?"]),
        ("model.forward??", ["pass  # model.forward??"]),
        ("?model", ["pass  # ?model"]),
        ("!!ls", ["pass  # !!ls"]),
        ("for i in range(3):\n    !echo hi", ["for i in range(3):", "    pass  # !echo hi"]),
        (
            "if gpu:\n    %env CUDA_VISIBLE_DEVICES=0\n    !nvidia-smi\nelse:\n    %env CUDA_VISIBLE_DEVICES=",
            [
                "if gpu:",
                "    pass  # %env CUDA_VISIBLE_DEVICES=0",
                "    pass  # !nvidia-smi",
                "else:",
                "    pass  # %env CUDA_VISIBLE_DEVICES=",
            ],
        ),
        ("def f():\n    model?\n    return 1", ["def f():", "    pass  # model?", "    return 1"]),
        ("!pip install a \\\n    b\nx = 1", ["pass  # !pip install a \\", "    # b", "x = 1"]),
        ("%bash echo 'unbalanced (", ["pass  # %bash echo 'unbalanced ("]),
    ],
)
def test_magics_and_shell_escapes_are_neutralised(source, expected):
    out = converted(source)
    assert out == expected
    assert parses(out)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # The statement after %time / %timeit runs: it stays, at its own column.
        ("%time train(model)", ["pass; train(model)"]),
        ("%timeit -n 10 -r 3 model(x)", ["pass;              model(x)"]),
        ("with torch.no_grad():\n    %timeit model(x)", ["with torch.no_grad():", "    pass;   model(x)"]),
        ("for e in range(3):\n    %time loss = step()", ["for e in range(3):", "    pass; loss = step()"]),
        ("x = %time f()", ["x =       f()"]),
        # A compound statement cannot follow `pass;`: the line is dropped.
        ("%time for i in r: f()", ["pass  # %time for i in r: f()"]),
    ],
)
def test_timed_statements_are_kept(source, expected):
    out = converted(source)
    assert out == expected
    assert parses(out)
    for before, after in zip(source.split("\n"), out):
        for token in ("train(model)", "model(x)", "loss = step()", "f()"):
            if token in before and not after.lstrip().startswith("pass  #"):
                assert after.index(token) == before.index(token)


def test_time_cell_magic_keeps_its_body():
    out = converted("%%time\nmodel.train()\nfor x, y in loader:\n    loss = model(x).sum()\n    !nvidia-smi")
    assert out == [
        "# %%time",
        "model.train()",
        "for x, y in loader:",
        "    loss = model(x).sum()",
        "    pass  # !nvidia-smi",
    ]
    assert parses(out)


def test_cell_magic_after_blank_lines_is_still_a_cell_magic():
    assert converted("\n%%time\nx = 1") == ["", "# %%time", "x = 1"]


def test_other_cell_magics_become_comments():
    out = converted("%%bash\nls -l\necho 'it\\'s\n  python -c 'x = (1,'")
    assert out == ["# %%bash", "# ls -l", "# echo 'it\\'s", "  # python -c 'x = (1,'"]
    assert parses(out)
    assert converted("%%writefile train.py\ndef f(:\n    pass") == ["# %%writefile train.py", "# def f(:", "    # pass"]


def test_percent_after_a_comment_line_is_a_line_magic():
    # IPython only treats `%%` on the first line as a cell magic; later it is a line magic.
    assert converted("# setup\n%%time\nx = 1") == ["# setup", "pass  # %%time", "x = 1"]


@pytest.mark.parametrize(
    "source",
    [
        's = ("value: %d"\n     % x)',
        "t = 1 + \\\n    2\nu = t",
        'doc = """\n!not a shell escape\n%not a magic\nwhat?\n"""',
        "x = 1  # why?",
        "print('?')",
        "ok = a != b\nsame = a == b\nb += 1",
        "label = f'{x!r}'",
        "a = b = 1",
        "x = 'it''s' if y else \"z\"",
    ],
)
def test_plain_python_is_left_alone(source):
    assert converted(source) == source.split("\n")


def test_indented_cell_is_dedented_and_columns_are_recorded():
    nb = notebook_source(make_notebook(("code", "x = 1"), ("code", "    y = model(x)\n    if y:\n        z = 2")))
    assert nb.text == "x = 1\ny = model(x)\nif y:\n    z = 2\n"
    assert nb.column_shift == {2: 4, 3: 4, 4: 4}
    assert ast.parse(nb.text)


def test_line_counts_never_change():
    sources = [
        "%%time\n\n%time f()\n!ls \\\n  -l\nx = !ls\nmodel?",
        "%%bash\na\nb\n",
        "  indented = 1\n  more = 2\n",
        "",
    ]
    for source in sources:
        assert len(converted(source)) == len(source.split("\n"))


def test_non_python_notebooks_and_cells_are_never_parsed_as_python():
    r_notebook = make_notebook(
        ("code", "library(ggplot2)\ndf <- read.csv('x.csv')"),
        metadata={"kernelspec": {"language": "R", "name": "ir"}},
    )
    nb = notebook_source(r_notebook)
    assert nb.language == "r" and not nb.is_python
    assert nb.text == "# library(ggplot2)\n# df <- read.csv('x.csv')\n"
    findings, _ = check_notebook(r_notebook, "analysis.ipynb")
    assert findings == []

    mixed = json.loads(make_notebook(("code", "x = 1"), ("code", "SELECT * FROM t")))
    mixed["cells"][1]["metadata"] = {"vscode": {"languageId": "sql"}}
    nb = notebook_source(json.dumps(mixed).encode())
    assert nb.is_python
    assert nb.text == "x = 1\n# SELECT * FROM t\n"


# ---------------------------------------------------------------------------- malformed notebooks


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"import torch\n", "invalid JSON"),
        (b'{"cells": [', "invalid JSON"),
        (b"\xff\xfe\x00garbage", "not a valid notebook"),
        (b"[1, 2]", "not an object"),
        (b'{"metadata": {}, "nbformat": 4}', "no `cells`"),
        (b'{"worksheets": [{"cells": []}], "nbformat": 3}', "nbformat 3 is not supported"),
        (b'{"cells": {"0": {}}}', "not a list"),
        (b'{"cells": ["x = 1"]}', "cell 1 is not a JSON object"),
        (b'{"cells": [{"cell_type": "code", "source": 42}]}', "cell 1 has a `source`"),
        (b'{"cells": [{"cell_type": "markdown", "source": "ok"}, {"cell_type": "code", "source": [1]}]}', "cell 2"),
        (b'{"cells": [{"cell_type": "code"}]}', "cell 1 has a `source`"),
    ],
)
def test_malformed_notebooks_raise_notebook_error(data, message):
    with pytest.raises(NotebookError, match=re.escape(message)) as info:
        notebook_source(data)
    assert str(info.value).startswith("not a valid notebook")


def test_syntax_error_in_a_cell_is_eg000_at_that_cell():
    data = make_notebook(("markdown", "# broken"), ("code", "import torch"), ("code", "x = 1\ndef f(:\n    pass"))
    findings, _ = check_notebook(data, "broken.ipynb")
    assert [(f.code, f.cell, f.line) for f in findings] == [("EG000", 3, 2)]
    assert findings[0].message.startswith("SyntaxError")


# ---------------------------------------------------------------------------- mapping findings


def test_map_finding_converts_positions_and_drops_the_fix():
    nb = notebook_source(make_notebook(("markdown", "m"), ("code", "a = 1\nb = 2"), ("code", "c = 3\nd = model(c)")))
    finding = Finding("nb.ipynb", 4, 5, "EG002", "message", 4, 13, fix=object())
    mapped = map_finding(finding, nb)
    assert (mapped.cell, mapped.line, mapped.column, mapped.end_line, mapped.end_column) == (3, 2, 5, 2, 13)
    assert mapped.fix is None
    assert (mapped.path, mapped.code, mapped.message) == ("nb.ipynb", "EG002", "message")
    assert map_finding(mapped, nb) is mapped  # already mapped: unchanged
    assert finding.cell == 0 and finding.line == 4  # the original is untouched


def test_map_finding_adds_back_the_dedented_columns():
    nb = notebook_source(make_notebook(("code", "x = 1"), ("code", "  y = model(x)")))
    mapped = map_finding(Finding("nb.ipynb", 2, 5, "EG002", "m", 2, 13), nb)
    assert (mapped.cell, mapped.line, mapped.column, mapped.end_column) == (2, 1, 7, 15)
    assert nb.cell_lines(2)[0][mapped.column - 1 : mapped.end_column - 1] == "model(x)"


def test_map_finding_keeps_the_end_inside_the_cell():
    nb = notebook_source(make_notebook(("code", "x = (\n  1,"), ("code", "y = 2")))
    mapped = map_finding(Finding("nb.ipynb", 1, 5, "EG000", "m", 3, 6), nb)
    assert (mapped.cell, mapped.line, mapped.end_line, mapped.end_column) == (1, 1, 2, 5)


def test_map_finding_rewrites_locations_of_this_notebook_in_the_message(in_root):
    nb = notebook_source(make_notebook(("code", "a = 1\nb = 2"), ("markdown", "m"), ("code", "c = 3\nd = 4")))
    path = "fixtures/notebooks/x.ipynb"
    message = f"`f()` ({path}:4), through `m.eval()` ({path}:1); see other/{path}:2 and utils.py:3"
    mapped = map_finding(Finding(path, 3, 1, "EG001", message, 3, 2), nb)
    assert mapped.message == (
        f"`f()` ({path}:cell 3:line 2), through `m.eval()` ({path}:cell 1:line 1); see other/{path}:2 and utils.py:3"
    )
    # Rules cite paths relative to the current directory; an absolute finding path still matches.
    absolute = str(ROOT / path)
    mapped = map_finding(Finding(absolute, 3, 1, "EG001", f"x ({path}:4)", 3, 2), nb)
    assert mapped.message == f"x ({path}:cell 3:line 2)"


# ---------------------------------------------------------------------------- fixtures end to end


def expected_findings(notebook: Path) -> set[tuple[int, int, str]]:
    sidecar = notebook.with_suffix(".expected")
    out = set()
    for raw in sidecar.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            match = EXPECTED_LINE.fullmatch(raw.strip())
            assert match, f"{sidecar.name}: bad line {raw!r} (want `cell N line M CODE`)"
            out.add((int(match.group(1)), int(match.group(2)), match.group(3)))
    return out


def module_name_for_notebook(path: Path) -> str:
    # Not importable and never equal to a sibling .py module's name.
    return path.stem + "-ipynb"


def test_notebook_fixtures_exist_with_sidecars():
    assert len(NOTEBOOKS) >= 3
    assert any(p.stem.endswith("_bug") for p in NOTEBOOKS)
    assert any(p.stem.endswith("_ok") for p in NOTEBOOKS)
    for path in NOTEBOOKS:
        assert path.with_suffix(".expected").is_file(), path.name
        assert bool(expected_findings(path)) == path.stem.endswith("_bug"), path.name
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["nbformat"] == 4
        kinds = {cell["cell_type"] for cell in doc["cells"]}
        assert {"markdown", "code"} <= kinds, path.name
        code = "".join("".join(c["source"]) for c in doc["cells"] if c["cell_type"] == "code")
        assert "%" in code and "!" in code, f"{path.name}: fixtures exercise magics and shell escapes"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_fixture(path, in_root):
    rel = os.path.normpath(str(path.relative_to(ROOT)))
    findings, nb = check_notebook(path.read_bytes(), rel, module_name_for_notebook(path))
    assert {(f.cell, f.line, f.code) for f in findings} == expected_findings(path)
    for f in findings:
        assert f.path == rel and f.fix is None
        # The reported line is a real line of that code cell, and the column points into it.
        cell_lines = nb.cell_lines(f.cell)
        assert cell_lines is not None and 1 <= f.line <= len(cell_lines)
        assert 1 <= f.column <= len(cell_lines[f.line - 1])
        # Cross-cell locations in the message are cell positions too, never lines of the joined text.
        assert not re.search(re.escape(rel) + r":\d", f.message), f.message


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_fixture_front_ends_agree(path):
    nb = notebook_source(path.read_bytes())
    via_ast = facts_from_source(nb.text, str(path), "m", frontend="ast")
    via_cst = facts_from_source(nb.text, str(path), "m", frontend="libcst")
    assert via_ast.failure is None and via_cst.failure is None
    assert via_ast.functions == via_cst.functions
    assert via_ast.classes == via_cst.classes


def test_eg001_fixture_message_points_at_the_cells_involved(in_root):
    path = FIXTURES / "notebooks" / "eg001_cifar_periodic_eval_bug.ipynb"
    rel = str(path.relative_to(ROOT))
    findings, _ = check_notebook(path.read_bytes(), rel, module_name_for_notebook(path))
    (finding,) = findings
    # `evaluate()` is called in the training cell (11) and defined, with its `model.eval()`, in cell 9.
    assert f"`evaluate()` ({rel}:cell 11:line 13)" in finding.message
    assert f"`model.eval()` ({rel}:cell 9:line 2)" in finding.message


def test_ok_fixture_is_ok_because_of_the_train_call_in_the_loop(in_root):
    """Dropping `model.train()` from the ok notebook's loop brings the EG001 back."""
    path = FIXTURES / "notebooks" / "eg001_mnist_periodic_eval_ok.ipynb"
    doc = json.loads(path.read_text(encoding="utf-8"))
    loop = next(i for i, c in enumerate(doc["cells"]) if "".join(c["source"]).startswith("%%time"))
    source = doc["cells"][loop]["source"]
    doc["cells"][loop]["source"] = [line.replace("model.train()", "pass") for line in source]
    findings, _ = check_notebook(json.dumps(doc).encode(), "mutated.ipynb")
    forward_line = next(n for n, line in enumerate(source, 1) if "model(data)" in line)
    assert {(f.cell, f.line, f.code) for f in findings} == {(loop + 1, forward_line, "EG001")}
