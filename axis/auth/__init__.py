"""Authentication of agency systems, in the core: no web framework in here.

`signing` is the wire contract (canonical string, HMAC-SHA256, timestamps, key
derivation), `keys` keeps the node's credential master key, `replay` and `ratelimit` are
small ports (their SQL implementations, shared by every node process, are in
adapters/store/auth_state.py), `gate` ties them to the registry, and
`visibility` decides which part of a document's trail an agency may see.
"""
