"""Push delivery: the node POSTs each package to the endpoint of an agency in `push` mode.

`signing` is the wire protocol (what an agency's endpoint verifies); `deliverer` is the
HTTP transport of the push channel, whose policy (retries with back-off, dead letters) is
the core's (axis/route/channels/push.py); `attempts` keeps each copy's attempt budget in
the database. See docs/operations.md.
"""
