"""The application layer: each operation an agency (and later a peer node or the
console) can ask of the node, defined once over ports.

An edge (REST, SOAP, the national-axis listener, the console) decodes its transport,
calls one operation with typed values, and encodes the typed answer; who may do what,
which identifiers are well formed and what a caller may see are decided here, not in the
edges. Nothing in this package imports a framework or an adapter.
"""
