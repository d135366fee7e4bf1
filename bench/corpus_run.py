"""Corpus run (opt-in, not part of the test suite): evalguard on pinned real ML packages.

    python bench/corpus_run.py [--packages ultralytics==8.4.190 timm==1.0.31 ...]

Downloads the sdists with pip into bench/_corpus/ (ignored by git), then for each tree:
runs `evalguard check` and asserts no internal error and no EG000 on a file CPython parses; runs
`--fix` on a copy and asserts every fixed file still parses and a second `--fix` changes nothing.
Prints one row per package: files, lines, seconds, findings by code, fixed files.
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sdists import DEFAULT, HERE, fetch  # noqa: E402


def evalguard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalguard", "check", *args], capture_output=True, text=True)


def run(tree: Path) -> dict:
    files = [p for p in tree.rglob("*.py")]
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    start = time.perf_counter()
    result = evalguard(str(tree), "--output-format", "json")
    seconds = time.perf_counter() - start
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert "internal error" not in result.stderr, result.stderr[-2000:]
    findings = json.loads(result.stdout)
    for f in findings:
        if f["code"] == "EG000" and f["path"].endswith(".py"):
            try:
                ast.parse(Path(f["path"]).read_bytes())
            except SyntaxError:
                continue
            raise AssertionError(f"EG000 on a file CPython parses: {f['path']}: {f['message']}")
    copy = tree.with_name(tree.name + "-fixed")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(tree, copy)
    fix = evalguard(str(copy), "--fix")
    assert "internal error" not in fix.stderr, fix.stderr[-2000:]
    changed = [p for p in copy.rglob("*.py") if p.read_bytes() != (tree / p.relative_to(copy)).read_bytes()]
    for path in changed:
        ast.parse(path.read_bytes())
    snapshot = {p: p.read_bytes() for p in changed}
    evalguard(str(copy), "--fix")
    assert all(p.read_bytes() == data for p, data in snapshot.items()), "a second --fix changed files"
    shutil.rmtree(copy)
    return {
        "tree": tree.name,
        "files": len(files),
        "lines": lines,
        "seconds": round(seconds, 2),
        "findings": dict(collections.Counter(f["code"] for f in findings)),
        "fixed_files": len(changed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    os.chdir(HERE.parent)
    for spec in args.packages:
        print(json.dumps(run(fetch(spec))), flush=True)


if __name__ == "__main__":
    main()
