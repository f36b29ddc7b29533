"""The node's one settings object: built once at start-up and passed down.

Sources, strongest first: explicit overrides (command-line flags), `AXIS_*` environment
variables (nested with `__`, e.g. `AXIS_TRUST__ALLOW_SHA1=true`), the TOML file named by
`AXIS_CONFIG` (default `config/axis.toml` when present), then the defaults below.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from axis import errors

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config" / "axis.toml"

# Art. 4.3: PDF for signed and read-only documents; .doc .docx .odt .txt .rtf;
# .xls .xlsx .ods .csv; images. Zip is the reference SDK's container (spec §1).
DEFAULT_ALLOWED_TYPES: tuple[str, ...] = (
    "pdf", "doc", "docx", "odt", "txt", "rtf", "xls", "xlsx", "ods", "csv",
    # SVG is left out on purpose: it can carry scripts. A province that needs it can add it.
    "png", "jpeg", "gif", "tiff", "bmp", "webp", "zip",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EdxmlSettings(_Frozen):
    max_package_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    max_depth: int = Field(default=32, gt=4)
    max_elements: int = Field(default=20_000, gt=10)
    max_attachments: int = Field(default=100, gt=0)
    allowed_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES
    zip_max_entries: int = Field(default=1_000, gt=0)
    zip_max_total_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    zip_max_ratio: int = Field(default=200, gt=1)
    # Entries inside zips are reported, not refused for their type, unless this is on
    # (spec §1: real packages carry odd entries, even nested edXML).
    zip_strict_entries: bool = False


class TrustSettings(_Frozen):
    allow_sha1: bool = False
    anchors_dir: Path = PROJECT_ROOT / "config" / "trust"
    crl_files: tuple[Path, ...] = ()
    crl_urls: tuple[str, ...] = ()
    crl_max_age_hours: int = Field(default=48, gt=0)
    node_key: Path | None = None
    node_cert: Path | None = None
    # An issuer without any configured CRL: accepted as `revocation: unchecked` unless this
    # is on (then trust.revocation_unknown). A stale CRL always fails closed.
    require_crl: bool = False
    crl_refresh_hours: int = Field(default=6, gt=0)  # the server's CRL refresh job period
    # Migration exception list (agency identifiers): unsigned or placeholder packages from
    # these senders are admitted, each with a trust.unsigned_admitted warning to journal.
    admit_unsigned: tuple[str, ...] = ()


class ClockSettings(_Frozen):
    calendar_file: Path = PROJECT_ROOT / "config" / "calendar.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AXIS_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    data_dir: Path = Path("var")
    # Empty: the embedded default (SQLite under data_dir, in-process broker). Set both for
    # production (compose.yaml): postgresql+psycopg://… and amqp://…
    database_url: str = ""
    broker_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "info"
    edxml: EdxmlSettings = EdxmlSettings()
    trust: TrustSettings = TrustSettings()
    clock: ClockSettings = ClockSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file comes in as init values; the environment must beat it.
        return (env_settings, init_settings)


def load_settings(
    config_file: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings once. Raises `node.config_invalid` with the reason."""
    env = os.environ if environ is None else environ
    path = config_file or (Path(env["AXIS_CONFIG"]) if env.get("AXIS_CONFIG") else None)
    if path is None and DEFAULT_CONFIG_FILE.is_file():
        path = DEFAULT_CONFIG_FILE
    file_values: dict[str, Any] = {}
    try:
        if path is not None:
            with path.open("rb") as fh:
                file_values = tomllib.load(fh)
        settings = Settings(**file_values)
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise errors.CONFIG_INVALID.error(f"{path or 'settings'}: {exc}") from exc
    return with_overrides(settings, **overrides)


def with_overrides(settings: Settings, **overrides: Any) -> Settings:
    """Explicit values (command-line flags) over everything else, validated."""
    if not overrides:
        return settings
    checked: dict[str, Any] = {}
    try:
        for key, value in overrides.items():
            info = Settings.model_fields.get(key)
            if info is None:
                raise errors.CONFIG_INVALID.error(f"unknown setting {key!r}")
            # Validated field by field: building a new Settings would re-read the
            # environment, which must not beat an explicit flag.
            checked[key] = TypeAdapter(cast(Any, info.annotation)).validate_python(value)
    except ValidationError as exc:
        raise errors.CONFIG_INVALID.error(str(exc)) from exc
    return settings.model_copy(update=checked)
