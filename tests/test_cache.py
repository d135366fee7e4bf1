"""The persistent cache and worker processes never change results: same findings cold, warm,
after edits (also of imported files that were not given), with corrupt entries, with several
concurrent runs, and with any --jobs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalguard.cache import Cache
from evalguard.cli import main
from evalguard.discovery.files import discover
from evalguard.pipeline import check_files

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

TRAIN = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn
    from helpers import validate


    def main():
        model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.train()
        for step in range(100):
            x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 10 == 0:
                validate(model)
    """
)
HELPERS_BUG = "def validate(model):\n    model.eval()\n    return 0\n"
HELPERS_OK = "def validate(model):\n    model.eval()\n    model.train()\n    return 0\n"


def run(args: list[str], cwd: Path) -> tuple[int, list[dict]]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, ["check", "--output-format", "json", *args])
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def codes(findings: list[dict]) -> list[tuple[str, str, int]]:
    return [(f["path"], f["code"], f["line"]) for f in findings]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "helpers.py").write_text(HELPERS_BUG)
    return tmp_path


def test_warm_run_gives_the_cold_findings_and_writes_a_tagged_cache(project: Path) -> None:
    cold = run(["train.py", "helpers.py"], project)
    assert codes(cold[1]) == [("train.py", "EG001", 12)]
    cache = project / ".evalguard_cache"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache / ".gitignore").read_text().strip().endswith("*")
    assert run(["train.py", "helpers.py"], project) == cold


def test_no_cache_writes_nothing(project: Path) -> None:
    run(["--no-cache", "train.py"], project)
    assert not (project / ".evalguard_cache").exists()


def test_cache_dir_option(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("cache") / "c"
    run(["--cache-dir", str(elsewhere), "train.py"], project)
    assert (elsewhere / "CACHEDIR.TAG").exists()
    assert not (project / ".evalguard_cache").exists()


def test_editing_a_checked_file_changes_the_answer(project: Path) -> None:
    assert codes(run(["."], project)[1]) == [("train.py", "EG001", 12)]
    (project / "helpers.py").write_text(HELPERS_OK)
    assert run(["."], project) == (0, [])


def test_editing_an_imported_file_that_was_not_given_changes_the_answer(project: Path) -> None:
    # pre-commit passes only the changed files; helpers.py is read as context for train.py.
    assert codes(run(["train.py"], project)[1]) == [("train.py", "EG001", 12)]
    (project / "helpers.py").write_text(HELPERS_OK)
    assert run(["train.py"], project) == (0, [])
    (project / "helpers.py").write_text(HELPERS_BUG)
    assert codes(run(["train.py"], project)[1]) == [("train.py", "EG001", 12)]


def test_settings_are_part_of_the_key(project: Path) -> None:
    assert codes(run(["."], project)[1]) == [("train.py", "EG001", 12)]
    assert run(["--select", "EG003", "."], project) == (0, [])
    assert codes(run(["."], project)[1]) == [("train.py", "EG001", 12)]


def test_corrupt_entries_are_recomputed_never_trusted(project: Path) -> None:
    cold = run(["."], project)
    entries = list((project / ".evalguard_cache").rglob("*.pkl"))
    assert len(entries) >= 3  # two files' facts and one run result
    for i, entry in enumerate(entries):
        entry.write_bytes([b"", b"\x80\x05garbage", b"not a pickle at all"][i % 3])
    assert run(["."], project) == cold
    assert run(["."], project) == cold


def test_foreign_objects_in_the_cache_are_ignored(project: Path) -> None:
    import pickle

    cold = run(["."], project)
    for entry in (project / ".evalguard_cache").rglob("*.pkl"):
        entry.write_bytes(pickle.dumps({"unexpected": "shape"}))
    assert run(["."], project) == cold


def test_an_unwritable_cache_directory_is_a_note_not_a_failure(project: Path, tmp_path_factory) -> None:
    blocker = tmp_path_factory.mktemp("ro") / "file"
    blocker.write_text("a file where the cache directory should be")
    old = os.getcwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(main, ["check", "--cache-dir", str(blocker / "sub"), "train.py"])
    finally:
        os.chdir(old)
    assert result.exit_code == 1
    assert "EG001" in result.stdout
    assert "cache disabled" in result.stderr


def test_concurrent_runs_share_one_cache_safely(project: Path) -> None:
    cmd = [sys.executable, "-m", "evalguard", "check", "--output-format", "json", "."]
    procs = [subprocess.Popen(cmd, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [1, 1, 1, 1], [o[1] for o in outs]
    assert len({o[0] for o in outs}) == 1
    assert not list((project / ".evalguard_cache").rglob(".tmp-*"))


def _fixture_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, tree, ignore=shutil.ignore_patterns("__pycache__", "*.expected"))
    return tree


def test_fixture_tree_findings_identical_without_cache_cold_warm_and_with_workers(tmp_path: Path) -> None:
    tree = _fixture_tree(tmp_path)
    files = discover([str(tree)])
    reference = check_files(files)
    assert reference.findings and not reference.errors
    cache = Cache(str(tmp_path / "cache"))
    for jobs in (1, 2, 3):
        cold = check_files(files, cache=Cache(str(tmp_path / f"cold{jobs}")), jobs=jobs)
        assert cold.findings == reference.findings, jobs
    assert check_files(files, cache=cache, jobs=2).findings == reference.findings
    # Facts from the cache but a fresh whole-run analysis (results namespace emptied).
    shutil.rmtree(cache.base + "/results")
    assert check_files(files, cache=cache).findings == reference.findings
    warm = check_files(files, cache=cache)
    assert warm.findings == reference.findings and warm.files_checked == reference.files_checked


def _claimed(cache):
    from evalguard import pipeline

    return list(pipeline._claims or ())


def test_parse_claims_hand_every_file_to_exactly_one_process() -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from evalguard.pipeline import _adopt_claims, _Claims

    todo = [(None, b"x" * size, None) for size in [120, 9000, 40, 30000, 700, 5000, 2500, 64] * 40]
    context = multiprocessing.get_context("fork")
    claims = _Claims(todo, context)
    with ProcessPoolExecutor(2, mp_context=context, initializer=_adopt_claims, initargs=(claims,)) as pool:
        futures = [pool.submit(_claimed, None) for _ in range(2)]
        mine = list(claims)
        theirs = [i for f in futures for i in f.result()]
    assert sorted(mine + theirs) == list(range(len(todo)))
    # Largest first: what is left at the end is small, so no process waits long for another.
    assert len(todo[claims.order[0]][1]) == 30000 and len(todo[claims.order[-1]][1]) == 40


def _die(cache):
    from evalguard import pipeline

    claimed = iter(pipeline._claims or ())
    for _ in range(3):  # take some files, then die before handing their facts back
        next(claimed, None)
    os._exit(9)


def test_a_worker_that_dies_has_its_files_parsed_here(tmp_path: Path, monkeypatch) -> None:
    import evalguard.pipeline as pipeline

    files = discover([str(_fixture_tree(tmp_path))])
    reference = check_files(files)
    # Forked workers inherit the patch: each dies at once, as if killed for memory.
    monkeypatch.setattr(pipeline, "_parse_claimed", _die)
    again = check_files(files, jobs=3)
    assert again.findings == reference.findings and not again.errors


def test_a_run_restores_the_callers_garbage_collector_settings() -> None:
    import gc

    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        check_files(discover([str(FIXTURES)]), jobs=2)
        assert gc.get_threshold() == (700, 10, 10)
        assert gc.get_freeze_count() == 0
        assert gc.isenabled()
        gc.disable()
        check_files(discover([str(FIXTURES)]), jobs=1)
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.set_threshold(*before)


def test_fixes_survive_the_result_cache(tmp_path: Path) -> None:
    tree = _fixture_tree(tmp_path)
    files = discover([str(tree)])
    cache = Cache(str(tmp_path / "cache"))
    first = check_files(files, cache=cache)
    again = check_files(files, cache=cache)
    assert [f.fix for f in again.findings] == [f.fix for f in first.findings]
    assert any(f.fix is not None for f in again.findings)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".evalguard_cache" not in p.parts and "__pycache__" not in p.parts
    }


def test_check_writes_nothing_but_its_cache(project: Path) -> None:
    before = _snapshot(project)
    run(["."], project)
    run(["."], project)
    assert _snapshot(project) == before
    top = {p.name for p in project.iterdir()}
    assert top == {"train.py", "helpers.py", ".evalguard_cache"}


def test_an_edit_that_keeps_every_fact_reuses_the_last_result_without_analysis(project: Path, monkeypatch) -> None:
    from evalguard import pipeline

    files = discover([str(project)])
    cache = Cache(str(project / ".evalguard_cache"))
    first = check_files(files, cache=cache)
    assert [f.code for f in first.findings] == ["EG001"]
    with (project / "helpers.py").open("a") as handle:
        handle.write("# a comment at the end changes no fact\n")
    monkeypatch.setattr(pipeline, "check_modules", lambda *a, **k: pytest.fail("analysis ran"))
    assert check_files(files, cache=cache).findings == first.findings
    # A real edit is analysed (and changes the answer).
    monkeypatch.undo()
    (project / "helpers.py").write_text(HELPERS_OK)
    assert check_files(files, cache=cache).findings == []
    # Back to the buggy text: the first entry is found again by content.
    (project / "helpers.py").write_text(HELPERS_BUG)
    monkeypatch.setattr(pipeline, "check_modules", lambda *a, **k: pytest.fail("analysis ran"))
    assert check_files(files, cache=cache).findings == first.findings


def test_an_edit_that_moves_code_is_analysed_again(project: Path) -> None:
    files = discover([str(project)])
    cache = Cache(str(project / ".evalguard_cache"))
    assert [f.line for f in check_files(files, cache=cache).findings] == [12]
    (project / "train.py").write_text("# moved down one line\n" + TRAIN)
    assert [f.line for f in check_files(files, cache=cache).findings] == [13]


def test_imported_files_that_were_not_given_are_read_from_the_cache(project: Path, monkeypatch) -> None:
    """Pre-commit passes only the edited file: its imports' facts come from the cache."""
    from evalguard import pipeline

    files = discover([str(project / "train.py")])
    cache = Cache(str(project / ".evalguard_cache"))
    assert [f.code for f in check_files(files, cache=cache).findings] == ["EG001"]
    parsed: list[str] = []
    real = pipeline.parse_source

    def recording(data, path, module_name, errors):
        parsed.append(os.path.basename(path))
        return real(data, path, module_name, errors)

    monkeypatch.setattr(pipeline, "parse_source", recording)
    (project / "train.py").write_text("# moved down one line\n" + TRAIN)
    assert [(f.code, f.line) for f in check_files(files, cache=cache).findings] == [("EG001", 13)]
    assert parsed == ["train.py"]


def _facts_entries(project: Path) -> list[Path]:
    return [p for p in (project / ".evalguard_cache").glob("v*/facts/*/*.pkl")]


def test_facts_of_earlier_edits_are_dropped_past_the_bound(project: Path, monkeypatch) -> None:
    from evalguard import cache as cache_module

    monkeypatch.setattr(cache_module, "MAX_FACTS", 4)
    for i in range(6):  # each edit leaves the file's earlier facts entry behind
        (project / "helpers.py").write_text(HELPERS_BUG + f"\n\ndef extra_{i}():\n    return {i}\n")
        _, findings = run(["."], project)
        assert codes(findings) == [("train.py", "EG001", 12)]
        assert len(_facts_entries(project)) <= 4
    # What was dropped is recomputed, never missed: the answer after a cold start is the same.
    (project / "helpers.py").write_text(HELPERS_OK)
    assert run(["."], project)[1] == []


def test_a_new_version_removes_the_folders_of_other_versions_only(project: Path) -> None:
    cache_dir = project / ".evalguard_cache"
    old = cache_dir / "v0.0.9-3" / "facts" / "ab"
    old.mkdir(parents=True)
    (old / "cdef.pkl").write_bytes(b"stale")
    (cache_dir / "notes").mkdir()
    (cache_dir / "v-not-ours.txt").write_text("kept")
    run(["."], project)
    names = {p.name for p in cache_dir.iterdir()}
    assert "v0.0.9-3" not in names
    assert {"notes", "v-not-ours.txt", "CACHEDIR.TAG", ".gitignore"} <= names
    assert len([n for n in names if n.startswith("v0")]) == 1


def test_verbose_says_how_each_run_used_the_cache(project: Path) -> None:
    """`check --verbose`: a cold run analyses, a repeated one reads the stored result, a run after
    an edit of one file re-analyses only what the edit reaches, and its findings are a cold run's."""

    def verbose(cwd: Path) -> tuple[str, list[dict]]:
        old = os.getcwd()
        os.chdir(cwd)
        try:
            result = CliRunner().invoke(main, ["check", "-v", "--output-format", "json", "train.py", "helpers.py"])
        finally:
            os.chdir(old)
        assert result.exit_code in (0, 1), result.output
        line = next(line for line in result.stderr.splitlines() if line.startswith("analysis: "))
        return line, json.loads(result.stdout)

    line, findings = verbose(project)
    assert line.startswith("analysis: analysed ") and codes(findings) == [("train.py", "EG001", 12)]
    line, _ = verbose(project)
    assert line == "analysis: result from the cache (nothing changed)"
    (project / "helpers.py").write_text(HELPERS_OK)
    line, findings = verbose(project)
    assert line.startswith("analysis: re-analysed ") and "after edits to 1 file" in line
    assert findings == run(["--no-cache", "train.py", "helpers.py"], project)[1] == []
