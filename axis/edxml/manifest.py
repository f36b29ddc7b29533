"""Reading the manifest (`edXMLManifest/Reference`) and the attachments of a package.

Each attachment is decoded and typed by its bytes (attachments.py); its declared type and
its names' extensions must be allowed and agree (filetypes.py, Art. 4.3); its names must
be safe to save (filenames.py). The manifest's side is checked against the attachment it
references once both are read (`reference_types`).
"""

from __future__ import annotations

from dataclasses import replace

from lxml import etree

from axis import errors
from axis.edxml import attachments as att
from axis.edxml import filenames, filetypes
from axis.edxml.fields import FieldReader
from axis.edxml.model import Attachment, Reference
from axis.edxml.xmltree import children, element_path, line_of, strip_cid
from axis.errors import Finding
from axis.settings import EdxmlSettings

Element = etree._Element
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


class ManifestReader(FieldReader):
    """Reads references and attachments; remembers where each was for later findings."""

    def __init__(self, limits: EdxmlSettings, keep_data: bool, release_text: bool) -> None:
        super().__init__(limits, keep_data, release_text)
        self._reference_names: dict[str, Element] = {}
        self._references: dict[str, Element] = {}

    # --- names ---------------------------------------------------------------------------
    def name_field(self, kids: dict[str, list[Element]], name: str, *, file_name: bool) -> str:
        """A name a recipient may save the file by: `AttachmentName` (a file name) or
        `Description` (a label that some systems use as the name)."""
        el = self.first(kids, name)
        value = self.text(el)
        if el is None or not value:
            return value
        problem = (filenames.unsafe_file_name(value) if file_name
                   else filenames.unsafe_label(value))
        if problem:
            self.add(errors.ATTACHMENT_NAME_UNSAFE, f"{value!r}: {problem}", el)
        trick = filenames.deceptive(value)
        if trick:
            self.add(errors.ATTACHMENT_NAME_DECEPTIVE, f"{value!r}: {trick}", el)
        return value

    def _locate(self, finding: Finding | None, el: Element) -> None:
        if finding is not None:
            self.findings.append(replace(finding, path=element_path(el), line=line_of(el)))

    # --- the manifest --------------------------------------------------------------------
    def manifest(self, body: Element | None) -> tuple[Reference, ...]:
        if body is None:
            return ()
        man = self.first(children(body), "edXMLManifest")
        refs = []
        for r in children(man).get("Reference", []) if man is not None else []:
            rk = children(r)
            self.once(rk, "ContentId", "ContentType")
            ref = Reference(
                content_id=strip_cid(self.field(rk, "ContentId")),
                content_type=self.field(rk, "ContentType"),
                attachment_name=self.name_field(rk, "AttachmentName", file_name=True),
                description=self.name_field(rk, "Description", file_name=False),
            )
            self._link(r, ref.content_id)
            self._references.setdefault(ref.content_id, r)
            name_el = self.first(rk, "AttachmentName")
            if name_el is not None:
                self._reference_names.setdefault(ref.content_id, name_el)
            refs.append(ref)
        return tuple(refs)

    def _link(self, el: Element, content_id: str) -> None:
        """Spec §7a: ebXML-style `xlink:href="cid:…"` is tolerated, but it must point at
        the Reference's own attachment, or readers would disagree on which file it is."""
        href = el.get(XLINK_HREF)
        if href is not None and strip_cid(href) != content_id:
            self.add(errors.REFERENCE_LINK_MISMATCH,
                     f"xlink:href {href!r}, ContentId {content_id!r}", el)

    def reference_types(
        self, refs: tuple[Reference, ...], atts: tuple[Attachment, ...]
    ) -> None:
        """The manifest's declared type must be allowed (a difference from the attachment's
        own is only a warning: rules.py), and its name must fit the attachment's bytes."""
        allowed = self.limits.allowed_types
        by_id = {a.content_id: a for a in atts if a.detected_type}
        for ref in refs:
            declared = filetypes.declared_short(ref.content_type)
            el = self._references.get(ref.content_id)
            if el is not None and declared is not None and not filetypes.is_allowed(
                declared, allowed
            ):
                self.add(errors.ATTACHMENT_TYPE_FORBIDDEN,
                         f"manifest type {ref.content_type} is not allowed (Art. 4.3)", el)
            target = by_id.get(ref.content_id)
            name_el = self._reference_names.get(ref.content_id)
            if target is not None and name_el is not None and ref.attachment_name:
                self._locate(filetypes.judge_name(
                    ref.attachment_name, filenames.extension(ref.attachment_name),
                    target.content_type, target.detected_type, allowed), name_el)

    # --- the attachments -----------------------------------------------------------------
    def _inspect(self, enc: Element, encoded: str,
                 content_type: str) -> tuple[att.Inspected | None, list[Finding]]:
        if self.release_text:
            # The tree's copy of the base64 goes as soon as Python holds its own, so a
            # large attachment never sits in memory three times (tree, str, bytes).
            enc.text = None
        return att.inspect(encoded, content_type, self.limits)

    def attachments(self, box: Element | None) -> tuple[Attachment, ...]:
        if box is None:
            return ()
        out = []
        items = children(box).get("Attachment", [])
        if len(items) > self.limits.max_attachments:
            self.add(errors.TOO_MANY_ELEMENTS,
                     f"{len(items)} attachments > {self.limits.max_attachments}", box)
            return ()
        for a in items:
            ak = children(a)
            self.once(ak, "ContentId", "ContentType", "ContentTransferEncoded")
            content_type = self.field(ak, "ContentType")
            enc = self.first(ak, "ContentTransferEncoded")
            meta = Attachment(
                content_id=strip_cid(self.field(ak, "ContentId")),
                name=self.name_field(ak, "AttachmentName", file_name=True),
                content_type=content_type,
                description=self.name_field(ak, "Description", file_name=False),
            )
            if enc is None:
                self.add(errors.MISSING_ELEMENT, "no ContentTransferEncoded", a)
                out.append(meta)
                continue
            encoded = self.raw_text(enc)  # one text node, or markup_in_field
            if self.lifted is not None and encoded in self.lifted.spans:
                # Left in the package bytes by the parser (safexml.Lifted, issue 9).
                info, found = att.inspect_run(self.lifted.run(encoded), content_type,
                                              self.limits, keep_data=self.keep_data)
            else:
                info, found = self._inspect(enc, encoded, content_type)
            del encoded
            for f in found:
                self._locate(f, enc)
            if info is not None:
                meta = Attachment(
                    content_id=meta.content_id, name=meta.name, content_type=content_type,
                    description=meta.description, size=info.size, sha256=info.sha256,
                    detected_type=info.detected_type, entries=info.entries,
                    data=info.data if self.keep_data else None,
                )
                name_el = self.first(ak, "AttachmentName")
                if name_el is not None and meta.name:
                    self._locate(filetypes.judge_name(
                        meta.name, filenames.extension(meta.name), content_type,
                        info.detected_type, self.limits.allowed_types), name_el)
            out.append(meta)
        return tuple(out)
