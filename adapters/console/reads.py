"""The traffic operations (axis/app/traffic.py) as the console's pages call them: built
from the node's parts, with the live gauges /metrics reads (adapters/node.py
`scrape_sources`) and the health registry /readyz reads (the app's `state.health`)."""

from __future__ import annotations

from fastapi import Request

from adapters.console.web import Console
from adapters.node import scrape_sources
from adapters.store.blobs import FileBlobs
from adapters.store.traffic_repo import SqlTrafficReads
from axis.app.traffic import GaugeSources, TrafficOperations
from axis.health import Heartbeats


def traffic(console: Console) -> TrafficOperations:
    node = console.node
    return TrafficOperations(
        reads=SqlTrafficReads(node.store.engine), directory=node.registry,
        blobs=FileBlobs(node.settings.data_dir / "packages").content)


def gauges(console: Console, request: Request) -> GaugeSources:
    sources = scrape_sources(console.node)
    health: Heartbeats = request.app.state.health
    return GaugeSources(queue_depths=sources.queue_depths,
                        certificate_expires=sources.certificate_expires,
                        crl_ages=sources.crl_ages, peers=sources.peers, beats=health.status)
