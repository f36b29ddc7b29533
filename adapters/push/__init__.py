"""Push delivery: the node POSTs each package to the endpoint of an agency in `push` mode.

`signing` is the wire protocol (what an agency's endpoint verifies); `deliverer` is the
loop that pushes, retries with back-off and dead-letters. See docs/operations.md.
"""
