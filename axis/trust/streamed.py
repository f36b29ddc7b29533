"""The streamed reference check: signxml's digest of a whole-document reference, without
its four copies of the document (issue 9).

`OwnTreeVerifier` is signxml's `XMLVerifier` minus the defensive copies our input makes
unnecessary; for the one reference shape `structure.py` admits it canonicalises the tree
with lxml's C14N into a `_Spool` that hashes every chunk and keeps the bytes (memory, then
a file), lifting large texts out of the tree while it does (`_canonical_into`). Anything
else goes to signxml unchanged. `verify.Verifier` is its only user.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm
from signxml.exceptions import InvalidDigest, InvalidInput
from signxml.util import _remove_sig
from signxml.verifier import VerifyResult, XMLVerifier

from axis.edxml import safexml
from axis.edxml.model import DSIG_NS
from axis.trust.algorithms import ENVELOPED

Element = etree._Element

# Canonical bytes up to this size stay in memory; beyond, they go to a file.
_SPOOL_IN_MEMORY = 1 << 20
_C14N_10 = frozenset({CanonicalizationMethod.CANONICAL_XML_1_0.value,
                      CanonicalizationMethod.CANONICAL_XML_1_0_WITH_COMMENTS.value,
                      CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value,
                      CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0_WITH_COMMENTS
                      .value})
_DIGESTS: dict[DigestAlgorithm, Callable[[], Any]] = {
    DigestAlgorithm.SHA1: hashlib.sha1, DigestAlgorithm.SHA224: hashlib.sha224,
    DigestAlgorithm.SHA256: hashlib.sha256, DigestAlgorithm.SHA384: hashlib.sha384,
    DigestAlgorithm.SHA512: hashlib.sha512,
}


def _streamable(
    verifier: XMLVerifier, reference: Element, root: Element,
) -> tuple[bool, bool, list[str] | None] | None:
    """(exclusive, with_comments, inclusive prefixes) when the reference can be checked
    by streaming with exactly signxml's result, else None."""
    if reference.get("URI") != "":
        return None
    if root.getparent() is not None or root.getprevious() is not None \
            or root.getnext() is not None:
        return None  # signxml's copy of the root drops prolog siblings: let it do it
    alg = reference.find(f"{{{DSIG_NS}}}DigestMethod")
    if alg is None:
        return None
    try:
        if DigestAlgorithm(alg.get("Algorithm")) not in _DIGESTS:
            return None
    except ValueError:
        return None
    transforms = reference.findall(f"{{{DSIG_NS}}}Transforms/{{{DSIG_NS}}}Transform")
    names = [t.get("Algorithm") for t in transforms]
    c14n = [t for t in transforms if t.get("Algorithm") != ENVELOPED]
    if ENVELOPED not in names or len(c14n) > 1:
        return None
    if not c14n:
        method = verifier.config.default_reference_c14n_method.value
        prefixes = None
    else:
        method = c14n[0].get("Algorithm") or ""
        prefixes = verifier._get_inclusive_ns_prefixes(  # type: ignore[no-untyped-call]
            c14n[0])
    if method not in _C14N_10:
        return None  # C14N 1.1, base64, XPath …: signxml's own path
    exclusive = method.startswith("http://www.w3.org/2001/10/xml-exc-c14n#")
    return exclusive, method.endswith("#WithComments"), prefixes


# A text longer than this is lifted out of the tree while it is canonicalised.
_BIG_TEXT = 256 * 1024
_TEXT_CHUNK = 1 << 20


def _c14n_text(text: str) -> bytes:
    """A text node as C14N 1.0 writes it (§2.3: &, <, > and #xD escaped)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#xD;").encode("utf-8"))


def _canonical_into(sink: _Spool, root: Element, *, exclusive: bool, with_comments: bool,
                    prefixes: list[str] | None, restore: bool,
                    lifted: safexml.Lifted | None = None) -> None:
    """Write the C14N 1.0 form of `root`'s document into `sink`, as lxml would.

    libxml2 canonicalises a text node by building its escaped copy in a buffer grown by
    doubling, then the whole output in another: a 45 MB base64 attachment cost ~140 MB
    on top of the tree. So each large text is lifted out first (its element gets a
    unique marker instead, which frees the tree's copy), the now small document is
    canonicalised, and the output is written with each marker replaced by its text,
    escaped here chunk by chunk exactly as C14N escapes text. A marker that does not
    come out exactly once (the document contains it already) falls back to lxml alone.

    Texts the parser already left in the package bytes (`lifted`) keep their
    placeholder: the digest reads the package's run instead (base64 and spaces: nothing
    C14N escapes), while the spool, from which the signed tree is parsed, keeps the
    placeholder, so the signed tree has it too.
    """
    token = uuid.uuid4().hex
    runs: list[tuple[bytes, memoryview]] = []
    lifted_here: list[tuple[Element, bytes, str]] = []
    for el in root.iter(etree.Element):
        text = el.text
        if lifted is not None and text is not None and text in lifted.spans:
            runs.append((text.encode("ascii"), lifted.run(text)))
        elif text is not None and len(text) > _BIG_TEXT:
            name = f"axis-c14n-{token}-{len(lifted_here)}x"
            el.text = name  # frees the tree's copy: `text` is now the only one
            lifted_here.append((el, name.encode("ascii"), text))
        del text
    tree: Any = etree.ElementTree(root)  # lxml-stubs lack write_c14n's keywords
    if not lifted_here and not runs:
        tree.write_c14n(sink, exclusive=exclusive, with_comments=with_comments,
                        inclusive_ns_prefixes=prefixes)
        return
    small = io.BytesIO()
    tree.write_c14n(small, exclusive=exclusive, with_comments=with_comments,
                    inclusive_ns_prefixes=prefixes)
    form = small.getvalue()
    if any(form.count(marker) != 1 for _, marker, _ in lifted_here) or any(
            form.count(marker) != 1 for marker, _ in runs):
        for el, _, text in lifted_here:
            el.text = text
        lifted_here.clear()
        if runs:  # cannot be: parse_lifted checked its placeholders are unique
            raise InvalidInput("a lifted attachment's placeholder is not unique")
        tree.write_c14n(sink, exclusive=exclusive, with_comments=with_comments,
                        inclusive_ns_prefixes=prefixes)
        return
    # Both kinds of placeholder, in the order they come in the canonical form.
    order = sorted([(form.index(m), m, None, r) for m, r in runs]
                   + [(form.index(m), m, (el, t), None) for el, m, t in lifted_here],
                   key=lambda item: item[0])
    lifted_here.clear()
    at = 0
    for found, marker, own, run in order:
        sink.write(form[at:found])
        if run is not None:
            for i in range(0, len(run), _TEXT_CHUNK):
                sink.hash_only(run[i:i + _TEXT_CHUNK])
            sink.spool_only(marker)
        elif own is not None:
            el, text = own
            for i in range(0, len(text), _TEXT_CHUNK):
                sink.write(_c14n_text(text[i:i + _TEXT_CHUNK]))
            el.text = text if restore else None
            del text
        at = found + len(marker)
    del order
    sink.write(form[at:])


class _Spool:
    """Where lxml's C14N writes: every chunk hashed, and kept (memory, then a file)."""

    def __init__(self, hasher: Any, directory: Path | None) -> None:
        self._hash = hasher
        self._dir = directory
        self._mem: io.BytesIO | None = io.BytesIO()
        self._file: IO[bytes] | None = None

    def write(self, data: bytes) -> int:
        self.hash_only(data)
        self.spool_only(data)
        return len(data)

    def hash_only(self, data: bytes | memoryview) -> None:
        self._hash.update(data)

    def spool_only(self, data: bytes) -> None:
        if self._mem is not None:
            self._mem.write(data)
            if self._mem.tell() > _SPOOL_IN_MEMORY:
                if self._dir is not None:
                    self._dir.mkdir(parents=True, exist_ok=True)
                self._file = tempfile.TemporaryFile(  # noqa: SIM115 (closed in close())
                    prefix="c14n-", dir=self._dir)
                self._file.write(self._mem.getbuffer())
                self._mem = None
        elif self._file is not None:
            self._file.write(data)

    def digest(self) -> bytes:
        out: bytes = self._hash.digest()
        return out

    def parse(self, parser: etree.XMLParser) -> Element:
        if self._mem is not None:
            return etree.fromstring(self._mem.getvalue(), parser)
        assert self._file is not None
        self._file.flush()
        self._file.seek(0)
        root = etree.parse(self._file, parser).getroot()
        return root

    @staticmethod
    def checked(root: Element) -> Element:
        """signxml's `_fromstring` checks, on what was parsed here."""
        docinfo: Any = root.getroottree().docinfo  # the stubs say never None; it can be
        if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            raise InvalidInput("DTD declarations are not supported in XML input")
        for _ in root.iter(etree.Entity):
            raise InvalidInput("Entities are not supported in XML input")
        return root

    def close(self) -> None:
        self._mem = None
        if self._file is not None:
            self._file.close()


class OwnTreeVerifier(XMLVerifier):
    """signxml, minus the defensive copies that our input makes unnecessary.

    signxml serialises and re-parses its input so that namespaces inherited from a parent
    cannot leak into C14N. Ours is a document root just parsed by safexml (no parent), and
    signxml never modifies it: it copies again before applying the enveloped transform.
    Skipping the first copy saves a serialise + parse per package (see bench_trust.py).
    The reference check is streamed (`_verify_reference`).
    """

    def __init__(self, *, spool_dir: Path | None = None, release_root: bool = False,
                 lifted: safexml.Lifted | None = None) -> None:
        super().__init__()
        self.spool_dir = spool_dir
        self.release_root = release_root
        self.lifted = lifted

    def get_root(self, data: object) -> object:
        if isinstance(data, etree._Element) and data.getparent() is None:
            return data
        return super().get_root(data)  # type: ignore[no-untyped-call]

    def _verify_reference(  # type: ignore[no-untyped-def]
        self, reference, index, root, uri_resolver, c14n_algorithm, signature,
        signature_key_used,
    ):
        """signxml's reference check, streamed for the one shape structure.py admits.

        signxml serialises the whole document, re-parses it, serialises it again,
        canonicalises it into one bytes object and re-parses that: four copies of a 45 MB
        package at once (issue 9). For `URI=""` with the enveloped transform and at most
        one C14N 1.0 / exclusive transform, the same canonical bytes are produced here by
        lxml's C14N writing to a sink that hashes them and spools them (memory, then a
        file past `_SPOOL_IN_MEMORY`); `signed_xml` is parsed from that spool, as signxml
        parses its bytes. The enveloped transform is applied to `root` itself (signxml
        applies it to a copy): the tree is the verifier's own (`verify_tree`'s contract).
        Anything else (a prolog with comments or PIs, which signxml's copy drops, other
        transforms) goes to signxml unchanged."""
        plan = _streamable(self, reference, root)
        if plan is None:
            return super()._verify_reference(  # type: ignore[no-untyped-call]
                reference, index, root, uri_resolver, c14n_algorithm, signature,
                signature_key_used)
        exclusive, with_comments, prefixes = plan
        signxml: Any = self  # signxml's helpers are untyped
        digest_alg = DigestAlgorithm(signxml._find(reference, "DigestMethod").get("Algorithm"))
        signxml.check_digest_alg_expected(digest_alg)
        digest_value = signxml._find(reference, "DigestValue")
        remove_sig: Any = _remove_sig
        remove_sig(signxml._get_signature(root), idempotent=True)
        sink = _Spool(_DIGESTS[digest_alg](), self.spool_dir)
        try:
            _canonical_into(sink, root, exclusive=exclusive, with_comments=with_comments,
                            prefixes=prefixes, restore=not self.release_root,
                            lifted=self.lifted)
            if self.release_root:
                # The original tree is no longer needed: free it before the signed copy
                # is parsed, so that the two are never held together.
                root.clear()
            if base64.b64decode(digest_value.text) != sink.digest():
                raise InvalidDigest(
                    f"Digest mismatch for reference {index} ({reference.get('URI')})")
            signed_xml = _Spool.checked(sink.parse(self.parser))
        finally:
            sink.close()
        if isinstance(signature_key_used, bytes):
            key = signature_key_used
        else:
            key = signature_key_used.public_bytes(Encoding.PEM,
                                                  PublicFormat.SubjectPublicKeyInfo)
        # signed_data: the canonical bytes are not kept (that is the point); nothing here
        # reads them, only `signed_xml`.
        return VerifyResult(b"", signed_xml, signature, signature_key=key)

    def _check_cert_validity(self, cert: x509.Certificate, cert_source: str) -> None:
        # Same check, but the error text (two RFC 4514 renderings) is built only on
        # failure. The chain validator has already checked every link at the same instant.
        when = self._get_cert_verification_time()  # type: ignore[no-untyped-call]
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            super()._check_cert_validity(cert, cert_source)  # type: ignore[no-untyped-call]
