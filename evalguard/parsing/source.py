"""Read a file and turn it into ModuleFacts (or a parse failure, reported as EG000).

Two front ends produce the same IR: CPython's `ast` (fast, positions for free) for everything the
running interpreter can parse, and LibCST for newer syntax (its parser knows every version). A
file neither can parse is a parse failure with CPython's message and position.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings

from evalguard.parsing.ir import ModuleFacts, ParseFailure


class DecodeError(Exception):
    pass


def decode_source(data: bytes | str) -> str:
    """Bytes -> text honouring a BOM and a PEP 263 coding declaration."""
    if isinstance(data, str):
        return data
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise DecodeError(str(exc)) from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise DecodeError(f"cannot decode as {encoding}: {exc}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def facts_from_source(data: bytes | str, path: str, module_name: str, frontend: str = "auto") -> ModuleFacts:
    """Parse and lower one file. `frontend`: "auto" (ast, LibCST for newer syntax), "ast", "libcst"."""
    try:
        text = decode_source(data)
    except DecodeError as exc:
        return _failure(path, module_name, ParseFailure(f"cannot decode file: {exc}", 1, 1))
    if frontend in ("auto", "ast"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text, filename=path)
        except SyntaxError as err:
            if frontend == "ast":
                return _failure(path, module_name, _syntax_failure(err))
            return _via_libcst(text, path, module_name, _syntax_failure(err))
        except ValueError as err:  # null bytes
            return _failure(path, module_name, ParseFailure(f"SyntaxError: {err}", 1, 1))
        except (RecursionError, MemoryError):
            return _failure(path, module_name, ParseFailure("file is nested too deeply to parse", 1, 1))
        from evalguard.parsing.lower_ast import AstLowerer

        lowerer = AstLowerer(text)
        module_fn, imports = lowerer.lower_module(tree)
        return _facts(path, module_name, lowerer.functions, lowerer.classes, imports, module_fn.local_names)
    return _via_libcst(text, path, module_name, None)


def _via_libcst(text: str, path: str, module_name: str, cpython_error: ParseFailure | None) -> ModuleFacts:
    # Imported lazily: most runs never need LibCST's parser.
    import libcst as cst
    from libcst.metadata import MetadataWrapper

    from evalguard.parsing.lower import Lowerer

    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError) as exc:
        if cpython_error is not None:
            return _failure(path, module_name, cpython_error)
        if isinstance(exc, cst.ParserSyntaxError):
            return _failure(path, module_name, ParseFailure(f"SyntaxError: {exc.message}", exc.raw_line, exc.raw_column + 1))
        return _failure(path, module_name, ParseFailure(f"SyntaxError: {exc}", 1, 1))
    lowerer = Lowerer(MetadataWrapper(module, unsafe_skip_copy=True))
    module_fn, imports = lowerer.lower_module()
    return _facts(path, module_name, lowerer.functions, lowerer.classes, imports, module_fn.local_names)


def _facts(path, module_name, functions, classes, imports, toplevel) -> ModuleFacts:
    return ModuleFacts(
        path=path,
        module_name=module_name,
        functions=tuple(functions),
        classes=tuple(classes),
        imports=tuple(imports),
        toplevel_names=toplevel,
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


def _syntax_failure(err: SyntaxError) -> ParseFailure:
    return ParseFailure(f"SyntaxError: {err.msg or 'invalid syntax'}", err.lineno or 1, err.offset or 1)


__all__ = ["facts_from_source", "decode_source", "DecodeError"]
