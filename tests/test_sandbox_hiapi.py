"""HiAPI's unified task API on the sandbox, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from sandbox_fixtures import AUTH, Receiver, client, finish

from hh_notebook.sandbox import Sandbox

H = AUTH["hiapi"]
T2V = {"model": "happyhorse-1.1/text-to-video",
       "input": {"prompt": "A snow mountain lake in morning mist", "aspect_ratio": "16:9",
                 "resolution": "720p", "duration": 3}}


def submit(c: httpx.Client, body: dict | None = None, headers: dict | None = None
           ) -> httpx.Response:
    return c.post("/v1/tasks", json=T2V if body is None else body,
                  headers=H if headers is None else headers)


def with_input(**changes: object) -> dict:
    return {**T2V, "input": {**T2V["input"], **changes}}


def test_submit_answers_in_the_envelope(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c)
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == 200 and body["message"] and set(body["data"]) == {"taskId"}
    tid = body["data"]["taskId"]
    assert tid.startswith("tk-hiapi-") and len(tid) == len("tk-hiapi-") + 26


def test_status_sequence_and_output_with_expire_at() -> None:
    with Sandbox(time_scale=1.0) as sb, client(sb) as c:
        tid = submit(c).json()["data"]["taskId"]
        data = c.get(f"/v1/tasks/{tid}", headers=H).json()["data"]
        assert data["status"] == "queued" and data["output"] == [] and data["completed"] == 0
        sb.advance(60)
        assert c.get(f"/v1/tasks/{tid}", headers=H).json()["data"]["status"] == "handling"
        finish(sb, 400)
        data = c.get(f"/v1/tasks/{tid}", headers=H).json()["data"]
        assert data["status"] == "success" and data["completed"] >= data["created"] > 0
        video = next(o for o in data["output"] if o["type"] == "video")
        assert video["url"] == f"{sb.base_url}/files/hiapi/{tid}.mp4"
        assert video["expireAt"] > data["completed"]
        assert c.get(video["url"]).status_code == 200
        sb.advance(86400 + 10)  # past expireAt: the file is gone, the task remains
        assert c.get(video["url"]).status_code == 404
        assert c.get(f"/v1/tasks/{tid}", headers=H).json()["data"]["status"] == "success"


def test_archiving_while_the_output_is_prepared() -> None:
    with Sandbox(time_scale=1.0) as sb, client(sb) as c:
        tid = submit(c).json()["data"]["taskId"]
        job = sb._state.jobs[tid]
        sb.advance(job.queue_s + job.gen_s - 3.5)  # in the last 4 seconds of generation
        assert c.get(f"/v1/tasks/{tid}", headers=H).json()["data"]["status"] == "archiving"


def test_failed_task_carries_error_code_and_message(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "hiapi", "kind": "fail_job"})
    with client(fresh_sandbox) as c:
        tid = submit(c).json()["data"]["taskId"]
        finish(fresh_sandbox)
        data = c.get(f"/v1/tasks/{tid}", headers=H).json()["data"]
    assert data["status"] == "fail" and data["output"] == []
    assert set(data["error"]) == {"code", "message"} and data["completed"] > 0


@pytest.mark.parametrize("body, words", [
    (with_input(resolution="720P"), "resolution"),
    (with_input(aspect_ratio="2:1"), "aspect_ratio"),
    (with_input(duration=0), "duration"),
    (with_input(prompt=""), "prompt"),
    ({**T2V, "model": "happyhorse-1.1/video-to-video"}, "model"),
    ({"model": "happyhorse-1.1/text-to-video"}, "input"),
    ({**T2V, "callback": {"when": "final"}}, "callback.url"),
    ({**T2V, "callback": {"url": "http://127.0.0.1:9/x", "when": "always"}}, "callback.when"),
    ({"model": "happyhorse-1.1/image-to-video", "input": {"prompt": "x"}}, "image_urls"),
    ({"model": "happyhorse-1.1/reference-to-video", "input": {"prompt": "x"}},
     "reference_image"),
])
def test_invalid_request_is_400_with_error_code(sandbox: Sandbox, body: dict, words: str) -> None:
    with client(sandbox) as c:
        r = submit(c, body)
    assert r.status_code == 400
    err = r.json()
    assert err["code"] == 400 and err["data"] is None and err["error_code"] == "INVALID_REQUEST"
    assert words in err["message"]


def test_missing_key_is_401_envelope(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        for r in (submit(c, headers={}), c.get("/v1/tasks/tk-hiapi-x"), c.get("/v1/tasks")):
            assert r.status_code == 401
            assert r.json()["error_code"] == "UNAUTHORIZED" and r.json()["data"] is None


def test_unknown_task_is_404(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = c.get("/v1/tasks/tk-hiapi-00000000000000000000000000", headers=H)
    assert r.status_code == 404 and r.json()["error_code"] == "NOT_FOUND"


def test_list_is_newest_first_paged_and_per_account(fresh_sandbox: Sandbox) -> None:
    with client(fresh_sandbox) as c:
        ids = [submit(c, with_input(prompt=f"lake {i}")).json()["data"]["taskId"]
               for i in range(5)]
        other = submit(c, headers={"Authorization": "Bearer someone-else"}).json()["data"]
        page1 = c.get("/v1/tasks", params={"page": 1, "size": 2}, headers=H).json()["data"]
        page3 = c.get("/v1/tasks", params={"page": 3, "size": 2}, headers=H).json()["data"]
        bad = c.get("/v1/tasks", params={"page": 0}, headers=H)
    assert page1["total"] == 5 and page1["page"] == 1 and page1["size"] == 2
    assert [t["taskId"] for t in page1["items"]] == ids[::-1][:2]
    assert [t["taskId"] for t in page3["items"]] == [ids[0]]
    assert other["taskId"] not in ids
    assert bad.status_code == 400


def test_other_accounts_task_is_404(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        tid = submit(c).json()["data"]["taskId"]
        r = c.get(f"/v1/tasks/{tid}", headers={"Authorization": "Bearer another-account"})
    assert r.status_code == 404


def test_callback_posted_once_on_terminal_state(fresh_sandbox: Sandbox) -> None:
    with Receiver() as hook, client(fresh_sandbox) as c:
        url = hook.url + "/cb?token=cb-secret-123"
        tid = submit(c, {**T2V, "callback": {"url": url, "when": "final"}}
                     ).json()["data"]["taskId"]
        finish(fresh_sandbox)
        (body,) = hook.wait_for(1)
        assert fresh_sandbox.wait_callbacks(30)
    assert body["code"] == 200 and body["data"]["taskId"] == tid
    assert body["data"]["status"] == "success" and body["data"]["output"]
    (entry,) = [e for e in fresh_sandbox.request_log() if e["endpoint"] == "callback"]
    assert entry["path"] == hook.url + "/cb" and entry["query"] == {"token": "[redacted]"}
    assert entry["status"] == 200 and entry["job_id"] == tid


def test_callback_retried_when_receiver_fails(fresh_sandbox: Sandbox) -> None:
    with Receiver(status=500) as hook, client(fresh_sandbox) as c:
        submit(c, {**T2V, "callback": {"url": hook.url + "/cb"}})
        finish(fresh_sandbox)
        bodies = hook.wait_for(3)
        assert fresh_sandbox.wait_callbacks(30)
    assert len(bodies) == 3  # three attempts, then the sandbox gives up
    assert len({b["data"]["taskId"] for b in bodies}) == 1  # same task: deduplicate by taskId
    calls = [e for e in fresh_sandbox.request_log() if e["endpoint"] == "callback"]
    assert [e["status"] for e in calls] == [500, 500, 500]


def test_low_balance_is_402(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.set_balance("hiapi", 0.1)
    with client(fresh_sandbox) as c:
        r = submit(c)
    assert r.status_code == 402 and r.json()["error_code"] == "INSUFFICIENT_BALANCE"
