"""The node's own XSDs for document and status packages (`axis/_data/schemas/`), loaded once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from lxml import etree

from axis import errors
from axis.edxml.model import Kind
from axis.errors import Finding
from axis.packaged import SCHEMA_DIR

_MAX_REPORTED = 10


class Schemas:
    """Compiled schemas; build once at start-up and share (lxml schemas are reentrant)."""

    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        try:
            self._by_kind = {
                Kind.EDOC: etree.XMLSchema(etree.parse(str(directory / "edxml-document.xsd"))),
                Kind.STATUS: etree.XMLSchema(etree.parse(str(directory / "edxml-status.xsd"))),
            }
        except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            raise errors.CONFIG_INVALID.error(f"schemas in {directory}: {exc}") from exc

    def validate(self, root: etree._Element, kind: Kind) -> list[Finding]:
        schema = self._by_kind[kind]
        if schema.validate(root):
            return []
        return [
            errors.SCHEMA_INVALID.finding(e.message, path=e.path or None, line=e.line or None)
            for e in list(cast(Iterable[Any], schema.error_log))[:_MAX_REPORTED]
        ]
