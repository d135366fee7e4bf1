"""Command line: `evalguard check [PATHS]...`."""

from __future__ import annotations

import sys

import click

from evalguard import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalguard")
def main() -> None:
    """Find PyTorch train/eval mode misuse."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--output-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How findings are printed.",
)
@click.option("--select", multiple=True, metavar="CODES", help="Only these rule codes or prefixes (comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rule codes or prefixes (comma-separated).")
@click.option("--fix", "apply_fix", is_flag=True, help="Apply verified fixes in place.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff; change nothing.")
def check(
    paths: tuple[str, ...],
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    apply_fix: bool,
    show_diff: bool,
) -> None:
    """Check Python files under PATHS (default: the current directory) for mode misuse."""
    # Heavy imports stay inside the command so `--help`/`--version` start fast.
    from evalguard.discovery.files import DiscoveryError
    from evalguard.selection import SelectionError, enabled_codes, parse_codes

    try:
        enabled = enabled_codes(parse_codes(select), parse_codes(ignore))
    except SelectionError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        from evalguard.fix.apply import unified_diff, write_changes
        from evalguard.pipeline import check_files
        from evalguard.report.formats import FORMATS

        from evalguard.discovery.files import discover

        files = discover(list(paths) or ["."])
        result = check_files(files, enabled)
        if apply_fix or show_diff:
            result, outcome = _fix(files, enabled, result)
            if show_diff:
                click.echo(unified_diff(outcome), nl=False)
                _report_rejections(outcome)
                sys.exit(EXIT_FINDINGS if outcome.changed else EXIT_CLEAN)
            write_changes(outcome)
            _report_rejections(outcome)
            n = len(outcome.fixed)
            click.echo(f"Fixed {n} finding{'s' if n != 1 else ''} in {len(outcome.changed)} file(s)", err=True)
    except DiscoveryError as exc:
        raise click.UsageError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - never a bare traceback
        click.echo(f"evalguard: internal error: {exc!r}, please report", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(FORMATS[output_format](result.findings), nl=False)
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    n = len(result.findings)
    files = len({f.path for f in result.findings})
    click.echo(
        f"Found {n} finding{'s' if n != 1 else ''} in {files} file{'s' if files != 1 else ''} "
        f"({result.files_checked} file{'s' if result.files_checked != 1 else ''} checked)",
        err=True,
    )
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if n else EXIT_CLEAN)


def _fix(files, enabled, result):
    """Plan fixes, re-check with the fixed text in memory, keep only verified files."""
    from evalguard.fix.apply import plan_fixes, verify
    from evalguard.pipeline import check_files

    outcome = plan_fixes(result.findings, _read_text)
    if not outcome.changed:
        return result, outcome
    overrides = {path: new for path, (_old, new) in outcome.changed.items()}
    after = check_files(files, enabled, overrides)
    verify(outcome, result.findings, after.findings)
    if outcome.changed:
        overrides = {path: new for path, (_old, new) in outcome.changed.items()}
        after = check_files(files, enabled, overrides)
    else:
        after = result
    return after, outcome


def _read_text(path: str) -> str:
    from evalguard.parsing.source import decode_source

    with open(path, "rb") as handle:
        return decode_source(handle.read())


def _report_rejections(outcome) -> None:
    for path, why in sorted(outcome.rejected.items()):
        click.echo(f"warning: fixes for {path} not applied: {why}", err=True)
