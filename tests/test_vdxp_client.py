"""The node's outbound client of the national axis's protocol (adapters/vdxp/client.py)
against a real listener (another node's /vdxp/ on a real uvicorn server): the exchange
round trip, and each failure class it raises (peer.refused, peer.unreachable,
peer.bad_answer)."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
from exchange_support import NOI_VU, TAI_CHINH, UBND, TestNode, start_node
from vdxp_support import VdxpNode, serve_vdxp

from adapters.vdxp.client import VdxpClient, VdxpItem
from axis import errors
from axis.errors import AxisError
from axis.route.model import TransportState
from axis.settings import VdxpSettings, VdxpSystem


@pytest.fixture()
def v(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[VdxpNode]:
    t: TestNode = start_node(tmp_path, *pki_dirs)
    systems = tuple(VdxpSystem(system_id=s, addresses=(ip_network("127.0.0.1/32"),))
                    for s in ("peer-ubnd", "peer-noivu"))
    with serve_vdxp(t, VdxpSettings(enabled=True, systems=systems)) as served:
        yield served
    t.node.close()


@pytest.fixture()
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def client(v: VdxpNode, http: httpx.Client, agency_id: str, system_id: str) -> VdxpClient:
    return VdxpClient(v.url, system_id, v.credential(agency_id, system_id), http=http,
                      now=v.t.clock.now)


def test_round_trip(v: VdxpNode, http: httpx.Client) -> None:
    t = v.t
    ubnd, noi_vu = client(v, http, UBND, "peer-ubnd"), client(v, http, NOI_VU, "peer-noivu")
    _, raw = t.document(UBND, (NOI_VU, TAI_CHINH), 601)

    doc = ubnd.send_edoc(raw, sender=UBND, recipients=[NOI_VU, TAI_CHINH],
                         message_type="edoc")
    assert doc == hashlib.sha256(raw).hexdigest()
    t.deliver_all()

    [item] = noi_vu.received("edoc")
    assert isinstance(item, VdxpItem)
    assert (item.sender, item.to, item.message_type) == (UBND, NOI_VU, "edoc")
    assert item.created_time.startswith("2026-11-24T09:00:00")
    assert noi_vu.received("status") == []
    assert noi_vu.get_edoc(item.doc_id) == raw  # byte-identical
    noi_vu.update_status(item.doc_id, "done")
    with t.node.store.transaction() as tx:
        d = tx.get_delivery(item.doc_id)
    assert d is not None and d.transport_state is TransportState.DONE

    sent = ubnd.sent()
    assert {(r["toCode"], r["senderDocId"]) for r in sent} == {
        (NOI_VU, doc), (TAI_CHINH, doc)}
    agencies = ubnd.agencies(qd20=True)
    assert any(a["code102"] == UBND for a in agencies)
    assert any(a["id"] == NOI_VU for a in ubnd.agencies())


def test_refusals_carry_the_peer_code(v: VdxpNode, http: httpx.Client) -> None:
    ubnd = client(v, http, UBND, "peer-ubnd")
    with pytest.raises(AxisError) as refused:
        ubnd.register_agency({"id": "1", "pcode": "peer-ubnd", "code": "X.1", "name": "X"})
    assert refused.value.code is errors.PEER_REFUSED
    assert "ErrorCode=auth.admin_forbidden" in refused.value.detail
    for call in (ubnd.synchronize_units, lambda: ubnd.delete_agency(NOI_VU)):
        with pytest.raises(AxisError) as again:
            call()
        assert again.value.code is errors.PEER_REFUSED
    v.credential(NOI_VU, "peer-noivu")  # issued, but the client signs with another secret
    wrong = VdxpClient(v.url, "peer-noivu", "not-its-secret", http=http, now=v.t.clock.now)
    with pytest.raises(AxisError) as bad:
        wrong.received("edoc")
    assert bad.value.code is errors.PEER_REFUSED and "vdxp.bad_signature" in bad.value.detail
    with pytest.raises(AxisError) as unknown:
        ubnd.get_edoc("no-such-copy")
    assert unknown.value.code is errors.PEER_REFUSED
    assert "route.delivery_unknown" in unknown.value.detail


def test_unreachable_and_bad_answers(v: VdxpNode, http: httpx.Client) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = VdxpClient(f"http://127.0.0.1:{port}/vdxp", "peer-ubnd", "s", http=http,
                      now=v.t.clock.now)
    with pytest.raises(AxisError) as unreachable:
        gone.received("edoc")
    assert unreachable.value.code is errors.PEER_UNREACHABLE

    root = v.url.removesuffix("/vdxp")
    # The node's own agency API answers 401 with its JSON error: not the envelope.
    not_vdxp = VdxpClient(f"{root}/v1", "peer-ubnd", "s", http=http, now=v.t.clock.now)
    with pytest.raises(AxisError) as non_200:
        not_vdxp.agencies()
    assert non_200.value.code is errors.PEER_BAD_ANSWER and "HTTP" in non_200.value.detail
    # 200 but not the envelope (the liveness probe's JSON).
    probe = VdxpClient(root, "peer-ubnd", "s", http=http, now=v.t.clock.now)
    with pytest.raises(AxisError) as shape:
        probe._call("GET", "healthz", {})
    assert shape.value.code is errors.PEER_BAD_ANSWER
    with pytest.raises(AxisError) as status:
        client(v, http, UBND, "peer-ubnd").update_status("x", "read")
    assert status.value.code is errors.PEER_INVALID
