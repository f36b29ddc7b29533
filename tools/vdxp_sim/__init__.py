"""A simulated national axis (VDXP) and an SDK-like connector, for tests only.

Both are written from ``/work/shared/spec/vdxp.md`` alone and import nothing from ``axis``
or ``adapters``: they are independent implementations of the protocol, so the node can be
tested against a party that did not share its code or its misreadings.

- :mod:`tools.vdxp_sim.server`: ``make_app(config, data_dir)``, the national axis
  (FastAPI, state in SQLite under ``data_dir``). The error codes are listed there.
- :mod:`tools.vdxp_sim.connector`: ``SdkConnector``, a client that behaves like the VNPT
  Java SDK (every parameter sent twice, fixed timestamp, HMAC over a JSON of headers).
- ``python -m tools.vdxp_sim --host H --port P --config C.json --data-dir D`` runs it.
"""

from tools.vdxp_sim.config import SimConfig, SystemConfig, UnitConfig, load_config
from tools.vdxp_sim.server import make_app

__all__ = ["SimConfig", "SystemConfig", "UnitConfig", "load_config", "make_app"]
