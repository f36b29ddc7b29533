"""A process's memory as the kernel counts it (/proc/<pid>/status): the large-package
tests run their node or trust stage in a subprocess and read its peak (VmHWM)."""

from __future__ import annotations


def status_bytes(key: str, pid: str = "self") -> int:
    """A `kB` line of /proc/<pid>/status (VmHWM, VmRSS …) in bytes."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(key)
