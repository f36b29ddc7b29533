"""Federation (issue 10): the peers this node exchanges with — the national axis and other
provinces' Axis nodes — as registry data, the intake of what they bring, and the admin
operations on them. Forwarding itself is a delivery channel (axis/route/channels/peer.py).
"""
