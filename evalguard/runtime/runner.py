"""`evalguard run [--trace FILE] script.py [args...]` / `evalguard run -m package.module [args...]`.

Runs the target as `python script.py` / `python -m package.module` would, under the tracer:
`sys.argv` holds the target and its arguments, the target runs as `__main__`, `sys.path[0]` is the
script's directory (the current directory with -m), `SystemExit` codes pass through, and an
uncaught exception prints its traceback (from the target's frames on) and exits 1 (130 for
KeyboardInterrupt). The tracer is removed before the exit code is returned, whatever happened.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback

EXIT_USAGE = 2


def run_target(target: str, args: list[str], *, module: bool, trace_path: str | None, summary: bool = True) -> int:
    """Run the script (or module) under a tracer and return the process exit code."""
    if not module and not os.path.isfile(target):
        print(f"evalguard: can't open file {target!r}: No such file", file=sys.stderr)
        return EXIT_USAGE
    try:
        from evalguard.runtime.trace_file import TraceFileError
        from evalguard.runtime.tracer import Tracer
    except ImportError as exc:
        print(f"evalguard: the runtime tracer needs torch ({exc}); pip install 'evalguard[runtime]'", file=sys.stderr)
        return EXIT_USAGE

    saved_argv, saved_path = sys.argv[:], sys.path[:]
    if module:
        sys.argv = ["-m", *args]  # run_module(alter_sys=True) puts the module's file first
        sys.path[0:1] = [os.getcwd()]
    else:
        script = os.path.abspath(target)
        sys.argv = [script, *args]
        sys.path[0:1] = [os.path.dirname(os.path.realpath(script))]
    tracer = Tracer(trace_path, summary=summary, scan_existing=False)
    try:
        try:
            tracer.start()
        except (TraceFileError, RuntimeError) as exc:
            print(f"evalguard: {exc}", file=sys.stderr)
            return EXIT_USAGE
        abnormal = True
        try:
            if module:
                runpy.run_module(target, run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(script, run_name="__main__")
            abnormal = False
            code = 0
        except SystemExit as exc:
            abnormal = False
            code = _exit_code(exc)
        except KeyboardInterrupt as exc:
            _print_traceback(exc)
            code = 130
        except BaseException as exc:  # noqa: BLE001 - reported like python does
            _print_traceback(exc)
            code = 1
        finally:
            tracer.stop(abnormal=abnormal)
        return code
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message"): python prints it and exits 1
    return 1


_OWN_FILES = {os.path.abspath(__file__), os.path.abspath(runpy.__file__)}


def _print_traceback(exc: BaseException) -> None:
    """Print like the interpreter does: drop the leading runner/runpy frames."""
    tb = exc.__traceback__
    while tb is not None and (
        os.path.abspath(tb.tb_frame.f_code.co_filename) in _OWN_FILES
        or tb.tb_frame.f_code.co_filename.startswith("<frozen")
    ):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)
    sys.stderr.flush()
