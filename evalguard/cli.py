"""Command line: `evalguard check [PATHS]...`, `evalguard rules`, `evalguard explain CODE`."""

from __future__ import annotations

import json
import os
import sys
from typing import NoReturn

import click

from evalguard import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMAT_NAMES = ("text", "json", "full", "github", "sarif")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalguard")
def main() -> None:
    """Find PyTorch train/eval mode misuse."""


# Set by the console entry point (`run`), never when `main` is called in-process (tests, tools).
_LEAVE_AT_ONCE = False


def run() -> None:
    """The `evalguard` command: `main`, but a finished `check` leaves the process at once (see
    `_leave`)."""
    global _LEAVE_AT_ONCE
    _LEAVE_AT_ONCE = True
    main()


def _leave(code: int) -> NoReturn:
    """Exit with `code`. From the console, everything is written and flushed by now, so the
    process leaves without freeing the analysis's objects one by one (a second on a tree the
    size of transformers, a tenth of a warm run); in-process callers get `SystemExit`."""
    if _LEAVE_AT_ONCE:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass  # a reader that went away (`| head`): nothing more can be said to it
        os._exit(code)
    sys.exit(code)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--output-format", type=click.Choice(FORMAT_NAMES), default=None, help="How findings are printed [default: text].")
@click.option("--output-file", type=click.Path(dir_okay=False), default=None, help="Write the report here instead of stdout.")
@click.option("--select", multiple=True, metavar="CODES", help="Only these rule codes or prefixes (comma-separated).")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Add these codes to the selection.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rule codes or prefixes (comma-separated).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="Settings file (default: nearest pyproject.toml with [tool.evalguard]).")
@click.option("--fix", "apply_fix", is_flag=True, help="Apply verified fixes in place.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff; change nothing.")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule instead of the findings.")
@click.option("--show-unused-noqa", is_flag=True, help="Also list `# noqa: EGxxx` comments that suppress nothing.")
@click.option("--show-settings", is_flag=True, help="Print the resolved settings and exit.")
@click.option("--trace", "traces", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Runtime trace (JSONL): mark findings confirmed/not reached, list runtime-only ones. Repeatable.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Processes that parse, this one included [default: all cores; 1 = in-process].")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Cache directory [default: .evalguard_cache at the project root].")
@click.option("--verbose", "-v", is_flag=True, help="Also say on stderr how the run used the cache and how many functions it analysed.")
def check(
    paths: tuple[str, ...],
    output_format: str | None,
    output_file: str | None,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_file: str | None,
    apply_fix: bool,
    show_diff: bool,
    statistics: bool,
    show_unused_noqa: bool,
    show_settings: bool,
    traces: tuple[str, ...] = (),
    jobs: int | None = None,
    no_cache: bool = False,
    cache_dir: str | None = None,
    verbose: bool = False,
) -> None:
    """Check Python files under PATHS (default: the current directory) for mode misuse."""
    # Heavy imports stay inside the command so `--help`/`--version` start fast.
    from evalguard.config import ConfigError, load_settings
    from evalguard.discovery.files import DiscoveryError
    from evalguard.selection import SelectionError, enabled_codes, parse_codes

    targets = list(paths) or ["."]
    _LINES.clear()
    try:
        settings = load_settings(config_file, targets)
        chosen = parse_codes(select) or parse_codes(settings.select)
        extra = parse_codes(settings.extend_select) + parse_codes(extend_select)
        enabled = enabled_codes((chosen or ["ALL"]) + extra, parse_codes(settings.ignore) + parse_codes(ignore))
    except (ConfigError, SelectionError) as exc:
        raise click.UsageError(str(exc)) from None
    fmt = output_format or settings.output_format
    if show_settings:
        shown = settings.as_dict() | {"output-format": fmt, "enabled": sorted(enabled)}
        click.echo(json.dumps(shown, indent=2, sort_keys=True))
        sys.exit(EXIT_CLEAN)
    trace = _load_traces(traces)
    try:
        from evalguard.discovery.ignore import PathFilter
        from evalguard.pipeline import AnalysisOptions, check_files, retain_objects
        from evalguard.discovery.files import discover

        if _LEAVE_AT_ONCE:
            retain_objects()

        path_filter = PathFilter(settings.exclude + settings.extend_exclude, settings.root, settings.respect_gitignore)
        files = discover(targets, path_filter)
        options = AnalysisOptions(tuple(settings.model_names), tuple(settings.mode_owning_frameworks))
        cache = None if no_cache else _open_cache(cache_dir, settings.root)
        run = {"options": options, "cache": cache, "jobs": jobs or default_jobs()}
        if want_progress(fmt, len(files), sys.stderr.isatty(), os.environ):
            with click.progressbar(length=len(files), label="Checking", file=sys.stderr) as bar:
                result = check_files(files, enabled, on_file=lambda: bar.update(1), **run)
        else:
            result = check_files(files, enabled, **run)
        if cache is not None and cache.disabled_reason:
            result.notes.append(cache.disabled_reason)
        if apply_fix or show_diff:
            from evalguard.fix.apply import unified_diff, write_changes

            result, outcome = _fix(files, enabled, result, options)
            if show_diff:
                click.echo(unified_diff(outcome), nl=False)
                _report_rejections(outcome)
                sys.exit(EXIT_FINDINGS if outcome.changed else EXIT_CLEAN)
            write_changes(outcome)
            _report_rejections(outcome)
            n = len(outcome.fixed)
            click.echo(f"Fixed {n} finding{'s' if n != 1 else ''} in {len(outcome.changed)} file(s)", err=True)
        # Unused suppressions need every file's comments: read them only when asked.
        suppressed = _suppress(result.findings, settings, [f.path for f in files] if show_unused_noqa else [])
        runtime = _confirm(trace, suppressed, enabled, settings, files)
        report = _render(fmt, suppressed.kept, statistics, runtime)
    except DiscoveryError as exc:
        raise click.UsageError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - never a bare traceback
        click.echo(f"evalguard: internal error: {exc!r}, please report", err=True)
        sys.exit(EXIT_ERROR)
    _emit(report, output_file)
    if show_unused_noqa:
        for path, line, code in suppressed.unused:
            click.echo(f"{path}:{line}: unused suppression of {code}", err=True)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    for note in runtime.notes if runtime is not None else ():
        click.echo(f"note: {note}", err=True)
    if verbose and result.analysis:
        click.echo(f"analysis: {result.analysis}", err=True)
    findings = suppressed.kept
    n = len(findings)
    nfiles = len({f.path for f in findings})
    click.echo(
        f"Found {n} finding{'s' if n != 1 else ''} in {nfiles} file{'s' if nfiles != 1 else ''} "
        f"({result.files_checked} file{'s' if result.files_checked != 1 else ''} checked)",
        err=True,
    )
    if runtime is not None:
        click.echo(runtime.summary(), err=True)
    if result.errors:
        _leave(EXIT_ERROR)
    runtime_only = len(runtime.runtime_only) if runtime is not None else 0
    _leave(EXIT_FINDINGS if n or runtime_only or (show_unused_noqa and suppressed.unused) else EXIT_CLEAN)


@main.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    short_help="Run a script under the runtime tracer.",
)
@click.option(
    "--trace",
    "trace_path",
    default="evalguard-trace.jsonl",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Trace file (JSON lines); under DDP the rank goes into the name.",
)
@click.option("-m", "module", metavar="MODULE", default=None, help="Run a library module as a script, like python -m.")
@click.option("--no-summary", is_flag=True, help="Do not print the summary on stderr at the end.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED, metavar="SCRIPT [ARGS]...")
def run_command(trace_path: str, module: str | None, no_summary: bool, args: tuple[str, ...]) -> None:
    """Run SCRIPT [ARGS]... (or -m MODULE [ARGS]...) like python does, with the runtime tracer on.

    Mode misuse seen during the run goes to the trace file and a summary on stderr; the exit code
    is the script's own. Needs torch (`pip install evalguard[runtime]`).
    """
    # The tracer (and torch) load only here: `check` stays torch-free.
    from evalguard.runtime.runner import run_target

    if module is None and not args:
        raise click.UsageError("give a script to run, or -m MODULE")
    target, rest = (module, list(args)) if module is not None else (args[0], list(args[1:]))
    sys.exit(run_target(target, rest, module=module is not None, trace_path=trace_path, summary=not no_summary))


@main.command("rules")
def rules_command() -> None:
    """List the rules: code, name, fixable, default state."""
    from evalguard.rules_catalog import FIXABLE, RULES

    click.echo(f"{'code':<6} {'name':<33} {'fix':<4} {'default':<8} summary")
    for rule in RULES.values():
        fix = "yes" if rule.code in FIXABLE else ""
        click.echo(f"{rule.code:<6} {rule.name:<33} {fix:<4} {'on':<8} {rule.summary}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation page of a rule (e.g. `evalguard explain EG001`)."""
    from evalguard.rules_catalog import RULES, rule_page

    code = code.strip().upper()
    if code not in RULES:
        raise click.UsageError(f"unknown rule code: {code!r} (see `evalguard rules`)")
    page = rule_page(code)
    if page is None:
        click.echo(f"evalguard: the page for {code} is not installed", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(page, nl=not page.endswith("\n"))


# ---------------------------------------------------------------------------------------- helpers


def default_jobs() -> int:
    """All usable cores (this process parses alongside jobs - 1 workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _open_cache(cache_dir: str | None, root: str):
    from evalguard.cache import Cache, default_cache_dir

    return Cache(cache_dir or default_cache_dir(root))


def want_progress(fmt: str, n_files: int, tty: bool, env) -> bool:
    """A progress bar on stderr only for long runs on a terminal, never for pre-commit or for
    machine-read formats."""
    return tty and n_files >= 200 and not env.get("PRE_COMMIT") and not env.get("CI") and fmt in ("text", "full")


def _render(fmt: str, findings, statistics: bool, runtime=None) -> str:
    if statistics:
        from collections import Counter

        from evalguard.rules_catalog import RULES

        counts = Counter(f.code for f in findings)
        return "".join(f"{counts[c]:>5}  {c}  {RULES[c].name}\n" for c in sorted(counts))
    from evalguard.report import formats

    if hasattr(formats, "render"):
        return formats.render(fmt, findings, _report_context(runtime))
    return formats.FORMATS[fmt](findings)


def _report_context(runtime=None):
    try:
        from evalguard.report.context import ReportContext
    except ImportError:
        return None
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return ReportContext(root=os.getcwd(), color=color, source_lines=_source_lines, runtime=runtime)


def _load_traces(paths):
    """The merged `--trace` files, or None without the option; a bad file is a usage error."""
    if not paths:
        return None
    from evalguard.report.confirm import TraceError, load_traces

    try:
        return load_traces(paths)
    except TraceError as exc:
        raise click.UsageError(str(exc)) from None


def _confirm(trace, suppressed, enabled, settings, files):
    """Join the kept findings with the trace; runtime-only findings obey the selection and suppressions."""
    if trace is None:
        return None
    from evalguard.report.confirm import confirm, filter_runtime_only

    joined = confirm(suppressed.kept, trace, suppressed=suppressed.suppressed)
    checked = [f.path for f in files]
    return filter_runtime_only(joined, checked, enabled, lambda found: _suppress(found, settings, []).kept)


def _emit(report: str, output_file: str | None) -> None:
    # File names that are not valid UTF-8 come back from the OS as surrogate escapes: write their
    # original bytes rather than crash.
    data = report.encode("utf-8", "surrogateescape")
    if output_file is None:
        click.echo(data, nl=False)
        return
    try:
        with open(output_file, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        click.echo(f"evalguard: cannot write {output_file}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERROR)


def _suppress(findings, settings, checked):
    from evalguard.suppress import apply_suppressions

    return apply_suppressions(findings, _source_lines, settings.per_file_ignores, settings.root, checked)


_LINES: dict[str, list[str]] = {}


def _source_lines(path: str) -> list[str]:
    path = os.path.abspath(path)
    if path not in _LINES:
        from evalguard.parsing.source import DecodeError

        try:
            _LINES[path] = _read_text(path).splitlines()
        except (OSError, ValueError, DecodeError):
            _LINES[path] = []
    return _LINES[path]


def _fix(files, enabled, result, options):
    """Plan fixes, re-check with the fixed text in memory, keep only verified files."""
    from evalguard.fix.apply import plan_fixes, verify
    from evalguard.pipeline import check_files

    outcome = plan_fixes(result.findings, _read_text)
    if not outcome.changed:
        return result, outcome
    overrides = {path: new for path, (_old, new) in outcome.changed.items()}
    after = check_files(files, enabled, overrides, options)
    verify(outcome, result.findings, after.findings)
    if outcome.changed:
        overrides = {path: new for path, (_old, new) in outcome.changed.items()}
        after = check_files(files, enabled, overrides, options)
    else:
        after = result
    _LINES.clear()
    for path, (_old, new) in outcome.changed.items():
        _LINES[os.path.abspath(path)] = new.splitlines()
    return after, outcome


def _read_text(path: str) -> str:
    from evalguard.parsing.source import decode_source

    with open(path, "rb") as handle:
        return decode_source(handle.read())


def _report_rejections(outcome) -> None:
    for path, why in sorted(outcome.rejected.items()):
        click.echo(f"warning: fixes for {path} not applied: {why}", err=True)
