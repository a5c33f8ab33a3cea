"""A process dies mid-job; a new one resumes: every job completes exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from lifecycle_fixtures import is_mp4, log_for, wait_until

from hh_notebook.journal import Journal
from hh_notebook.sandbox import Sandbox

SUBMITTER = """
import asyncio, json, sys
from hh_notebook.client import Client
from hh_notebook.request import GenerationRequest

provider, base, data, count = sys.argv[1:5]

async def main():
    client = Client(provider=provider, api_key="resume-key", base_url=base, data_dir=data)
    jobs = []
    for i in range(int(count)):
        jobs.append(await client.submit(GenerationRequest(prompt=f"job number {i}")))
    print("SUBMITTED", json.dumps([j.id for j in jobs]), flush=True)
    await asyncio.sleep(120)  # the test kills us long before

asyncio.run(main())
"""

RESUMER = """
import json, sys
from hh_notebook.client import Client

provider, base, data = sys.argv[1:4]
client = Client(provider=provider, api_key="resume-key", base_url=base, data_dir=data)
jobs = client.resume_all(timeout=90)
print(json.dumps({j.id: j.status.value for j in jobs}), flush=True)
"""


@pytest.fixture()
def slow_sandbox():
    # Slow enough that nothing finishes while the first process starts up and dies.
    with Sandbox(time_scale=0.02) as sb:
        yield sb


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return line[0] if line else ""


def _run_script(code: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("provider", ["segmind", "apiframe", "hiapi", "openai"])
def test_killed_process_resumes_every_job_once(slow_sandbox, tmp_path, provider) -> None:
    count = 3
    proc = subprocess.Popen(
        [sys.executable, "-c", SUBMITTER, provider, slow_sandbox.base_url, str(tmp_path),
         str(count)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    with proc:
        try:
            line = _read_line(proc, 60)
        finally:
            proc.kill()
            proc.wait(10)
        errors = proc.stderr.read()
    assert line.startswith("SUBMITTED"), errors[-2000:]
    ids = json.loads(line.split(" ", 1)[1])
    journal = Journal(tmp_path / "journal.sqlite3")
    assert {journal.get(i).phase for i in ids} == {"polling"}  # died mid-job

    result = json.loads(_run_script(RESUMER, provider, slow_sandbox.base_url, str(tmp_path)))
    assert result == {i: "succeeded" for i in ids}
    records = [journal.get(i) for i in ids]
    assert all(is_mp4(Path(r.video_path)) for r in records)
    submits = log_for(slow_sandbox, "submit", provider)
    assert len(submits) == count
    assert sorted(e["job_id"] for e in submits) == sorted(r.provider_job_id for r in records)
    downloads = Counter(e["job_id"] for e in log_for(slow_sandbox, "download", provider))
    assert downloads == Counter({r.provider_job_id: 1 for r in records})


def test_killed_during_submit_is_reconciled_not_resent(slow_sandbox, tmp_path) -> None:
    slow_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "slow",
                            "delay": 1.5})
    proc = subprocess.Popen(
        [sys.executable, "-c", SUBMITTER, "hiapi", slow_sandbox.base_url, str(tmp_path), "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    journal_path = tmp_path / "journal.sqlite3"
    with proc:
        try:
            # Kill while the submit is in flight: the sandbox has taken the request (its
            # one-shot "slow" rule is used up) but not answered yet.
            assert wait_until(lambda: not slow_sandbox.faults() or proc.poll() is not None, 60)
            assert proc.poll() is None, proc.stderr.read()[-2000:]
        finally:
            proc.kill()
            proc.wait(10)
    [record] = Journal(journal_path).jobs()
    assert (record.status, record.provider_job_id) == ("submitting", None)
    # The sandbox finishes creating the task after the client died.
    assert wait_until(lambda: any(e.get("job_id") for e in log_for(slow_sandbox, "submit")), 30)

    result = json.loads(_run_script(RESUMER, "hiapi", slow_sandbox.base_url, str(tmp_path)))
    assert result == {record.id: "succeeded"}
    final = Journal(journal_path).get(record.id)
    [submit] = log_for(slow_sandbox, "submit")
    assert final.provider_job_id == submit["job_id"]
    assert is_mp4(Path(final.video_path))
