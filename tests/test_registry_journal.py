"""Registry changes and trust settings are in the journal's chain (issue 11, item 1):
every agency, binding and credential change is a journal entry with actor and reason,
written in the change's own transaction; the trust-relevant settings are recorded at
start when they changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from exchange_support import NOI_VU, UBND, TestNode, start_node

from adapters.node import build_node
from axis.registry.model import AgencyState


def test_registry_changes_are_chained_with_actor_and_reason(t: TestNode) -> None:
    registry = t.node.registry
    agency = registry.resolve(NOI_VU)
    registry.suspend(NOI_VU, actor="quan.tri.vien", reason="Công văn 12/UBND-VP")
    registry.reactivate(NOI_VU, actor="quan.tri.vien", reason="Công văn 13/UBND-VP")
    registry.update(replace(agency, contact_email="snv@langson.gov.vn"),
                    actor="quan.tri.vien", reason="đổi email")
    issued = registry.issue_credential(NOI_VU, actor="quan.tri.vien", reason="hệ thống mới")
    registry.revoke_credential(issued.credential.system_id, actor="quan.tri.vien",
                               reason="lộ khóa")
    entries = [e for e in t.node.store.journal()
               if e.kind.startswith("registry.") and e.subject == NOI_VU]
    actions = [e.payload["action"] for e in entries]
    assert actions[-5:] == ["suspend", "reactivate", "update", "issue-credential",
                            "revoke-credential"]
    suspend = entries[-5]
    assert suspend.payload["actor"] == "quan.tri.vien"
    assert suspend.payload["reason"] == "Công văn 12/UBND-VP"
    before, after = suspend.payload["before"], suspend.payload["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert (before["state"], after["state"]) == ("active", AgencyState.SUSPENDED.value)
    # The secret never enters the journal: only the system id.
    assert issued.secret not in str([e.payload for e in entries])
    # Sealed and verified with the rest of the chain.
    t.node.store.seal_journal(t.clock.now() + timedelta(seconds=1))
    report = t.node.store.verify_journal()
    assert report.first_broken is None and report.sealed_seq >= entries[-1].seq


def test_trust_settings_are_journaled_when_they_change(
        tmp_path: Path, pki_dirs: tuple[Path, Path]) -> None:
    """A node records its trust-relevant settings at start; a restart with the same
    settings adds nothing; an edited exception list is a new entry, in the chain."""
    t = start_node(tmp_path, *pki_dirs)
    settings = t.node.settings
    t.node.close()

    def records() -> list[dict[str, object]]:
        node = build_node(settings)
        try:
            return [e.payload for e in node.store.journal()
                    if e.kind == "node.trust_settings"]
        finally:
            node.close()

    first = records()
    assert len(first) == 1
    recorded = first[0]["settings"]
    assert isinstance(recorded, dict) and recorded["admit_unsigned"] == []
    assert recorded["anchors"] and recorded["node_certificate"]
    assert len(records()) == 1  # restarted unchanged: no new entry
    changed = settings.model_copy(update={"trust": settings.trust.model_copy(
        update={"admit_unsigned": (UBND,)})})
    node = build_node(changed)
    try:
        entries = [e for e in node.store.journal() if e.kind == "node.trust_settings"]
        assert len(entries) == 2
        latest = entries[-1].payload["settings"]
        assert isinstance(latest, dict) and latest["admit_unsigned"] == [UBND]
    finally:
        node.close()
