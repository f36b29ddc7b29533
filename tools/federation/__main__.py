"""``python -m tools.federation up --dir DIR [--backend embedded|rabbit-postgres]
[--route national|direct] [--sim-port P] [--h37-port P] [--h41-port P]``.

Starts the simulated national axis and the two nodes, prints the URLs, the agency
credentials and one line per process, and stays up until Ctrl-C (or SIGTERM), then stops
everything (docs/federation-testbed.md). DIR keeps the logs and the data afterwards.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from tools.federation.testbed import EMBEDDED, RABBIT_POSTGRES, Testbed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.federation",
                                     description="A test federation on loopback.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the national axis and two nodes; Ctrl-C stops")
    up.add_argument("--dir", type=Path, required=True, help="state, configs and logs")
    up.add_argument("--backend", choices=(EMBEDDED, RABBIT_POSTGRES), default=EMBEDDED)
    up.add_argument("--route", choices=("national", "direct"), default="national",
                    help="which peer serves the other province's agencies")
    for name in ("sim", "h37", "h41"):
        up.add_argument(f"--{name}-port", type=int, default=0, metavar="PORT",
                        help="default: a free port")
    args = parser.parse_args(argv)

    if args.dir.exists() and any(args.dir.iterdir()):
        print(f"{args.dir}: not empty (a testbed is configured once, in a fresh directory)",
              file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ports = {"sim": args.sim_port, "h37": args.h37_port, "h41": args.h41_port}
    bed = Testbed(args.dir, backend=args.backend, route=args.route,
                  ports={k: v for k, v in ports.items() if v})
    print("starting the federation (configuring it through the axis CLI first) …",
          flush=True)
    try:
        bed.start()
        for line in bed.describe():
            print(line)
        print("up; Ctrl-C stops everything", flush=True)
        while not stop.wait(1.0):
            gone = [n for n, p in bed.procs.items() if not p.alive()]
            if gone:
                print(f"exited: {', '.join(gone)} (see its log); stopping", file=sys.stderr)
                return 1
        return 0
    finally:
        bed.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
