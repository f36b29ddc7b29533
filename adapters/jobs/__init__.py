"""The node's background work: loops (delivery, push) and periodic jobs (APScheduler),
started and stopped with the server (adapters/rest/app.py), each reporting its heartbeat
to the health registry (axis/health.py)."""
