"""Bare ceilings measured in the same run, with the same payloads as the node gets:
RabbitMQ publish-with-confirms + consume (pika), PostgreSQL insert + commit (psycopg),
SQLite insert + commit (the embedded default's engine). The null HTTP endpoint is run by
`tools.bench.run` with the same sender process as the node.

Each works in a namespace of its own (a queue, a schema, a file) and removes it.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

CONSUMER_DRAIN_S = 10.0  # after the publisher stops, how long the consumer may catch up


def _publish(url: str, queue_name: str, body: bytes, seconds: float,
             out: Any) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.confirm_delivery()  # every basic_publish waits for the broker's confirm
    n, end = 0, time.time() + seconds
    start = time.time()
    while time.time() < end:
        ch.basic_publish("", queue_name, body,
                         pika.BasicProperties(delivery_mode=2), mandatory=True)
        n += 1
    out.put(("published", n, time.time() - start))
    conn.close()


def _consume(url: str, queue_name: str, seconds: float, out: Any) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=200)
    n, start = 0, time.time()
    end = start + seconds + CONSUMER_DRAIN_S
    last = start
    for method, _props, _body in ch.consume(queue_name, inactivity_timeout=1.0):
        now = time.time()
        if method is None:
            if now > start + seconds:
                break
            continue
        ch.basic_ack(method.delivery_tag)
        n, last = n + 1, now
        if now > end:
            break
    ch.cancel()
    out.put(("consumed", n, last - start))
    conn.close()


def rabbitmq(url: str, body: bytes, seconds: float) -> dict[str, Any]:
    """One publisher process (a confirm per message, persistent messages, a durable
    queue) and one consumer process (prefetch 200, an ack per message), at once."""
    import pika

    queue_name = f"axis-bench-ceiling-{uuid.uuid4().hex[:10]}"
    conn = pika.BlockingConnection(pika.URLParameters(url))
    conn.channel().queue_declare(queue_name, durable=True)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_publish, args=(url, queue_name, body, seconds, out)),
             ctx.Process(target=_consume, args=(url, queue_name, seconds, out))]
    try:
        for p in procs:
            p.start()
        got = {}
        for _ in procs:
            kind, n, took = out.get(timeout=seconds + CONSUMER_DRAIN_S + 60)
            got[kind] = (n, took)
        for p in procs:
            p.join()
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        conn.channel().queue_delete(queue_name)
        conn.close()
    pub, con = got["published"], got["consumed"]
    return {"published": pub[0], "published_per_s": pub[0] / pub[1] if pub[1] else 0.0,
            "consumed": con[0], "consumed_per_s": con[0] / con[1] if con[1] else 0.0,
            "message_bytes": len(body)}


def postgres(sqlalchemy_url: str, body: bytes, seconds: float,
             connections: int) -> dict[str, Any]:
    """`connections` threads, each inserting one row (the package bytes) and committing,
    in a schema of its own."""
    import psycopg

    conninfo = sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)
    schema = f"axis_bench_ceiling_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        admin.execute(f'CREATE TABLE "{schema}".t (id bigserial PRIMARY KEY, '
                      'doc text NOT NULL, body bytea NOT NULL)')
    counts = [0] * connections
    end = time.time() + seconds

    def work(i: int) -> None:
        with psycopg.connect(conninfo) as conn:
            while time.time() < end:
                conn.execute(f'INSERT INTO "{schema}".t (doc, body) VALUES (%s, %s)',
                             (uuid.uuid4().hex, body))
                conn.commit()
                counts[i] += 1

    start = time.time()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(connections)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    took = time.time() - start
    return {"commits": sum(counts), "commits_per_s": sum(counts) / took,
            "connections": connections, "row_bytes": len(body)}


def sqlite(directory: Path, body: bytes, seconds: float) -> dict[str, Any]:
    """One connection (SQLite has one writer), WAL, an insert and a commit per row."""
    path = directory / f"ceiling-{uuid.uuid4().hex[:8]}.sqlite3"
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, doc TEXT, body BLOB)")
        conn.commit()
        n, start = 0, time.time()
        while time.time() < start + seconds:
            conn.execute("INSERT INTO t (doc, body) VALUES (?, ?)", (uuid.uuid4().hex, body))
            conn.commit()
            n += 1
        took = time.time() - start
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return {"commits": n, "commits_per_s": n / took, "row_bytes": len(body)}
