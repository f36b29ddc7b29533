"""Prometheus metrics of one node (issue 5): an observability adapter, not a REST one.

`instruments` holds what the edges feed as things happen (`NodeMetrics`, the counted
`MeteredExchange`); `collectors` reads figures at scrape time through narrow callables
(`ScrapeSources`), so nothing here depends on the composition root (`adapters/node.py`)
and the root can import it freely. `/metrics` itself is served by `adapters/rest/app.py`.
"""
