"""Authentication of agency systems, in the core: no web framework in here.

`signing` is the wire contract (canonical string, HMAC-SHA256, timestamps, key
derivation), `keys` keeps the node's credential master key, `admission` is the small
port that refuses replays and enforces `ratelimit`'s buckets (its SQL implementation,
shared by every node process, is adapters/store/auth_state.py), `gate` ties it to the
registry, and `visibility` decides which part of a document's trail an agency may see.
"""
