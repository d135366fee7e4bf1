"""Settings: `[tool.evalguard]` in the nearest pyproject.toml (or `--config FILE`), then CLI flags.

Unknown keys and values of the wrong type are errors naming the key and the file (exit 2): a typo
in a config must never silently turn a rule off.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    pass


@dataclass
class Settings:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    respect_gitignore: bool = True
    model_names: list[str] = field(default_factory=list)
    mode_owning_frameworks: list[str] = field(default_factory=list)
    output_format: str = "text"
    # Where the settings came from (None: defaults) and the directory paths are relative to.
    source: str | None = None
    root: str = "."

    def as_dict(self) -> dict[str, object]:
        return {f.name.replace("_", "-"): getattr(self, f.name) for f in fields(self)}


_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude", "model-names", "mode-owning-frameworks")
OUTPUT_FORMATS = ("text", "json", "full", "github", "sarif")


def find_pyproject(paths: list[str]) -> str | None:
    """The nearest pyproject.toml with a [tool.evalguard] table, from the first path upward."""
    start = os.path.abspath(paths[0] if paths else ".")
    directory = start if os.path.isdir(start) else os.path.dirname(start)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate) and _has_table(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _has_table(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError:
        return False
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return isinstance(data.get("tool"), dict) and "evalguard" in data["tool"]


def load_settings(config_file: str | None, paths: list[str]) -> Settings:
    if config_file is not None and not os.path.isfile(config_file):
        raise ConfigError(f"config file not found: {config_file}")
    path = config_file or find_pyproject(paths)
    if path is None:
        return Settings(root=os.getcwd())
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("evalguard") if isinstance(data.get("tool"), dict) else None
    if table is None:
        if config_file is not None and os.path.basename(path) != "pyproject.toml":
            table = data  # a dedicated evalguard.toml holds the keys at top level
        else:
            table = {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.evalguard] must be a table")
    return _from_table(table, path)


def _from_table(table: dict, path: str) -> Settings:
    from evalguard.selection import SelectionError, parse_codes

    settings = Settings(source=path, root=os.path.dirname(os.path.abspath(path)))
    for key, value in table.items():
        where = f"{path}: [tool.evalguard] {key}"
        if key in _LIST_KEYS:
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ConfigError(f"{where}: expected a list of strings")
            if key in ("select", "ignore", "extend-select"):
                try:
                    parse_codes(value)
                except SelectionError as exc:
                    raise ConfigError(f"{where}: {exc}") from None
            setattr(settings, key.replace("-", "_"), list(value))
        elif key == "per-file-ignores":
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(c, str) for c in v) for v in value.values()
            ):
                raise ConfigError(f"{where}: expected a table of glob = [codes]")
            for codes in value.values():
                try:
                    parse_codes(codes)
                except SelectionError as exc:
                    raise ConfigError(f"{where}: {exc}") from None
            settings.per_file_ignores = {k: list(v) for k, v in value.items()}
        elif key == "respect-gitignore":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false")
            settings.respect_gitignore = value
        elif key == "output-format":
            if value not in OUTPUT_FORMATS:
                raise ConfigError(f"{where}: expected one of {', '.join(OUTPUT_FORMATS)}")
            settings.output_format = value
        else:
            raise ConfigError(f"{where}: unknown key")
    return settings
