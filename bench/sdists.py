"""Pinned PyPI sdists used as a corpus by bench/corpus_run.py and bench/compare_peers.py.

`fetch("name==version")` returns the extracted source tree under bench/_corpus/ (ignored by git),
reusing an already extracted copy; otherwise it downloads the sdist with
`pip download --no-deps --no-binary :all:` and extracts it there.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "_corpus"
DEFAULT = ["ultralytics==8.4.190", "timm==1.0.31", "lightning==2.6.6", "transformers==5.23.0"]


def fetch(spec: str) -> Path:
    """The extracted tree of `spec` ("name==version") under bench/_corpus/, downloading it if absent."""
    name, version = spec.split("==")
    prefixes = tuple({f"{name}-{version}".lower(), f"{name.replace('-', '_')}-{version}".lower()})
    for candidate in sorted(CORPUS.glob("*")):
        if candidate.is_dir() and candidate.name.lower().startswith(prefixes):
            return candidate
    CORPUS.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", str(CORPUS), spec],
        check=True,
    )
    archive = next(
        p
        for p in sorted(CORPUS.iterdir())
        if p.is_file() and p.name.lower().startswith(prefixes) and p.name.endswith((".tar.gz", ".tgz", ".zip"))
    )
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(CORPUS)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(CORPUS, filter="data")
    return next(p for p in sorted(CORPUS.iterdir()) if p.is_dir() and p.name.lower().startswith(prefixes))
