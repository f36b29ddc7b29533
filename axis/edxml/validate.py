"""Bytes in, a validated package out: parse → root → XSD → read → cross-field rules.

`Validator.validate` is the pipeline's stage: it returns a `ParsedPackage` or raises the
first error with every finding attached. `Validator.check` is the reporting form used by
`axis edxml check`: it never raises for the sender's faults.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from axis import errors
from axis.edxml import reader, rules, safexml
from axis.edxml.model import Package, ParsedPackage
from axis.edxml.safexml import Lifted
from axis.edxml.schema import Schemas
from axis.errors import Finding, SenderFault, Severity
from axis.settings import EdxmlSettings


@dataclass(frozen=True, slots=True)
class CheckResult:
    package: Package | None
    errors: tuple[Finding, ...]
    warnings: tuple[Finding, ...]

    @property
    def valid(self) -> bool:
        return not self.errors


class Validator:
    """Built once with the settings and the compiled schemas; thread-safe."""

    def __init__(self, settings: EdxmlSettings, schemas: Schemas | None = None) -> None:
        self.settings = settings
        self.schemas = schemas or Schemas()

    def check_tree(
        self, root: etree._Element, *, keep_data: bool = False, release_text: bool = False,
        lifted: Lifted | None = None,
    ) -> CheckResult:
        """Check an already parsed tree (the trust stage hands over the signed tree, and
        what its parser lifted out of it: `safexml.parse_lifted`)."""
        try:
            env = reader.open_envelope(root)
        except SenderFault as exc:
            return CheckResult(None, (exc.as_finding(),), ())
        found = self.schemas.validate(root, env.kind)
        if found:
            return CheckResult(None, tuple(found), ())
        package, findings = reader.read_tree(
            env, self.settings, keep_data=keep_data, release_text=release_text,
            lifted=lifted)
        findings += rules.cardinality(env.message_header, package)
        findings += rules.package_rules(package)
        errs = tuple(f for f in findings if f.code.severity is Severity.ERROR)
        warns = tuple(f for f in findings if f.code.severity is Severity.WARNING)
        return CheckResult(package, errs, warns)

    def check(self, raw: bytes, *, keep_data: bool = False) -> CheckResult:
        try:
            root = safexml.parse(raw, self.settings)
        except SenderFault as exc:
            return CheckResult(None, (exc.as_finding(),), ())
        return self.check_tree(root, keep_data=keep_data, release_text=True)

    def validate(self, raw: bytes, *, keep_data: bool = False) -> ParsedPackage:
        result = self.check(raw, keep_data=keep_data)
        return self.accept(result, raw)

    @staticmethod
    def accept(result: CheckResult, raw: bytes) -> ParsedPackage:
        if result.errors or result.package is None:
            first = result.errors[0] if result.errors else errors.INTERNAL.finding("no package")
            raise first.code.error(
                first.detail, path=first.path, line=first.line,
                findings=result.errors + result.warnings,
            )
        return ParsedPackage(package=result.package, raw=raw, warnings=result.warnings)
