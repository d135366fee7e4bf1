"""Performance benchmark (issue #6): evalguard against TorchFix and ruff on real source trees.

    python bench/compare_peers.py                            # all four trees, 3 runs (TorchFix: 1)
    python bench/compare_peers.py --trees ultralytics --runs 1
    python bench/compare_peers.py --json results.json        # also save every figure

Corpus: the pinned PyPI sdists ultralytics 8.4.190, timm 1.0.31, lightning 2.6.6 and
transformers 5.23.0 (about 1.5 M lines of Python together), fetched with
`pip download --no-deps --no-binary :all:` into bench/_corpus/ (ignored by git; extracted copies
already there are reused). Each tool gets the whole extracted sdist directory.

Peers: TorchFix and ruff, pinned below, installed on first use into their own venv bench/_peers/
(ignored by git) so that their libcst etc. cannot disturb the evalguard environment.

What is timed, all in the same run, is whole-process wall time: from the spawn of the command to
its exit, as seen by its parent (interpreter start-up, file discovery, reading, reporting, worker
shutdown included; evalguard's own bytecode is written first, as pip does at install for every tool); each figure is the median of `--runs` runs (`--peer-runs` for TorchFix,
default 1: it is very slow). Every command gets stdout/stderr redirected to temporary files.

  EG cold     evalguard check TREE --no-cache --output-format json  (default jobs: all cores)
  EG warm     evalguard check TREE --cache-dir bench/_corpus/.cache-NAME --output-format json, after
              one run that fills that cache dir (deleted first, so fresh per benchmark run; that
              run is "eg_fill" in --json: a cold run that also writes the cache), nothing changed
              in between
  EG touch    as EG warm, after appending a comment line to one file in the middle of the tree
              (TOUCH below); the file's original bytes and times are restored afterwards (always),
              and the cache is re-warmed by an untimed run before the next timed one
  EG re-run   the whole tree again after a real edit of the TOUCH file: an empty line inserted
              before the top-level definition nearest its middle, so the facts of every function
              below it change (positions); each run starts from a copy of the warm cache the
              unedited tree left; "re-analysed" is how many functions evalguard says it analysed
              again (--verbose) of those its analysis covers; the file is restored after each run
  EG edit     the pre-commit case: the TOUCH file alone (its imports are read as context), after a
              real edit (a new function appended: its facts change), the tree's warm cache; the
              edit is undone afterwards (always). Per tree only, not in the TOTAL row
  TorchFix    torchfix --select ALL TREE  (default jobs: all cores). Exit 0 and 1 are both a
              completed run (1 = some file failed to parse). TorchFix reads every file but parses
              only those whose text contains "torch"; it reports how many ("checked" in --json).
              Runs longer than --torchfix-timeout are killed and shown as "> N": ratios against it
              are then lower bounds.
  ruff        ruff check --select ALL --no-cache --exit-zero --isolated --output-format json TREE
              --isolated: the trees carry their own [tool.ruff] settings (ultralytics, lightning and
              transformers do: other line length, ignored rules, per-file ignores); we want every
              tree checked with the same, complete rule set (ALL), not the project's choice.
              json like evalguard's report, so both tools write a full machine-readable report.
              ruff runs in turns with EG cold (EG, ruff, EG, ruff, ...): the shared host has slow
              spells lasting minutes, and a pair run back to back sees the same one

evalguard exit codes 0 and 1 (findings) are success; anything else aborts the benchmark with its
stderr. With more than one tree, the TOTAL row runs evalguard (cold, warm, touch: the first tree's
TOUCH file) and ruff once over all the trees in ONE invocation; TorchFix's TOTAL is the sum of its
per-tree medians.

Columns: lines = number of b"\\n" in every *.py file of the tree (nothing excluded), files = those
files; times in seconds; TF/EG = TorchFix time / EG cold time (how many times faster evalguard is);
EG/ruff = the median over the paired runs of EG cold time / ruff time (how many times slower than
ruff); EG lines/s = lines / EG cold.

Peak memory, in MB (MiB), two figures per tool, each the maximum over the runs:
  max   the kernel's high-water resident set size of the largest single process of the run:
        ru_maxrss from os.wait4() on the command, which on Linux is the maximum over the command
        itself and every descendant it waited for (the workers of a process pool included). Exact,
        but it is one process, not the sum of the pool. Each command is started by a small
        launcher process (LAUNCHER below) because the kernel carries the forking process's own
        high-water mark into the child's ru_maxrss at exec: that floor is the launcher's ~8 MB,
        not this benchmark's heap. "?" for a run killed at the timeout.
  tree  the sum of VmRSS over the live process tree (the command and all its descendants, found
        via /proc/PID/task/TID/children), sampled every --sample-interval seconds (default 0.05):
        the footprint of pool + parent together. Shared copy-on-write pages of forked workers are
        counted once per process (so it over-states), and a spike shorter than the interval can be
        missed (so it may under-state); never less than max.
The "peak <= 2 GB" target uses max(max, tree) over every evalguard run (fill runs included).

Targets (issue #6), printed PASS/FAIL at the end: ultralytics EG cold >= 30x faster than TorchFix;
ultralytics EG cold within 5x of ruff --select ALL; all four trees EG cold in one invocation
<= 60 s; peak memory of every evalguard run <= 2 GB; all four trees EG warm (nothing changed)
<= 2 s. Targets that need trees or tools left out of this run read "n/a".

The machine line at the top gives the 1-minute load average at the start: anything else running on
the machine skews every figure (TorchFix most, being the longest).

Escape hatches: --evalguard-cmd (how to start evalguard, default "PYTHON -m evalguard"),
--evalguard-extra-args (appended to every `check`), --evalguard-jobs N (passes --jobs N),
--skip-torchfix / --skip-ruff.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sdists import CORPUS, HERE, fetch  # noqa: E402

ROOT = HERE.parent
PEERS = HERE / "_peers"
TORCHFIX_VERSION = "0.7.0"  # what `pip install torchfix` picked when this benchmark was written
RUFF_VERSION = "0.17.6"

TREES = {
    "ultralytics": "ultralytics==8.4.190",
    "timm": "timm==1.0.31",
    "lightning": "lightning==2.6.6",
    "transformers": "transformers==5.23.0",
}
# The file appended to for "EG touch": a model / nn file in the middle of each tree's import graph.
TOUCH = {
    "ultralytics": "ultralytics/nn/tasks.py",
    "timm": "timm/models/resnet.py",
    "lightning": "src/lightning/pytorch/core/module.py",
    "transformers": "src/transformers/models/bert/modeling_bert.py",
}


# ---------------------------------------------------------------- running and measuring one process


@dataclass
class Run:
    seconds: float
    returncode: int | None  # None: killed after the timeout
    max_rss_kib: int | None  # largest single process (wait4 ru_maxrss); None: killed, unknown
    tree_rss_kib: int  # sampled sum over the live process tree
    stdout: bytes = field(repr=False, default=b"")
    stderr: bytes = field(repr=False, default=b"")
    findings: int | None = None

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def _tree_rss_kib(root: int) -> int:
    """Sum of VmRSS over the live descendants of root (root itself, the small launcher, excluded)."""
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            if pid != root:
                with open(f"/proc/{pid}/status", "rb") as f:
                    for line in f:
                        if line.startswith(b"VmRSS:"):
                            total += int(line.split()[1])
                            break
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):  # the process or thread ended meanwhile
            continue
    return total


# Each command is started by this small launcher (python -I -S, ~8 MB), which times it and reports
# wall seconds, exit code and ru_maxrss through a pipe. Why not wait4() on a direct child of this
# benchmark: on exec the kernel carries the RSS high-water mark of the forking process into the
# child's ru_maxrss, so a child of a benchmark process holding 300 MB reports >= 300 MB even for
# /bin/true. Started from the launcher, the floor is the launcher's ~8 MB.
LAUNCHER = """\
import os, sys, time
fd = int(sys.argv[1])
os.set_inheritable(fd, False)
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
os.write(fd, f"{seconds!r} {os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}".encode())
"""


def measure(cmd: list[str], timeout: float | None = None, interval: float = 0.05) -> Run:
    """Run cmd (cwd: repository root) through LAUNCHER: wall time from start to exit, peak memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        read_end, write_end = os.pipe()
        peak = [0]
        done = threading.Event()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", LAUNCHER, str(write_end), *cmd],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err, pass_fds=(write_end,), start_new_session=True,
            )
        finally:
            os.close(write_end)

        def sample() -> None:
            while not done.wait(interval):
                peak[0] = max(peak[0], _tree_rss_kib(proc.pid))

        def kill() -> None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole session: pool workers too
            except OSError:  # nobody left in it
                pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timed_out = False
        try:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                kill()
                proc.wait()
        except BaseException:
            kill()
            proc.wait()
            raise
        finally:
            done.set()
            with os.fdopen(read_end, "rb") as pipe:
                report = pipe.read().split()
        kill()  # leave no stray descendant behind
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        if timed_out:
            return Run(seconds=float(timeout), returncode=None, max_rss_kib=None, tree_rss_kib=peak[0], stdout=stdout, stderr=stderr)
        if len(report) != 3:
            sys.exit(f"could not run {shlex.join(cmd)} (launcher exit {proc.returncode}):\n{_tail(stderr)}")
        max_rss = int(report[2])
        return Run(
            seconds=float(report[0]),
            returncode=int(report[1]),
            max_rss_kib=max_rss,
            tree_rss_kib=max(peak[0], max_rss),
            stdout=stdout,
            stderr=stderr,
        )


@dataclass
class Figure:
    """Several runs of one command: median seconds, peak memory over the runs."""

    seconds: float | None = None  # median; with a timeout: the timeout
    timed_out: bool = False
    runs: list[float] = field(default_factory=list)
    max_rss_mb: float | None = None
    tree_rss_mb: float | None = None
    returncodes: list[int | None] = field(default_factory=list)
    findings: int | None = None
    checked: int | None = None  # files the tool says it checked, where it says so (EG re-run: functions analysed in all)
    analysed: int | None = None  # EG re-run: functions re-analysed after the edit (None: the whole analysis ran)

    def add(self, run: Run) -> None:
        self.runs.append(round(run.seconds, 3))
        self.returncodes.append(run.returncode)
        self.timed_out = self.timed_out or run.timed_out
        self.seconds = round(statistics.median(self.runs), 3)
        if run.max_rss_kib is not None:
            self.max_rss_mb = round(max(self.max_rss_mb or 0, run.max_rss_kib / 1024), 1)
        self.tree_rss_mb = round(max(self.tree_rss_mb or 0, run.tree_rss_kib / 1024), 1)

    @property
    def peak_mb(self) -> float:
        return max(self.max_rss_mb or 0, self.tree_rss_mb or 0)


def _tail(data: bytes, n: int = 4000) -> str:
    return data.decode("utf-8", "replace")[-n:]


# ------------------------------------------------------------------------------------- the tools


class Tools:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.evalguard = shlex.split(args.evalguard_cmd) if args.evalguard_cmd else [sys.executable, "-m", "evalguard"]
        self.extra = shlex.split(args.evalguard_extra_args or "")
        if args.evalguard_jobs:
            self.extra += ["--jobs", str(args.evalguard_jobs)]
        self.torchfix = str(PEERS / "bin" / "torchfix")
        self.ruff = str(PEERS / "bin" / "ruff")

    # evalguard

    def eg(self, paths: list[Path], *options: str) -> Run:
        cmd = [*self.evalguard, "check", *map(str, paths), *options, "--output-format", "json", *self.extra]
        run = measure(cmd, interval=self.args.sample_interval)
        if run.returncode not in (0, 1):
            sys.exit(f"evalguard failed (exit {run.returncode}): {shlex.join(cmd)}\n{_tail(run.stderr)}")
        try:
            run.findings = len(json.loads(run.stdout))
        except ValueError:  # e.g. exit 1 from `python -m` without evalguard installed
            sys.exit(f"evalguard exited {run.returncode} without a JSON report: {shlex.join(cmd)}\n{_tail(run.stderr)}")
        if b"internal error" in run.stderr.lower():
            print(f"  warning: evalguard reported an internal error: {_tail(run.stderr, 500)}", file=sys.stderr)
        return run

    def eg_cold_and_ruff(self, paths: list[Path]) -> tuple[Figure, Figure | None, float | None]:
        """(EG cold, ruff, median of the paired EG/ruff ratios): the two run in turns, so that a
        slow spell of the shared host weighs on both sides of a ratio rather than on one."""
        cold = Figure()
        ruff = None if self.args.skip_ruff else Figure()
        ratios = []
        for _ in range(self.args.runs):
            run = self.eg(paths, "--no-cache")
            cold.add(run)
            if ruff is not None:
                peer = self.ruff_once(paths)
                ruff.add(peer)
                ratios.append(run.seconds / peer.seconds)
        cold.findings = run.findings
        cold.checked = _checked(run.stderr, rb"\((\d+) files? checked\)")
        if ruff is not None:
            ruff.findings = peer.stdout.count(b'"noqa_row":')  # one per message; the report is not parsed
        return cold, ruff, (round(statistics.median(ratios), 2) if ratios else None)

    def eg_warm(self, paths: list[Path], cache: Path, touch: Path) -> tuple[Figure, Figure, Figure]:
        """(fill: the first run, writing a fresh cache; warm; touch)."""
        shutil.rmtree(cache, ignore_errors=True)
        fill = Figure()
        fill.add(self.eg(paths, "--cache-dir", str(cache)))
        warm = Figure()
        for _ in range(self.args.runs):
            warm.add(self.eg(paths, "--cache-dir", str(cache)))
        touched = Figure()
        original, stat = touch.read_bytes(), touch.stat()
        for i in range(self.args.runs):
            try:
                sep = b"" if original.endswith(b"\n") or not original else b"\n"
                touch.write_bytes(original + sep + f"# evalguard benchmark: touched ({i})\n".encode())
                touched.add(self.eg(paths, "--cache-dir", str(cache)))
            finally:
                touch.write_bytes(original)
                os.utime(touch, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            self.eg(paths, "--cache-dir", str(cache))  # re-warm
        return fill, warm, touched

    def eg_rerun(self, paths: list[Path], cache: Path, edited: Path) -> Figure:
        """The whole tree again after a real edit of one file: an empty line inserted before the
        definition nearest the middle of TOUCH, so every position below it moves and the facts
        of the functions there change. Run with --verbose: `analysed` records how many functions
        were re-analysed. Each run gets a copy of the warm cache (as the unedited tree left it;
        the copy is not timed), and the file's bytes and times are restored after it (always)."""
        fig = Figure()
        original, stat = edited.read_bytes(), edited.stat()
        lines = original.split(b"\n")
        defs = [i for i, line in enumerate(lines) if line.startswith((b"def ", b"class ", b"async def "))]
        at = min(defs, key=lambda i: abs(i - len(lines) // 2)) if defs else len(lines)
        copy = cache.with_name(cache.name + "-rerun")
        for _ in range(self.args.runs):
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(cache, copy)
            try:
                edited.write_bytes(b"\n".join([*lines[:at], b"", *lines[at:]]))
                run = self.eg(paths, "--cache-dir", str(copy), "--verbose")
                fig.add(run)
                found = re.search(rb"re-analysed ([\d,]+) of ([\d,]+) functions", run.stderr)
                fig.analysed = int(found.group(1).replace(b",", b"")) if found else None
                fig.checked = int(found.group(2).replace(b",", b"")) if found else None
            finally:
                edited.write_bytes(original)
                os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))
                shutil.rmtree(copy, ignore_errors=True)
        return fig

    def eg_edit(self, tree: Path, cache: Path, edited: Path) -> Figure:
        """The pre-commit case: one file, edited for real (a new function: its facts change), checked
        alone with a warm cache; its imports are context. The edit is undone after each run (always)
        and the file's original bytes and times restored."""
        self.eg([edited], "--cache-dir", str(cache))  # facts of its context in the cache
        fig = Figure()
        original, stat = edited.read_bytes(), edited.stat()
        try:
            for i in range(self.args.runs):
                sep = b"" if original.endswith(b"\n") or not original else b"\n"
                edited.write_bytes(original + sep + f"\n\ndef _evalguard_benchmark_edit_{i}_{time.time_ns()}():\n    return {i}\n".encode())
                fig.add(self.eg([edited], "--cache-dir", str(cache)))
        finally:
            edited.write_bytes(original)
            os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        return fig

    # peers

    def run_torchfix(self, tree: Path) -> Figure:
        fig = Figure()
        for _ in range(self.args.peer_runs):
            cmd = [self.torchfix, "--select", "ALL", str(tree)]
            run = measure(cmd, timeout=self.args.torchfix_timeout, interval=self.args.sample_interval)
            fig.add(run)
            if run.timed_out:
                fig.seconds = float(self.args.torchfix_timeout)
                break
            if run.returncode not in (0, 1):
                sys.exit(f"TorchFix failed (exit {run.returncode}): {shlex.join(cmd)}\n{_tail(run.stderr)}")
            fig.findings = len(re.findall(rb"^\S+:\d+:\d+: TOR\d+", run.stdout, re.MULTILINE))
            fig.checked = _checked(run.stderr, rb"Finished checking (\d+) files")
        return fig

    def ruff_once(self, paths: list[Path]) -> Run:
        cmd = [self.ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero", "--isolated", "--output-format", "json"]
        run = measure([*cmd, *map(str, paths)], interval=self.args.sample_interval)
        if run.returncode != 0:
            sys.exit(f"ruff failed (exit {run.returncode}): {shlex.join(cmd)}\n{_tail(run.stderr)}")
        return run


def _checked(stderr: bytes, pattern: bytes) -> int | None:
    match = re.search(pattern, stderr)
    return int(match.group(1)) if match else None


def ensure_peers(args: argparse.Namespace) -> dict[str, str]:
    """Create bench/_peers/ and install the pinned peers unless they are there already."""
    wanted = {"torchfix": TORCHFIX_VERSION, "ruff": RUFF_VERSION}
    if args.skip_torchfix:
        wanted.pop("torchfix")
    if args.skip_ruff:
        wanted.pop("ruff")
    if not wanted:
        return {}
    python = PEERS / "bin" / "python"
    probe = "import importlib.metadata as m, json, sys; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"

    def installed() -> dict[str, str] | None:
        if not python.exists():
            return None
        result = subprocess.run([str(python), "-c", probe, *wanted], check=False, capture_output=True, text=True)
        return json.loads(result.stdout) if result.returncode == 0 else None

    if installed() != wanted:
        print(f"installing {', '.join(f'{n}=={v}' for n, v in wanted.items())} into {PEERS.relative_to(ROOT)}/ ...", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *(f"{n}=={v}" for n, v in wanted.items())],
            check=True,
        )
        if installed() != wanted:
            sys.exit(f"could not install the pinned peers into {PEERS}: found {installed()}")
    return wanted


# -------------------------------------------------------------------------------------- reporting


def machine(tools: Tools, peers: dict[str, str]) -> dict:
    info = {
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews every figure
    }
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), None)
        with open("/proc/meminfo") as f:
            info["memory_gb"] = round(int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1]) / 1024**2, 1)
    except (OSError, StopIteration):
        pass
    version = subprocess.run([*tools.evalguard, "--version"], check=False, capture_output=True, text=True, cwd=ROOT)
    found = re.search(r"version (\S+)", version.stdout)
    if version.returncode != 0 or not found:
        sys.exit(f"cannot run evalguard ({shlex.join(tools.evalguard)} --version): {version.stdout}{version.stderr}")
    info["evalguard"] = found.group(1)
    info["evalguard_cmd"] = shlex.join(tools.evalguard + ["check", "...", *tools.extra])
    info.update({k: v for k, v in peers.items()})
    return info


def fmt_s(fig: Figure | None) -> str:
    if fig is None or fig.seconds is None:
        return "-"
    return f"> {fig.seconds:.0f}" if fig.timed_out else f"{fig.seconds:.2f}"


def fmt_mem(fig: Figure | None) -> str:
    if fig is None or fig.tree_rss_mb is None:
        return "-"
    return ("?" if fig.max_rss_mb is None else f"{fig.max_rss_mb:.0f}") + f"/{fig.tree_rss_mb:.0f}"


def speedup(tf: Figure | None, eg: Figure | None) -> tuple[str, float | None, bool]:
    """TorchFix / EG cold: (text, value, is a lower bound)."""
    if not tf or tf.seconds is None or not eg or not eg.seconds:
        return "-", None, False
    value = tf.seconds / eg.seconds
    return (f"> {value:.1f}x" if tf.timed_out else f"{value:.1f}x"), value, tf.timed_out


def _eg_ruff_ratio(r: dict) -> float | None:
    """The median of the paired EG cold / ruff ratios (older result files: ratio of the medians)."""
    if r.get("eg_ruff_ratio") is not None:
        return r["eg_ruff_ratio"]
    cold, ruff = r.get("eg_cold"), r.get("ruff")
    if cold and ruff and ruff.get("seconds"):
        return cold["seconds"] / ruff["seconds"]
    return None


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def report(results: dict) -> list[dict]:
    rows = list(results["trees"].items())
    if results.get("total"):
        rows.append(("TOTAL", results["total"]))
    times, mems = [], []
    for name, r in rows:
        f = {k: (Figure(**r[k]) if r.get(k) else None) for k in ("eg_cold", "eg_warm", "eg_touch", "eg_rerun", "eg_edit", "torchfix", "ruff")}
        ratio, _, _ = speedup(f["torchfix"], f["eg_cold"])
        paired = _eg_ruff_ratio(r)
        ruff_ratio = f"{paired:.1f}x" if paired is not None else "-"
        lps = f"{r['lines'] / f['eg_cold'].seconds:,.0f}" if f["eg_cold"] and f["eg_cold"].seconds else "-"
        tf = fmt_s(f["torchfix"]) + (" (sum)" if name == "TOTAL" and f["torchfix"] else "")
        rerun = f["eg_rerun"]
        reanalysed = "-" if rerun is None else ("all" if rerun.analysed is None else f"{rerun.analysed:,}/{rerun.checked:,}")
        times.append([name, f"{r['files']:,}", f"{r['lines']:,}", fmt_s(f["eg_cold"]), fmt_s(f["eg_warm"]), fmt_s(f["eg_touch"]), fmt_s(rerun), reanalysed, fmt_s(f["eg_edit"]), tf, fmt_s(f["ruff"]), ratio, ruff_ratio, lps])
        mems.append([name, *(fmt_mem(f[k]) for k in ("eg_cold", "eg_warm", "eg_touch", "eg_rerun", "eg_edit", "torchfix", "ruff"))])
    print("\nWall time in seconds (median; TorchFix: median of --peer-runs; '> N': killed at the timeout)")
    print(table(times, ["tree", "files", "lines", "EG cold", "EG warm", "EG touch", "EG re-run", "re-analysed", "EG edit", "TorchFix", "ruff", "TF/EG", "EG/ruff", "EG lines/s"]))
    print("\nPeak memory in MB: max = largest single process (wait4 ru_maxrss) / tree = sampled sum over the process tree")
    print(table(mems, ["tree", "EG cold", "EG warm", "EG touch", "EG re-run", "EG edit", "TorchFix", "ruff"]))
    notes = []
    for name, r in rows:
        parts = []
        for key, label in (("eg_cold", "evalguard"), ("torchfix", "TorchFix"), ("ruff", "ruff")):
            fig = r.get(key)
            if fig:
                extra = f", {fig['checked']} files checked" if fig.get("checked") is not None else ""
                codes = ",".join("killed at the timeout" if c is None else str(c) for c in fig["returncodes"])
                exits = f", exit {codes}" if codes else ""
                parts.append(f"{label}: {fig['findings'] if fig['findings'] is not None else '?'} findings{extra}{exits}")
        if parts:
            notes.append(f"  {name}: " + "; ".join(parts))
    if notes:
        print("\nOutput (last run):\n" + "\n".join(notes))
    return targets(results)


def targets(results: dict) -> list[dict]:
    trees, total = results["trees"], results.get("total")
    all_four = set(trees) == set(TREES)
    out = []

    def add(name: str, status: str, detail: str) -> None:
        out.append({"target": name, "status": status, "detail": detail})

    u = trees.get("ultralytics")
    eg = Figure(**u["eg_cold"]) if u else None
    tf = Figure(**u["torchfix"]) if u and u.get("torchfix") else None
    text, value, lower = speedup(tf, eg)
    if value is None:
        add("ultralytics: EG cold >= 30x faster than TorchFix", "n/a", "needs ultralytics and TorchFix")
    elif value >= 30:
        add("ultralytics: EG cold >= 30x faster than TorchFix", "PASS", text)
    else:
        add("ultralytics: EG cold >= 30x faster than TorchFix", "UNDECIDED" if lower else "FAIL", text + (" (TorchFix timed out: lower bound)" if lower else ""))
    rf = Figure(**u["ruff"]) if u and u.get("ruff") else None
    ratio = _eg_ruff_ratio(u) if u else None
    if eg and rf and ratio is not None:
        add(
            "ultralytics: EG cold within 5x of ruff --select ALL",
            "PASS" if ratio <= 5 else "FAIL",
            f"{ratio:.1f}x (median of the paired runs; medians {eg.seconds:.2f} s vs {rf.seconds:.2f} s)",
        )
    else:
        add("ultralytics: EG cold within 5x of ruff --select ALL", "n/a", "needs ultralytics and ruff")
    if all_four and total:
        cold, warm = Figure(**total["eg_cold"]), Figure(**total["eg_warm"])
        add("all four trees: EG cold (one invocation) <= 60 s", "PASS" if cold.seconds <= 60 else "FAIL", f"{cold.seconds:.2f} s")
        add("all four trees: EG warm, nothing changed <= 2 s", "PASS" if warm.seconds <= 2 else "FAIL", f"{warm.seconds:.2f} s")
    else:
        add("all four trees: EG cold (one invocation) <= 60 s", "n/a", "needs all four trees")
        add("all four trees: EG warm, nothing changed <= 2 s", "n/a", "needs all four trees")
    reruns = [(name, Figure(**r["eg_rerun"])) for name, r in [*trees.items(), *([("TOTAL", total)] if total else [])] if r.get("eg_rerun")]
    if reruns:
        partial = all(f.analysed is not None and f.checked and f.analysed < f.checked for _, f in reruns)
        detail = "; ".join(
            f"{name}: {'the whole analysis ran' if f.analysed is None else f'{f.analysed:,} of {f.checked:,} functions'} ({f.seconds:.2f} s)"
            for name, f in reruns
        )
        add("after editing one file, a whole-tree run re-analyses only what the edit reaches", "PASS" if partial else "FAIL", detail)
    peaks = [
        (Figure(**r[k]).peak_mb, name, k)
        for name, r in [*trees.items(), *([("TOTAL", total)] if total else [])]
        for k in ("eg_cold", "eg_fill", "eg_warm", "eg_touch", "eg_rerun", "eg_edit")
        if r.get(k)
    ]
    if peaks:
        mb, name, key = max(peaks)
        scope = "" if all_four else " (not all four trees run)"
        add("evalguard peak memory <= 2 GB (max of max/tree, every EG run)", "PASS" if mb <= 2048 else "FAIL", f"{mb:.0f} MB ({name} {key}){scope}")
    print("\nTargets (issue #6)")
    for t in out:
        print(f"  {t['status']:9}  {t['target']}: {t['detail']}")
    return out


# ------------------------------------------------------------------------------------------- main


def precompile_evalguard() -> None:
    """Write evalguard's bytecode before timing it, as `pip install` does for every installed
    package (the peers included): in a source checkout under PYTHONDONTWRITEBYTECODE=1, each run
    would otherwise compile evalguard's own modules again (about 0.2 s a run, measured)."""
    import compileall

    package = ROOT / "evalguard"
    if not compileall.compile_dir(str(package), quiet=1):
        raise SystemExit(f"cannot compile {package}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", nargs="+", choices=list(TREES), default=list(TREES), metavar="TREE", help=f"trees to run (default: all: {' '.join(TREES)})")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per evalguard / ruff figure (default 3)")
    parser.add_argument("--peer-runs", type=int, default=1, help="timed TorchFix runs per tree (default 1)")
    parser.add_argument("--torchfix-timeout", type=float, default=900, help="seconds before a TorchFix run is killed (default 900)")
    parser.add_argument("--skip-torchfix", action="store_true")
    parser.add_argument("--skip-ruff", action="store_true")
    parser.add_argument("--evalguard-cmd", help='how to start evalguard (default: "PYTHON -m evalguard")')
    parser.add_argument("--evalguard-extra-args", help='extra arguments appended to every `evalguard check`, e.g. --evalguard-extra-args="--select EG001"')
    parser.add_argument("--evalguard-jobs", type=int, help="pass --jobs N to evalguard (default: its own default, all cores)")
    parser.add_argument("--sample-interval", type=float, default=0.05, help="seconds between process-tree memory samples")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    args = parser.parse_args()
    if args.runs < 1 or args.peer_runs < 1:
        parser.error("--runs and --peer-runs must be >= 1")

    tools = Tools(args)
    peers = ensure_peers(args)
    precompile_evalguard()
    info = machine(tools, peers)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    names = [n for n in TREES if n in args.trees]  # fixed order
    paths = {n: fetch(TREES[n]) for n in names}
    results: dict = {"machine": info, "args": vars(args), "trees": {}, "total": None}

    for name in names:
        tree = paths[name]
        files = sorted(tree.rglob("*.py"))  # reading them all also warms the page cache for every tool
        lines = sum(p.read_bytes().count(b"\n") for p in files if p.is_file())
        print(f"\n{name}: {tree.relative_to(ROOT)}  {len(files):,} files, {lines:,} lines", flush=True)
        r: dict = {"path": str(tree.relative_to(ROOT)), "files": len(files), "lines": lines}
        r["eg_cold"], ruff, r["eg_ruff_ratio"] = tools.eg_cold_and_ruff([tree])
        print(f"  evalguard cold   {fmt_s(r['eg_cold'])} s", flush=True)
        if ruff is not None:
            r["ruff"] = ruff
            print(f"  ruff             {fmt_s(ruff)} s  (in turns with EG cold; paired EG/ruff {r['eg_ruff_ratio']}x)", flush=True)
        r["eg_fill"], r["eg_warm"], r["eg_touch"] = tools.eg_warm([tree], CORPUS / f".cache-{name}", tree / TOUCH[name])
        print(f"  evalguard warm   {fmt_s(r['eg_warm'])} s, touched {fmt_s(r['eg_touch'])} s", flush=True)
        r["eg_rerun"] = tools.eg_rerun([tree], CORPUS / f".cache-{name}", tree / TOUCH[name])
        print(f"  evalguard re-run {fmt_s(r['eg_rerun'])} s  (whole tree, {TOUCH[name]} edited: {r['eg_rerun'].analysed} of {r['eg_rerun'].checked} functions re-analysed)", flush=True)
        r["eg_edit"] = tools.eg_edit(tree, CORPUS / f".cache-{name}", tree / TOUCH[name])
        print(f"  evalguard edit   {fmt_s(r['eg_edit'])} s  ({TOUCH[name]} alone, edited)", flush=True)
        if not args.skip_torchfix:
            print(f"  TorchFix ...     (timeout {args.torchfix_timeout:.0f} s)", flush=True)
            r["torchfix"] = tools.run_torchfix(tree)
            print(f"  TorchFix         {fmt_s(r['torchfix'])} s", flush=True)
        results["trees"][name] = {k: (asdict(v) if isinstance(v, Figure) else v) for k, v in r.items()}

    if len(names) > 1:
        trees = [paths[n] for n in names]
        print(f"\nTOTAL: {' + '.join(names)} in one invocation", flush=True)
        t: dict = {
            "files": sum(results["trees"][n]["files"] for n in names),
            "lines": sum(results["trees"][n]["lines"] for n in names),
        }
        t["eg_cold"], ruff, t["eg_ruff_ratio"] = tools.eg_cold_and_ruff(trees)
        print(f"  evalguard cold   {fmt_s(t['eg_cold'])} s", flush=True)
        if ruff is not None:
            t["ruff"] = ruff
            print(f"  ruff             {fmt_s(ruff)} s  (paired EG/ruff {t['eg_ruff_ratio']}x)", flush=True)
        t["eg_fill"], t["eg_warm"], t["eg_touch"] = tools.eg_warm(trees, CORPUS / ".cache-all", paths[names[0]] / TOUCH[names[0]])
        print(f"  evalguard warm   {fmt_s(t['eg_warm'])} s, touched {fmt_s(t['eg_touch'])} s", flush=True)
        t["eg_rerun"] = tools.eg_rerun(trees, CORPUS / ".cache-all", paths[names[0]] / TOUCH[names[0]])
        print(f"  evalguard re-run {fmt_s(t['eg_rerun'])} s  ({t['eg_rerun'].analysed} of {t['eg_rerun'].checked} functions re-analysed)", flush=True)
        if not args.skip_torchfix:
            figs = [Figure(**results["trees"][n]["torchfix"]) for n in names]
            t["torchfix"] = Figure(
                seconds=round(sum(f.seconds for f in figs), 3),
                timed_out=any(f.timed_out for f in figs),
                max_rss_mb=max((f.max_rss_mb for f in figs if f.max_rss_mb is not None), default=None),
                tree_rss_mb=max(f.tree_rss_mb or 0 for f in figs),
                findings=None if any(f.findings is None for f in figs) else sum(f.findings for f in figs),
            )
        results["total"] = {k: (asdict(v) if isinstance(v, Figure) else v) for k, v in t.items()}

    results["targets"] = report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
