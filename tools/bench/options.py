"""The options of `axis bench`: argparse only, so that `axis --help` stays light."""

from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EMBEDDED, POSTGRES_RABBIT = "embedded", "postgres-rabbit"
SIZES = ("5KB", "360KB", "45MB")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", choices=SIZES, default="5KB")
    p.add_argument("--recipients", type=int, choices=(1, 10, 100), default=1)
    p.add_argument("--urgent-share", type=float, default=0.05, help="share of urgent packages")
    p.add_argument("--seconds", type=float, default=20.0, help="sending time of each step")
    p.add_argument("--concurrency", default="8",
                   help="connections; a comma list makes one step each (closed loop)")
    p.add_argument("--rate", default="",
                   help="open loop: packages/s, a comma list makes one step each; 'auto': "
                        "the closed-loop steps of --concurrency find the peak accepted/s, "
                        "then one open-loop step at --auto-fraction of it")
    p.add_argument("--auto-fraction", type=float, default=0.8,
                   help="with --rate auto: the open-loop rate as a share of the peak")
    p.add_argument("--backlog", type=int, default=0,
                   help="the urgent-behind-a-backlog case instead of steps: with the "
                        "`axis worker` processes stopped (SIGSTOP), submit this many normal "
                        "packages, resume them (SIGCONT) and submit --backlog-urgent urgent "
                        "ones to the same recipients (tools/bench/backlog.py)")
    p.add_argument("--backlog-urgent", type=int, default=10,
                   help="urgent (Priority 1) packages sent behind the backlog")
    p.add_argument("--backlog-spacing", type=float, default=0.5,
                   help="seconds between two urgent packages behind the backlog")
    p.add_argument("--backend", choices=(EMBEDDED, POSTGRES_RABBIT), default=EMBEDDED)
    p.add_argument("--out", help="output directory (default reports/bench/<time>)")
    p.add_argument("--packages", type=int, default=0,
                   help="packages to pre-sign per step (default: from size and seconds)")
    p.add_argument("--takers", type=int, default=4, help="recipient threads")
    p.add_argument("--drain-seconds", type=float, default=120.0,
                   help="after sending, how long recipients may go on taking")
    p.add_argument("--ceilings", default="auto",
                   help="auto | none | comma list of null,rabbitmq,postgres,sqlite")
    p.add_argument("--ceiling-seconds", type=float, default=0.0,
                   help="length of each ceiling (default: min(seconds, 10))")
    p.add_argument("--serve-workers", type=int, default=1,
                   help="HTTP processes (`axis serve --workers N`, when the CLI has it)")
    p.add_argument("--worker-processes", default="auto",
                   help="`axis worker` processes (auto: 1 when the CLI has the command)")
    p.add_argument("--log-level", default="info", help="the node's log level")
    p.add_argument("--profile", action="store_true",
                   help="py-spy the serve process during the first step (profile.txt)")
    p.add_argument("--cache", default=str(REPO / "var" / "bench-cache"),
                   help="where signed packages are kept between runs")
