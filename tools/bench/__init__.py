"""`axis bench`: the node's throughput, latency and cost on this machine, with the same
run's ceilings (see docs/benchmarks.md). Needs the source checkout (tools/ is not part of
the installed package) and the dev extras (matplotlib; py-spy for --profile)."""
