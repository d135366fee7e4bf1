"""Checking one file still sees what its imports do (pre-commit passes only the changed files)."""

from __future__ import annotations

import os

from evalguard.pipeline import check_paths


def test_single_file_check_reads_imported_helpers(in_root):
    path = "fixtures/projects/eg001_crossfile_from_import_bug/train.py"
    result = check_paths([path])
    assert [(f.path, f.line, f.code) for f in result.findings] == [(os.path.normpath(path), 63, "EG001")]
    assert result.files_checked == 1


def test_module_import_of_sibling_file(in_root):
    path = "fixtures/projects/eg001_engine_module_bug/main.py"
    assert [(f.line, f.code) for f in check_paths([path]).findings] == [(56, "EG001")]


def test_findings_inside_context_files_are_not_reported(in_root):
    # The bug sits in trainer/loops.py; only run.py is checked, so nothing is reported.
    assert check_paths(["fixtures/projects/eg001_helper_crossfile_bug/run.py"]).findings == []


def test_correct_project_stays_clean_file_by_file(in_root):
    root = "fixtures/projects/eg001_crossfile_from_import_ok"
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(".py"):
                assert check_paths([os.path.join(dirpath, name)]).findings == []
