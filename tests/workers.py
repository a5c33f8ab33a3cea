"""A separate process doing what a kernel does, for tests and benchmarks that kill it mid-way
(``kill -9``) or run two of them on one data folder.

    python tests/workers.py '{"do": "generate", "base_url": ..., "data_dir": ..., ...}'

Prints ``SUBMITTED <job id>`` once a job is accepted, ``DONE <json>`` at the end. Actions:
``generate`` (one clip, blocking), ``hang`` (submit, then wait to be killed), ``sweep`` (run a
sweep to the end), ``resume`` (resume every unfinished job and wait for them).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from hh_notebook.client import Client
from hh_notebook.jobs import PollPolicy
from hh_notebook.sweep import sweep


def _client(spec: dict[str, Any], provider: str | None = None) -> Client:
    return Client(provider=provider or spec.get("provider", "segmind"),
                  api_key=spec.get("key", "test-key-0123"), base_url=spec["base_url"],
                  data_dir=spec["data_dir"],
                  poll_policy=PollPolicy(backoff_base=1.0, backoff_cap=4.0,
                                         reconcile_grace=spec.get("reconcile_grace", 120.0)))


def _request(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.get("request", {}).items()}


def _say(*words: object) -> None:
    print(*words, flush=True)


async def _generate(spec: dict[str, Any]) -> dict[str, Any]:
    client = _client(spec)
    request = _request(spec)
    prompt = request.pop("prompt")
    _say("READY")
    job = await client.submit(prompt, **request)
    _say("SUBMITTED", job.id)
    await job.wait()
    return {"job": job.id, "status": job.status.value, "attached": job.attached,
            "from_cache": job.from_cache,
            "video": str(job.video_path) if job.video_path else None, "error": job.error}


async def _hang(spec: dict[str, Any]) -> dict[str, Any]:
    client = _client(spec)
    request = _request(spec)
    prompt = request.pop("prompt")
    job = await client.submit(prompt, **request)
    _say("SUBMITTED", job.id)
    await asyncio.Event().wait()  # until killed
    return {}


def _sweep(spec: dict[str, Any]) -> dict[str, Any]:
    client = _client(spec)
    request = _request(spec)
    prompt = request.pop("prompt")
    planned = sweep(prompt, client=client, **request)
    _say("READY")
    _say("SUBMITTED", planned.id)
    result = planned.run(confirm=True, timeout=spec.get("timeout", 120))
    return {"sweep": planned.id, "statuses": [r.status for r in result.rows],
            "jobs": [r.job_id for r in result.rows]}


async def _resume(spec: dict[str, Any]) -> dict[str, Any]:
    statuses = []
    for provider in spec.get("providers", ["segmind"]):
        client = _client(spec, provider)
        jobs = await client.resume_all_async()
        await asyncio.gather(*(job.wait() for job in jobs))
        statuses += [job.status.value for job in jobs]
    return {"statuses": statuses}


def main() -> None:
    spec = json.loads(sys.argv[1])
    action = spec["do"]
    if action == "sweep":
        outcome = _sweep(spec)
    else:
        runner = {"generate": _generate, "hang": _hang, "resume": _resume}[action]
        outcome = asyncio.run(runner(spec))
    _say("DONE", json.dumps(outcome))


if __name__ == "__main__":
    main()
