"""The trace: one JSON object per line (format in README "Runtime tracer").

Opened, and the `start` record written and flushed, when tracing starts, so a bad path fails
before any training happens. Once running, a failing write (full disk, file system gone) warns
once on stderr and disables the file: losing the trace must never stop a training run.

Under DDP each rank writes its own file, the rank in the name (`evalguard-trace.rank1.jsonl`).
The rank comes from `torch.distributed` when initialised, else from the `RANK` variable that
torchrun sets. A process started by multiprocessing (e.g. `torch.multiprocessing.spawn`) that
starts tracing before `init_process_group` writes `<name>.pid<PID>.jsonl` first and renames it
to the rank's name at the first write after the process group exists.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading

DEFAULT_PATH = "evalguard-trace.jsonl"


class TraceFileError(OSError):
    """The trace file cannot be created or written at start."""


def dist_rank() -> tuple[int, int] | None:
    """(rank, world size) when a default process group exists."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    except Exception:  # noqa: BLE001 - a half-initialised backend must not break tracing
        return None
    return None


def env_rank() -> int | None:
    value = os.environ.get("RANK")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def with_suffix(path: str, suffix: str) -> str:
    root, ext = os.path.splitext(path)
    return f"{root}.{suffix}{ext or '.jsonl'}"


class TraceWriter:
    """Thread-safe JSONL writer. `path=None` keeps nothing on disk (records are dropped)."""

    def __init__(self, path: str | None, *, rank_source=dist_rank) -> None:
        self._lock = threading.Lock()
        self._rank_source = rank_source
        self._handle = None
        self._failed = False
        self.base = path
        self.path = path
        self.rank: int | None = None
        self._rank_pending = False  # named after the pid until the rank is known
        if path is None:
            return
        known = rank_source()
        rank = known[0] if known is not None else env_rank()
        if known is not None and known[1] > 1 or known is None and rank is not None:
            self.rank = rank
            self.path = with_suffix(path, f"rank{rank}")
        elif known is None and multiprocessing.parent_process() is not None:
            self.path = with_suffix(path, f"pid{os.getpid()}")
            self._rank_pending = True
        elif known is not None:
            self.rank = rank
        try:
            self._handle = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise TraceFileError(f"cannot write trace file {self.path}: {exc.strerror or exc}") from None

    def start(self, record: dict) -> None:
        """Write the first record; raises TraceFileError (full disk, read-only file system)."""
        if self._handle is None:
            return
        try:
            self._handle.write(_dumps(record))
            self._handle.flush()
        except OSError as exc:
            self._close_quietly()
            raise TraceFileError(f"cannot write trace file {self.path}: {exc.strerror or exc}") from None

    def write(self, record: dict, flush: bool = True) -> None:
        if self._handle is None or self._failed:
            return
        line = _dumps(record)
        with self._lock:
            if self._handle is None or self._failed:
                return
            try:
                if self._rank_pending or self.rank is None:
                    self._resolve_rank()
                self._handle.write(line)
                if flush:
                    self._handle.flush()
            except OSError as exc:
                self._fail(exc)

    def close(self) -> None:
        with self._lock:
            if self._handle is None:
                return
            try:
                if not self._failed:
                    self._handle.flush()
            except OSError as exc:
                self._fail(exc)
            self._close_quietly()

    def _resolve_rank(self) -> None:
        known = self._rank_source()
        if known is None:
            return
        rank, world = known
        self.rank = rank
        if world > 1 or self._rank_pending:
            target = with_suffix(self.base, f"rank{rank}")
            if target != self.path:
                os.replace(self.path, target)  # the open handle follows the file
                self.path = target
        self._rank_pending = False

    def _fail(self, exc: OSError) -> None:
        self._failed = True
        print(
            f"evalguard: cannot write trace file {self.path}: {exc.strerror or exc}; "
            "tracing goes on without it",
            file=sys.stderr,
        )

    def _close_quietly(self) -> None:
        handle, self._handle = self._handle, None
        try:
            handle.close()
        except OSError:
            pass


def _dumps(record: dict) -> str:
    # default=str: a stray non-JSON value in a message must not lose the record.
    return json.dumps(record, default=str) + "\n"
