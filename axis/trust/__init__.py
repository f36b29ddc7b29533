"""Trust: signature verification and signing, trust anchors, certificate checks.

Art. 7.1 and 12.3: authenticity of origin and integrity for every document.

- `setup.build(settings, at)` pins the configuration at start-up and returns the stage,
  a callable `(raw, at) -> TrustedPackage` (`signed.verify_and_read`): `Verifier.verify`
  → `policy.decide` → read only `Verdict.signed_root`.
- `sign.NodeSigner` signs what the node emits; `sign.ensure_node_identity` makes the
  embedded default's key and certificate on first start.
- `pki` is the test PKI behind `axis pki`.
"""
