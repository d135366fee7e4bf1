"""Read a file and turn it into ModuleFacts (or a parse failure, reported as EG000)."""

from __future__ import annotations

import ast
import warnings

import libcst as cst
from libcst.metadata import MetadataWrapper

from evalguard.parsing.ir import ModuleFacts, ParseFailure
from evalguard.parsing.lower import Lowerer


def facts_from_source(source: bytes | str, path: str, module_name: str) -> ModuleFacts:
    """Parse `source` (bytes keep PEP 263 / BOM handling) and lower it to facts."""
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError, ValueError) as exc:
        return _failure(path, module_name, _describe(exc, source))
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    lowerer = Lowerer(wrapper)
    module_fn, imports = lowerer.lower_module()
    return ModuleFacts(
        path=path,
        module_name=module_name,
        functions=tuple(lowerer.functions),
        classes=tuple(lowerer.classes),
        imports=tuple(imports),
        toplevel_names=module_fn.local_names,
    )


def _failure(path: str, module_name: str, failure: ParseFailure) -> ModuleFacts:
    return ModuleFacts(
        path=path,
        module_name=module_name,
        functions=(),
        classes=(),
        imports=(),
        toplevel_names=frozenset(),
        failure=failure,
    )


def _describe(exc: Exception, source: bytes | str) -> ParseFailure:
    """Prefer CPython's own wording and position: it is what users know from tracebacks."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except SyntaxError as err:
        msg = err.msg or "invalid syntax"
        return ParseFailure(f"SyntaxError: {msg}", err.lineno or 1, err.offset or 1)
    except (ValueError, UnicodeDecodeError) as err:
        return ParseFailure(f"cannot decode file: {err}", 1, 1)
    except RecursionError:
        return ParseFailure("file is nested too deeply to parse", 1, 1)
    if isinstance(exc, cst.ParserSyntaxError):
        return ParseFailure(f"SyntaxError: {exc.message}", exc.raw_line, exc.raw_column + 1)
    if isinstance(exc, UnicodeDecodeError):
        return ParseFailure(f"cannot decode file: {exc}", 1, 1)
    return ParseFailure(f"{type(exc).__name__}: {exc}", 1, 1)
