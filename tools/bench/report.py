"""The run's outputs: report.json, summary.md and chart.png (throughput and latency
against offered load), and the node/ceiling ratios printed at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def ratios(report: dict[str, Any]) -> dict[str, float]:
    """Node accepted/s over each ceiling's rate (same run, same payloads)."""
    steps = report["steps"]
    if not steps:
        return {}
    best = max(s["send"]["accepted_per_s"] for s in steps)
    c = report["ceilings"]
    out = {}
    if c.get("null_http"):
        out["node/null_http"] = best / max(c["null_http"]["send"]["accepted_per_s"], 1e-9)
    if c.get("postgres"):
        out["node/postgres_commit"] = best / max(c["postgres"]["commits_per_s"], 1e-9)
    if c.get("rabbitmq"):
        out["node/rabbitmq_publish"] = best / max(c["rabbitmq"]["published_per_s"], 1e-9)
    if c.get("sqlite"):
        out["node/sqlite_commit"] = best / max(c["sqlite"]["commits_per_s"], 1e-9)
    return out


def write(out: Path, report: dict[str, Any]) -> None:
    report["ratios"] = ratios(report)
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    (out / "summary.md").write_text(markdown(report))
    chart(out / "chart.png", report)


def _ms(lat: dict[str, float], key: str) -> str:
    return f"{lat[key]:.0f}" if lat else "–"


def markdown(report: dict[str, Any]) -> str:
    o = report["options"]
    lines = [
        f"# axis bench: {o['size']}, {o['recipients']} recipient(s), {o['backend']}",
        "",
        f"`{report['command']}`",
        "",
        f"{report['started_at']} · {report['machine']['cpus']} CPUs · load average "
        f"{report['machine']['loadavg_start']} at start, {report['machine']['loadavg_end']} at "
        f"end · node processes: {', '.join(report['node']['roles'])} (idle: "
        f"{report['node'].get('idle_cpu_per_s', 0):.2f} CPU s/s) · "
        f"package {report['package_bytes']} bytes, {o['urgent_share']:.0%} urgent",
        "",
        "| offered | accepted/s | copies/s | receipt p50 / p99 ms | takes/s | takes/s while "
        "sending | available p50 / p99 ms (urgent p50) | node CPU ms / package | "
        "peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in report["steps"]:
        send, take, lat = s["send"], s["take"], s["send"]["receipt_latency"]
        av, avu = take["available_latency"], take["available_latency_urgent"]
        lines.append(
            f"| {s['offered']} | {send['accepted_per_s']:.1f} | {send['copies_per_s']:.1f} | "
            f"{_ms(lat, 'p50_ms')} / {_ms(lat, 'p99_ms')} | {take['takes_per_s']:.1f} | "
            f"{take['takes_per_s_while_sending']:.1f} | {_ms(av, 'p50_ms')} / "
            f"{_ms(av, 'p99_ms')} ({_ms(avu, 'p50_ms')}) | "
            f"{s['cpu']['ms_per_accepted_while_sending']:.1f} (all work "
            f"{s['cpu']['ms_per_accepted_total']:.1f}, net of idle "
            f"{s['cpu']['ms_per_accepted_net_of_idle']:.1f}) | "
            f"{s['peak_rss_mb']:.0f} |")
    problems = report["node"].get("log_problems")
    if problems:
        lines += ["", "The node's logs: warnings and errors (a service restarted by someone else "
                  "on a shared machine shows here):", ""]
        lines += [f"- {n} × {k}" for k, n in sorted(problems.items(), key=lambda kv: -kv[1])[:12]]
    if report.get("at_fraction_of_peak"):
        lines += ["", *_at_fraction(report["at_fraction_of_peak"])]
    if report.get("backlog"):
        lines += ["", *_backlog(report["backlog"])]
    c = report["ceilings"]
    lines += ["", "Ceilings (same run, same payloads):", ""]
    if c.get("null_http"):
        n = c["null_http"]["send"]
        lines.append(f"- null HTTP endpoint, same client: {n['accepted_per_s']:.0f} req/s "
                     f"(p99 {_ms(n['receipt_latency'], 'p99_ms')} ms)")
    if c.get("rabbitmq"):
        r = c["rabbitmq"]
        lines.append(f"- RabbitMQ publish with confirms: {r['published_per_s']:.0f} msg/s; "
                     f"consume: {r['consumed_per_s']:.0f} msg/s")
    if c.get("postgres"):
        p = c["postgres"]
        lines.append(f"- PostgreSQL insert + commit, {p['connections']} connections: "
                     f"{p['commits_per_s']:.0f} commits/s")
    if c.get("sqlite"):
        lines.append(f"- SQLite insert + commit: {c['sqlite']['commits_per_s']:.0f} commits/s")
    lines += ["", "Ratios (best node accepted/s over the ceiling):", ""]
    lines += [f"- {k}: {v:.3f}" for k, v in report["ratios"].items()]
    prof = report.get("profile")
    if prof:
        lines += ["", f"Profile of the serve process (py-spy, {prof['samples']} samples, "
                  "busy threads only): own time", ""]
        lines += [f"- {pct:.1f} % {fn}" for fn, pct in prof["own"]]
        lines += ["", "inclusive time, the node's own functions:", ""]
        lines += [f"- {pct:.1f} % {fn}" for fn, pct in prof["node_inclusive"]]
    return "\n".join(lines) + "\n"


def _s(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def _at_fraction(a: dict[str, Any]) -> list[str]:
    def ms(v: float | None) -> str:
        return "–" if v is None else f"{v:.0f}"

    return [
        f"## Open loop at {a['fraction']:.0%} of the peak",
        "",
        f"Peak (best closed-loop step): {a['peak_accepted_per_s']:.1f} accepted/s; offered "
        f"{a['offered_per_s']:.1f}/s open loop, accepted {a['accepted_per_s']:.1f}/s. "
        f"Latency from each package's scheduled moment: receipt p50 / **p99** "
        f"{ms(a['receipt_p50_ms'])} / **{ms(a['receipt_p99_ms'])}** ms; submit → available "
        f"p50 / **p99** {ms(a['available_p50_ms'])} / **{ms(a['available_p99_ms'])}** ms"
        + (f"; refused {a['refused']}" if a["refused"] else "") + ".",
    ]


def _backlog(b: dict[str, Any]) -> list[str]:
    fill, ua = b["fill"], b["urgent_available"]
    after = b["backlog_available_after_resume"]
    lines = [
        f"## Urgent behind a backlog of {b['backlog']} (Art. 7.2: in the inbox < 1 s)",
        "",
        f"Workers stopped (SIGSTOP, {b['pause_attempts']} retries to stop them outside a "
        f"transaction) while {fill['accepted']} normal packages were accepted "
        f"({fill['accepted_per_s']:.1f}/s, {b['connections']} connections, receipt p50 / p99 "
        f"{_ms(fill['receipt_latency'], 'p50_ms')} / {_ms(fill['receipt_latency'], 'p99_ms')} "
        f"ms, refused {fill['refused'] or 'none'}); then resumed, and {b['urgent']} urgent "
        f"packages sent {b['spacing_s']:g} s apart from that moment.",
        "",
        f"- urgent submit → available (first listing): p50 / p99 / max "
        f"{_ms(ua, 'p50_ms')} / {_ms(ua, 'p99_ms')} / {_ms(ua, 'max_ms')} ms; "
        f"**{b['urgent_under_1s']} of {len(b['urgent_copies'])} under 1 s**"
        + (f", {b['urgent_not_seen']} never seen" if b["urgent_not_seen"] else ""),
        f"- urgent, the node's own `available_at` less the submit: p50 / max "
        f"{_ms(b['urgent_available_node'], 'p50_ms')} / "
        f"{_ms(b['urgent_available_node'], 'max_ms')} ms",
        f"- backlog drain (resume → last backlog copy available, the node's stamps): "
        f"**{_s(b['backlog_drain_s'])} s** (polled: {_s(b['backlog_drain_s_polled'])} s; "
        f"last first listing by the takers: {_s(b['backlog_drain_s_observed'])} s)"
        + ("" if b["backlog_drain_complete"] else
           f"; NOT drained in the window: {b['backlog_still_queued']} of "
           f"{b['backlog_copies']} copies still queued"),
        f"- normal copies, resume → available p50 / p99: {_ms(after, 'p50_ms')} / "
        f"{_ms(after, 'p99_ms')} ms; {b['backlog_copies_taken']} of {b['backlog_copies']} "
        f"taken, {b['takes_per_s']:.1f} takes/s; peak RSS "
        f"{b['peak_rss_mb']:.0f} MB",
        "",
        "| urgent | sent after resume s | receipt s | submit → available s (node's stamp) |",
        "|---|---|---|---|",
    ]
    for i, u in enumerate(b["urgent_copies"], 1):
        lines.append(f"| {i} | {u['submitted_after_resume_s']:.2f} | {u['receipt_s']:.2f} | "
                     f"{_s(u['available_s'])} ({_s(u['available_s_node'])}) |")
    return lines


def chart(path: Path, report: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if report.get("backlog") and not report["steps"]:
        _backlog_chart(path, report, plt)
        return
    # The open-loop step of `--rate auto` is a rate, not a point on the connections axis.
    steps = [s for s in report["steps"] if "auto" not in s]
    x = [s["offered_value"] for s in steps]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=80)
    left.plot(x, [s["send"]["accepted_per_s"] for s in steps], "o-", label="accepted/s")
    left.plot(x, [s["take"]["takes_per_s"] for s in steps], "s-", label="takes/s")
    null = report["ceilings"].get("null_http")
    if null:
        left.axhline(null["send"]["accepted_per_s"], ls="--", c="grey",
                     label="null HTTP (ceiling)")
        left.set_yscale("log")
    left.set_xlabel(report["offered_unit"])
    left.set_ylabel("per second")
    left.legend(fontsize=7)
    for key, label in (("p50_ms", "receipt p50"), ("p99_ms", "receipt p99")):
        right.plot(x, [s["send"]["receipt_latency"].get(key, 0) for s in steps], "o-",
                   label=label)
    right.plot(x, [s["take"]["available_latency"].get("p50_ms", 0) for s in steps], "s-",
               label="submit→available p50")
    right.set_xlabel(report["offered_unit"])
    right.set_ylabel("ms")
    right.set_yscale("log")
    right.legend(fontsize=7)
    o = report["options"]
    fig.suptitle(f"axis bench: {o['size']}, {o['recipients']} recipient(s), {o['backend']}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _backlog_chart(path: Path, report: dict[str, Any], plt: Any) -> None:
    b = report["backlog"]
    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=80)
    got = [u for u in b["urgent_copies"] if u["available_s"] is not None]
    ax.plot([u["submitted_after_resume_s"] for u in got], [u["available_s"] for u in got],
            "o", label="urgent: submit → available")
    ax.axhline(1.0, ls="--", c="grey", label="1 s (Art. 7.2)")
    if b["backlog_drain_s"] is not None:
        ax.axvline(b["backlog_drain_s"], ls=":", c="red", label="backlog drained")
    ax.set_xlabel("submitted, seconds after the workers resumed")
    ax.set_ylabel("s")
    ax.legend(fontsize=7)
    o = report["options"]
    fig.suptitle(f"axis bench: urgent behind {b['backlog']} normal, {o['size']}, "
                 f"{o['backend']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
