"""A worker process for the tracker's crash test (tests/test_tasks_tracker.py): builds the
node on the given database, runs one tracker pass that stops just before its commit,
prints `applied` and waits for stdin; the test kills it there (SIGKILL)."""

from __future__ import annotations

import sys
from pathlib import Path

from adapters.node import build_node
from adapters.task_parts import task_parts
from axis.settings import Settings, TrustSettings


def main() -> None:
    data_dir, database_url, anchors = sys.argv[1:4]
    node = build_node(Settings(data_dir=Path(data_dir), database_url=database_url,
                               trust=TrustSettings(anchors_dir=Path(anchors))))
    tracker = task_parts(node).tracker

    def hold() -> None:
        print("applied", flush=True)
        sys.stdin.readline()  # killed while waiting here, the transaction uncommitted

    tracker.before_commit = hold
    tracker.run_once()
    print("committed", flush=True)


if __name__ == "__main__":
    main()
