"""Overhead of the runtime tracer on a training step: untraced vs traced, same process.

    .venv/bin/python bench/tracer_overhead.py [--rounds 30] [--steps 30] [--threads 1]

For each model, rounds run three blocks in rotating order: untraced, traced, and a second
untraced one, the control (so machine load drifts hit all alike); each block starts from the same weights with a fresh optimizer (training one fixed batch
for long drives gradients into denormals, which are slow on CPU and would make whichever runs
later look slower; `torch.set_flush_denormal(True)` as well). A step is `model.train()`, forward,
loss, backward, `optimizer.step()`; the tracer sees one mode switch, one root forward and one
optimizer step per step. Each block warms up for 10 steps first (the tracer samples the first 8
forwards of a line for EG002, a one-off cost).

The table shows the median step time of each configuration (median over blocks of the per-block
median), the difference and the ratio, and the control's ratio: an A/A test whose size is this
machine's noise (on a shared 2-core VM, page faults in the allocator alone move a CNN step by a
few percent from block to block). The tiny model's step is mostly Python overhead: its
difference is the tracer's fixed cost per step, resolved best. On CPU with one thread (the
default) the time is the thread's CPU time, which other processes on a busy machine do not
inflate; otherwise wall time. With CUDA available, the GPU rows run the traced blocks under
`torch.cuda.set_sync_debug_mode("error")`: any synchronising call in a hook would raise.

`--instructions` counts instead of timing (needs valgrind; half an hour): it reruns itself under
callgrind and counts the instructions executed per step untraced, traced and untraced again. Deterministic, so it
resolves the tracer's cost on a machine too busy for timings to show 1 %.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import gc
import itertools
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/bench/", 1)[0])

from evalguard.runtime.tracer import Tracer  # noqa: E402


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(256, 512), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(512, 10),
    )


def cnn() -> nn.Module:
    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    return nn.Sequential(
        block(3, 16), block(16, 16), nn.MaxPool2d(2), block(16, 32), block(32, 32), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(32 * 4 * 4, 10),
    )


def tiny() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 10))


CASES = {
    "tiny MLP 16-16-10, batch 4 (cost floor)": (tiny, lambda: torch.randn(4, 16)),
    "MLP 256-512-512-10, batch 64": (mlp, lambda: torch.randn(64, 256)),
    "CNN 4 conv+BN, 3x16x16, batch 64": (cnn, lambda: torch.randn(64, 3, 16, 16)),
}


def block_times(model, state, batch, target, steps: int, warmup: int, device) -> list[float]:
    model.load_state_dict(state)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        model.train()
        out = model(batch)
        loss = F.cross_entropy(out, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    if device.type == "cuda":
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(steps):
            start.record()
            step()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
    else:
        # CPU time of this thread: with one intra-op thread, forward and backward both run here,
        # and time spent preempted by other processes (a busy machine) does not count.
        clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter
        for _ in range(steps):
            t0 = clock()
            step()
            times.append(clock() - t0)
    return times


def measure(name, build, make_input, device, rounds: int, steps: int):
    """Median step time untraced, traced, and untraced again (the control): the control's
    difference from untraced is what this machine's noise alone produces (an A/A test)."""
    torch.manual_seed(0)
    model = build().to(device)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    batch = make_input().to(device)
    target = torch.randint(0, 10, (batch.shape[0],), device=device)
    configs = ("untraced", "traced", "control")
    results = {config: [] for config in configs}
    for r in range(rounds):
        # Rotate the order so that each configuration runs first, second and third equally often.
        for config in configs[r % 3 :] + configs[: r % 3]:
            if config == "traced":
                tracer = Tracer(None, summary=False)
                tracer.start()
                if device.type == "cuda":
                    torch.cuda.set_sync_debug_mode("error")
                try:
                    # warm-up outside the sync check: cuDNN/cuBLAS set-up may sync once
                    times = block_times(model, state, batch, target, steps, warmup=10, device=device)
                finally:
                    if device.type == "cuda":
                        torch.cuda.set_sync_debug_mode(0)
                    tracer.stop()
                assert tracer.steps == steps + 10 and not tracer.findings, tracer.findings
            else:
                times = block_times(model, state, batch, target, steps, warmup=10, device=device)
            results[config].append(statistics.median(times))
    return tuple(statistics.median(results[config]) for config in configs)


# Each block runs inside a different C function of CPython, so callgrind's `--toggle-collect`
# counts it alone: untraced, traced, untraced again, per model. None of these functions may run
# inside a training step: a call there toggles collection on (or off) in the middle of another
# block and moves instructions between blocks. (`sorted`, `min`, `map` and `filter` did exactly
# that: torch calls them in a step.) `check_entry_points_unused` proves it before counting.
_accumulate_, _compress_, _pairwise_ = itertools.accumulate, itertools.compress, itertools.pairwise
_reduce_, _starmap_, _zip_longest_ = functools.reduce, itertools.starmap, itertools.zip_longest
_dropwhile_, _takewhile_, _filterfalse_ = itertools.dropwhile, itertools.takewhile, itertools.filterfalse


def _accumulate(f, n):
    list(_accumulate_(range(n), lambda _acc, i: f(i)))


def _compress(f, n):
    list(_compress_((f(i) for i in range(n)), itertools.repeat(1)))


def _pairwise(f, n):
    list(_pairwise_(f(i) for i in range(n + 1)))


def _reduce(f, n):
    _reduce_(lambda _acc, i: f(i), range(n), 0)


def _starmap(f, n):
    list(_starmap_(f, ((i,) for i in range(n))))


def _zip_longest(f, n):
    list(_zip_longest_(f(i) for i in range(n)))


def _dropwhile(f, n):
    list(_dropwhile_(lambda i: f(i) == 0, range(n)))


def _takewhile(f, n):
    list(_takewhile_(lambda i: f(i) == 0, range(n)))


def _filterfalse(f, n):
    list(_filterfalse_(lambda i: f(i) == 0, range(n)))


ENTRY_POINTS = {
    0: (("accumulate_next", _accumulate), ("compress_next", _compress), ("pairwise_next", _pairwise)),
    1: (("functools_reduce", _reduce), ("starmap_next", _starmap), ("zip_longest_next", _zip_longest)),
    2: (("dropwhile_next", _dropwhile), ("takewhile_next", _takewhile), ("filterfalse_next", _filterfalse)),
}
ENTRY_BUILTINS = (
    (itertools, "accumulate"), (itertools, "compress"), (itertools, "pairwise"), (functools, "reduce"),
    (itertools, "starmap"), (itertools, "zip_longest"), (itertools, "dropwhile"), (itertools, "takewhile"),
    (itertools, "filterfalse"),
)


@contextlib.contextmanager
def entry_points_reserved():
    """While counting, anyone else who looks up an entry point's builtin (torch, the tracer, model
    set-up between blocks) gets a recording wrapper, and the run fails: such a call would switch
    callgrind's collection on outside the blocks and add its instructions to a block's count.
    (`sorted`, `min`, `map` and `filter`, used before, did exactly that.) The blocks themselves
    use the originals, bound above."""
    seen = set()
    originals = [(owner, name, getattr(owner, name)) for owner, name in ENTRY_BUILTINS]

    def recording(name, original):
        def call(*args, **kwargs):
            seen.add(name)
            return original(*args, **kwargs)

        return call

    for owner, attr, original in originals:
        setattr(owner, attr, recording(attr, original))
    try:
        yield
    finally:
        for owner, attr, original in originals:
            setattr(owner, attr, original)
    if seen:
        raise SystemExit(f"entry points called outside their blocks (counts would mix): {sorted(seen)}")


def count_instructions_inside(steps: int) -> None:
    """Runs under callgrind: each model's blocks (untraced, traced, untraced) through their entry
    points, every block from the same weights and a fresh optimizer, without cyclic GC (one full
    collection costs as much as tens of steps and would land in either block by chance)."""
    torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    importlib.import_module("torch._dynamo")  # imported lazily by the optimizer; it inspects itertools' types

    with entry_points_reserved():
        _count_blocks(steps)


def _count_blocks(steps: int) -> None:
    for index, (name, (build, make_input)) in enumerate(CASES.items()):
        torch.manual_seed(0)
        model = build()
        state = {k: v.clone() for k, v in model.state_dict().items()}
        batch = make_input()
        target = torch.randint(0, 10, (batch.shape[0],))
        n = steps * block_scale(name)
        for (_, run), traced in zip(ENTRY_POINTS[index], (False, True, False)):
            model.load_state_dict(state)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

            def step(_i=None, opt=opt):
                model.train()
                loss = F.cross_entropy(model(batch), target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                return 0

            tracer = Tracer(None, summary=False) if traced else None
            if tracer is not None:
                tracer.start()
            for _ in range(10):
                step()
            gc.collect()
            gc.disable()
            run(step, n)
            gc.enable()
            if tracer is not None:
                tracer.stop()


def block_scale(name: str) -> int:
    return 20 if name.startswith("tiny") else 1


def count_instructions(steps: int, keep: str | None) -> None:
    import re
    import subprocess
    import tempfile

    entry_names = {fn for pair in ENTRY_POINTS.values() for fn, _ in pair}
    with tempfile.TemporaryDirectory() as tmp:
        out = keep or f"{tmp}/callgrind.out"
        toggles = [f"--toggle-collect={fn}" for fn in sorted(entry_names)]
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *toggles,
               sys.executable, __file__, "--inside-callgrind", "--steps", str(steps)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                                check=True, capture_output=True, text=True).stdout
    counts: dict[str, int] = {}
    # rows look like `1,234,567 (0.5%)  Python/bltinmodule.c:builtin_sorted [/path/libpython3.11.so]`,
    # recursion levels as `min_max'2`: keep the largest (outermost) count of each entry point.
    for m in re.finditer(r"^\s*([\d,]+)\s+\([^)]*\)\s+\S*?(\w+)(?:'\d+)?\s+\[", report, re.M):
        if m.group(2) in entry_names:
            counts[m.group(2)] = max(counts.get(m.group(2), 0), int(m.group(1).replace(",", "")))
    missing = entry_names - counts.keys()
    if missing:
        raise SystemExit(f"callgrind report has no counts for {sorted(missing)}; raw output kept: {keep or '(none)'}")
    print(f"instructions per training step (callgrind; {steps} steps, tiny model x20; no GC in the blocks; 1 thread)")
    print(
        f"{'model':<40} {'untraced':>12} {'traced':>12} {'untraced 2':>12} {'added':>10} {'overhead':>9}"
        f" {'untraced 2 vs 1':>16}"
    )
    for index, name in enumerate(CASES):
        n = steps * block_scale(name)
        u1, t, u2 = (counts[fn] / n for fn, _ in ENTRY_POINTS[index])
        u = (u1 + u2) / 2
        print(
            f"{name:<40} {u1:>12,.0f} {t:>12,.0f} {u2:>12,.0f} {t - u:>+10,.0f} {100 * (t / u - 1):>+8.2f}%"
            f" {100 * (u2 / u1 - 1):>+15.2f}%"
        )
    print("untraced 2 vs 1: the two untraced blocks must agree; if not, an entry point ran inside a step")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30, help="rounds of untraced/traced/control blocks per model")
    ap.add_argument("--steps", type=int, default=40, help="timed steps per block")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (CPU)")
    ap.add_argument("--instructions", action="store_true", help="count instructions under callgrind instead")
    ap.add_argument("--keep-callgrind", metavar="FILE", help="with --instructions: keep callgrind's output here")
    ap.add_argument("--inside-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside_callgrind:
        count_instructions_inside(args.steps)
        return
    if args.instructions:
        count_instructions(args.steps, args.keep_callgrind)
        return
    torch.set_flush_denormal(True)
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {args.threads} CPU thread(s), {args.rounds} rounds x {args.steps} steps")
    print(
        f"{'model':<40} {'device':<6} {'untraced':>12} {'traced':>12} {'added':>9} {'overhead':>9}"
        f" {'control (A/A)':>14}"
    )
    for device in devices:
        for name, (build, make_input) in CASES.items():
            plain, traced, control = measure(name, build, make_input, device, args.rounds, args.steps)
            print(
                f"{name:<40} {device.type:<6} {plain * 1e6:>10.1f}us {traced * 1e6:>10.1f}us "
                f"{(traced - plain) * 1e6:>+7.1f}us {100 * (traced / plain - 1):>+8.2f}%"
                f" {100 * (control / plain - 1):>+13.2f}%"
            )
    print(
        "control (A/A): an untraced block against the untraced one; an overhead within its size is "
        "noise, not the tracer (then see --instructions)"
    )


if __name__ == "__main__":
    main()
