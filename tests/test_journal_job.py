"""The sealer runs in production: `journal.seal` is one of the node's periodic jobs (every
second, wherever the node's background runs) and each delivery pass seals too; it chains
what the steps journaled, and a journal it cannot chain fails the job's run with
node.journal_broken (readiness shows it) while delivery goes on."""

from __future__ import annotations

import pytest
from exchange_support import NOI_VU, UBND, TestNode

from adapters.jobs.catalog import node_jobs
from adapters.jobs.scheduler import Job
from axis.errors import AxisError


def seal_job(t: TestNode) -> Job:
    jobs = {job.name: job for job in node_jobs(t.node)}
    job = jobs["journal.seal"]
    assert job.interval.total_seconds() <= 1
    return job


def test_the_seal_job_chains_what_the_steps_journaled(t: TestNode) -> None:
    _, raw = t.document(UBND, (NOI_VU,), 1)
    t.node.exchange.submit(raw)
    before = t.node.store.verify_journal()
    assert before.ok and before.unsealed > 0 and before.sealed_seq == 0
    seal_job(t).fn(t.clock.now())
    after = t.node.store.verify_journal()
    assert (after.ok, after.unsealed, after.sealed_seq) == (True, 0, after.entries)


def test_each_delivery_pass_seals_too(t: TestNode) -> None:
    _, raw = t.document(UBND, (NOI_VU,), 1)
    t.node.exchange.submit(raw)
    assert t.deliver_all() == 1
    report = t.node.store.verify_journal()
    assert (report.ok, report.unsealed) == (True, 0)
    assert report.sealed_seq == report.entries > 1


def test_a_journal_the_job_cannot_chain_fails_the_run_not_delivery(t: TestNode) -> None:
    _, raw = t.document(UBND, (NOI_VU,), 1)
    t.node.exchange.submit(raw)
    with t.node.store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE journal SET subject = 'x' WHERE seq = 1")
    assert t.deliver_all() == 1  # the copy still reaches its inbox
    with pytest.raises(AxisError) as caught:
        seal_job(t).fn(t.clock.now())
    assert caught.value.code.id == "node.journal_broken"
    assert "entry 1" in (caught.value.detail or "")
