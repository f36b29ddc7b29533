"""A test federation on loopback (issue 10): two provincial Axis nodes (Lạng Sơn H37 and
Nghệ An H41) and the simulated national axis, each in processes of its own, with its own
database (and, on "rabbit-postgres", its own PostgreSQL schema and RabbitMQ prefix).

    python -m tools.federation up --dir DIR      everything, until Ctrl-C
    from tools.federation.testbed import Testbed  the same, from a test

See docs/federation-testbed.md.
"""
