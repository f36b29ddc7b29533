"""``python -m tools.vdxp_sim --host 127.0.0.1 --port P --config C.json --data-dir D``.

The socket is bound and listening before the line ``vdxp-sim running on http://H:P`` is
printed (and flushed), so a test that sees the line, or that can connect, can talk to it:
connections wait in the backlog until uvicorn's loop takes them. ``--port 0`` picks a free
port and prints it. SO_REUSEADDR lets a killed simulator be restarted on the same port.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

import uvicorn

from tools.vdxp_sim.config import load_config
from tools.vdxp_sim.server import make_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.vdxp_sim",
                                     description="Simulated national axis (VDXP), for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    app = make_app(load_config(args.config), args.data_dir)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, access_log=False))
    print(f"vdxp-sim running on http://{args.host}:{port}", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
