"""The national axis's protocol (the VNPT SDK's, ../shared/spec/vdxp.md): the
compatibility listener agency systems built for the national axis connect to
(`listener.mount`), and the node's own client of it (`client.VdxpClient`). docs/vdxp.md.

Nothing is imported here: the node's forwarding imports the client, and the listener
imports the node (no cycle through this package)."""
