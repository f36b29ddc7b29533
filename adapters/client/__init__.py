"""Clients of the node's APIs, for agency systems, tests and people trying the node."""
