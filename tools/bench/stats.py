"""Figures of one step from the sender's and the recipients' records."""

from __future__ import annotations

from collections import Counter
from typing import Any


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds (nearest rank); empty: {}."""
    if not values:
        return {}
    s = sorted(values)

    def rank(p: float) -> float:
        return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))] * 1000

    return {"p50_ms": rank(50), "p90_ms": rank(90), "p99_ms": rank(99), "max_ms": s[-1] * 1000,
            "count": len(s)}


def sends(data: dict[str, Any]) -> dict[str, Any]:
    records = data["records"]
    ok = [r for r in records if r["ok"]]
    start = data["start"]
    last = max((r["t_receipt"] for r in records), default=start)
    took = max(last - start, 1e-9)
    return {
        "submitted": len(records), "accepted": len(ok),
        "refused": dict(Counter(r.get("code", "duplicate") for r in records if not r["ok"])),
        "seconds": took, "accepted_per_s": len(ok) / took,
        "copies_accepted": sum(r.get("deliveries", 0) for r in ok),
        "copies_per_s": sum(r.get("deliveries", 0) for r in ok) / took,
        "packages_exhausted": data["exhausted"],
        "receipt_latency": percentiles([r["t_receipt"] - r["t_submit"] for r in ok]),
        "receipt_latency_urgent": percentiles(
            [r["t_receipt"] - r["t_submit"] for r in ok if r["urgent"]]),
    }


def takes(send_data: dict[str, Any], take_data: dict[str, Any]) -> dict[str, Any]:
    """Takes per second and submit → available / taken, joined by document id."""
    submitted = {r["document_id"]: r for r in send_data["records"] if r["ok"]}
    records = take_data["records"]
    start = send_data["start"]
    send_end = max((r["t_receipt"] for r in send_data["records"]), default=start)
    during = [r for r in records if r["t_taken"] <= send_end]
    first = min((r["t_taken"] for r in records), default=start)
    last = max((r["t_taken"] for r in records), default=start)
    avail, avail_urgent, taken = [], [], []
    for r in records:
        sent = submitted.get(r["document_id"])
        if sent is None:
            continue
        avail.append(r["t_seen"] - sent["t_submit"])
        taken.append(r["t_taken"] - sent["t_submit"])
        if sent["urgent"]:
            avail_urgent.append(r["t_seen"] - sent["t_submit"])
    return {
        "taken": len(records),
        "takes_per_s": len(records) / max(last - first, 1e-9) if records else 0.0,
        "takes_per_s_while_sending": len(during) / max(send_end - start, 1e-9),
        "take_seconds": last - first, "last_take_after_send_end_s": max(last - send_end, 0.0),
        "errors": take_data["errors"],
        "available_latency": percentiles(avail),
        "available_latency_urgent": percentiles(avail_urgent),
        "taken_latency": percentiles(taken),
    }
