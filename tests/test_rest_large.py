"""Issue 9: a large package goes through the agency API, accepted and taken back
byte-identical, while the serving process's peak memory grows by about one copy of the
package, not by the five to nine copies it took before.

The node runs in a process of its own (uvicorn on 127.0.0.1, tests/rest_support.py) so
that its kernel-measured peak (VmHWM, reset after start-up) is the node's alone; the
package is built and signed with a real key here, and sent and taken by the real client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from exchange_support import NOI_VU, T0, UBND, make_pki
from lxml import etree
from test_trust_stream import signed_large_document

from adapters.client.agency import AgencyClient
from adapters.soap.envelope import TNS
from axis.trust.sign import NodeSigner

ROOT = Path(__file__).resolve().parents[1]
SIZE = 20 * 1024 * 1024

_NODE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    sys.path.insert(0, "tests")
    from exchange_support import NOI_VU, UBND, start_node
    from rest_support import serve

    from memory_support import status_bytes as rss

    tmp, pki, anchors = (Path(a) for a in sys.argv[1:4])
    t = start_node(tmp, pki, anchors)
    with serve(t) as rn:
        out = {"url": rn.url, "sender": rn.credential(UBND), "recipient": rn.credential(NOI_VU)}
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        out["base"] = rss("VmRSS")
        print(json.dumps(out), flush=True)
        for line in sys.stdin:
            if line.strip() == "deliver":
                print(json.dumps({"delivered": t.deliver_all()}), flush=True)
            elif line.strip() == "peak":
                print(json.dumps({"peak": rss("VmHWM")}), flush=True)
                break
""")


def _ask(proc: subprocess.Popen[str], line: str) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    answer: dict[str, Any] = json.loads(proc.stdout.readline())
    return answer


def _send_soap(client: AgencyClient, raw: bytes) -> dict[str, Any]:
    """sendEdoc over SOAP 1.1, the package base64 in `edoc`, line-wrapped as encoders do."""
    envelope = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                b'<a:sendEdoc xmlns:a="' + TNS.encode() + b'"><a:edoc>'
                + base64.encodebytes(raw) + b"</a:edoc></a:sendEdoc></s:Body></s:Envelope>")
    answer = client.request("POST", "/soap", content=envelope,
                            headers={"Content-Type": "text/xml; charset=utf-8"})
    root = etree.fromstring(answer.content, etree.XMLParser(huge_tree=True))
    field = {etree.QName(e).localname: e.text for e in root.iter() if len(e) == 0}
    return {"package_sha256": field["package_sha256"],
            "deliveries": [{"recipient": field["recipient"], "doc_id": field["doc_id"]}]}


@pytest.mark.parametrize("edge", ["multipart", "raw", "soap"])
def test_large_package_accepted_and_taken_in_bounded_memory(tmp_path: Path,
                                                           edge: str) -> None:
    anchors = make_pki(tmp_path / "pki")
    raw = signed_large_document(NodeSigner.from_files(
        tmp_path / "pki" / f"{UBND}.key", tmp_path / "pki" / f"{UBND}.pem"), SIZE)
    proc = subprocess.Popen(
        [sys.executable, "-c", _NODE, str(tmp_path / "node"), str(tmp_path / "pki"),
         str(anchors)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())

        def client(cred: list[str]) -> AgencyClient:
            return AgencyClient(ready["url"], cred[0], cred[1], timeout=120,
                                clock=T0.timestamp)

        sender = client(ready["sender"])
        receipt = (_send_soap(sender, raw) if edge == "soap"
                   else sender.send(raw, multipart=edge == "multipart"))
        assert receipt["package_sha256"] == hashlib.sha256(raw).hexdigest()
        assert [d["recipient"] for d in receipt["deliveries"]] == [NOI_VU]
        _ask(proc, "deliver")  # or the served node's own delivery loop did it already
        taken, _ = client(ready["recipient"]).get(receipt["deliveries"][0]["doc_id"])
        assert taken == raw  # byte-identical
        growth = _ask(proc, "peak")["peak"] - ready["base"]
        print(f"{len(raw) / 2**20:.0f} MB package: node peak growth {growth / 2**20:.0f} MB")
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=60)
    # Before issue 9: about 9x the package (body, buffers, four signxml copies, trees,
    # decoded attachment). Now: the package once (the exchange's bytes) and a constant
    # (~11 MB: libmagic's database, the compiled schemas, decoding chunks): 31 MB for this
    # one, up to 45 MB as the allocator happens to reuse freed blocks (hence 2x). Over
    # SOAP the envelope's base64 (4/3 of the package) is held as body bytes, then as a
    # str, while it is decoded: ~4x the package (before: ~9.5x, 191 MB for this one).
    allowed = len(raw) * (4 if edge == "soap" else 2) + 24 * 2**20
    assert growth < allowed, (
        f"peak growth {growth / 2**20:.0f} MB for a {len(raw) / 2**20:.0f} MB package")
