"""One module per revision, in a single line of descent (0001_registry, 0002_route, …)."""
