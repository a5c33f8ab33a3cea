"""Fault injection: every kind, in every provider's shape, by API and over admin HTTP."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sandbox_fixtures import AUTH, client, finish

from hh_notebook.sandbox import Sandbox

SUBMIT = {
    "segmind": ("/v2/happyhorse-1.1", {"prompt": "fault test", "duration": 3, "seed": 1}),
    "openai": ("/v1/video/generations", {"model": "happyhorse-1.0-t2v", "prompt": "fault test",
                                         "size": "720P", "duration": 3,
                                         "metadata": {"seed": 1}}),
    "apiframe": ("/v2/videos/generate", {"model": "happyhorse-1.1", "prompt": "fault test",
                                         "happyhorse11Params": {"resolution": "720p",
                                                                "duration": 3, "seed": 1}}),
    "hiapi": ("/v1/tasks", {"model": "happyhorse-1.1/text-to-video",
                            "input": {"prompt": "fault test", "resolution": "720p",
                                      "duration": 3}}),
}


def submit(c: httpx.Client, provider: str) -> httpx.Response:
    path, body = SUBMIT[provider]
    return c.post(path, json=body, headers=AUTH[provider])


def job_id(provider: str, r: httpx.Response) -> str:
    body = r.json()
    return {"segmind": lambda: body["request_id"], "openai": lambda: body["id"],
            "apiframe": lambda: body["jobId"], "hiapi": lambda: body["data"]["taskId"]}[provider]()


def poll_path(provider: str, jid: str) -> str:
    return {"segmind": f"/v2/requests/{jid}/status", "openai": f"/v1/videos/{jid}",
            "apiframe": f"/v2/jobs/{jid}", "hiapi": f"/v1/tasks/{jid}"}[provider]


def download_url(c: httpx.Client, provider: str, jid: str) -> str:
    if provider == "openai":
        return f"/v1/videos/{jid}/content"
    if provider == "segmind":
        return c.get(f"/v2/requests/{jid}", headers=AUTH[provider]).json()["output"]
    if provider == "apiframe":
        return c.get(f"/v2/jobs/{jid}", headers=AUTH[provider]).json()["result"]["videoUrl"]
    return c.get(f"/v1/tasks/{jid}", headers=AUTH[provider]).json()["data"]["output"][0]["url"]


def assert_error_shape(provider: str, r: httpx.Response) -> None:
    body = r.json()
    if provider == "segmind":
        assert set(body) == {"error"}
    elif provider == "openai":
        assert set(body["error"]) == {"message", "type", "code"}
    elif provider == "apiframe":
        assert set(body) == {"error", "code"}
    else:
        assert body["code"] == r.status_code and body["data"] is None and body["error_code"]


@pytest.mark.parametrize("provider", ["segmind", "openai", "apiframe", "hiapi"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_status_fault_on_submit_in_provider_shape(fresh_sandbox: Sandbox, provider: str,
                                                  status: int) -> None:
    fresh_sandbox.add_fault({"provider": provider, "endpoint": "submit", "kind": "status",
                             "status": status})
    with client(fresh_sandbox) as c:
        r = submit(c, provider)
        assert r.status_code == status
        assert_error_shape(provider, r)
        assert submit(c, provider).status_code in (200, 202)  # count 1: next one is fine
    assert fresh_sandbox.request_log()[0]["fault"] == ["status"]


@pytest.mark.parametrize("provider", ["segmind", "openai", "apiframe", "hiapi"])
def test_status_fault_on_poll_leaves_the_job_alone(fresh_sandbox: Sandbox, provider: str) -> None:
    with client(fresh_sandbox) as c:
        jid = job_id(provider, submit(c, provider))
        fresh_sandbox.add_fault({"provider": provider, "endpoint": "poll", "kind": "status",
                                 "status": 503, "count": 2})
        codes = [c.get(poll_path(provider, jid), headers=AUTH[provider]).status_code
                 for _ in range(3)]
    assert codes == [503, 503, 200]


@pytest.mark.parametrize("provider", ["openai", "apiframe", "hiapi"])
def test_rate_limit_has_retry_after(fresh_sandbox: Sandbox, provider: str) -> None:
    fresh_sandbox.add_fault({"provider": provider, "kind": "rate_limit", "reset_after_s": 600})
    with client(fresh_sandbox) as c:
        r = submit(c, provider)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) == 3  # 600 provider seconds x 0.005
    assert "x-rate-limit-reset-at-utc" not in r.headers
    assert_error_shape(provider, r)


def test_segmind_rate_limit_has_reset_time_header(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "kind": "rate_limit", "reset_after_s": 2000})
    before = dt.datetime.now(dt.timezone.utc)
    with client(fresh_sandbox) as c:
        r = submit(c, "segmind")
    assert r.status_code == 429 and "retry-after" not in r.headers
    reset = dt.datetime.fromisoformat(r.headers["x-rate-limit-reset-at-utc"].replace("Z", "+00:00"))
    # 2000 provider seconds x 0.005 = 10 s from the answer (plus the request's own latency)
    assert dt.timedelta(seconds=9.9) <= reset - before <= dt.timedelta(seconds=15)
    assert_error_shape("segmind", r)


def _hiapi_total(c: httpx.Client) -> int:
    return c.get("/v1/tasks", headers=AUTH["hiapi"]).json()["data"]["total"]


def test_reset_before_drops_the_connection_and_creates_nothing(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "reset_before"})
    with client(fresh_sandbox) as c:
        with pytest.raises(httpx.TransportError):
            submit(c, "hiapi")
        assert _hiapi_total(c) == 0
    entry = fresh_sandbox.request_log()[0]
    assert entry["status"] is None and entry["fault"] == ["reset_before"]


def test_reset_after_drops_the_connection_but_the_job_exists(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "hiapi", "kind": "reset_after"})
    with client(fresh_sandbox) as c:
        with pytest.raises(httpx.TransportError):
            submit(c, "hiapi")
        listing = c.get("/v1/tasks", headers=AUTH["hiapi"]).json()["data"]
    assert listing["total"] == 1
    assert fresh_sandbox.request_log()[0]["job_id"] == listing["items"][0]["taskId"]


@pytest.mark.parametrize("provider", ["segmind", "openai", "apiframe"])
def test_reset_after_on_other_providers_creates_the_job(fresh_sandbox: Sandbox,
                                                         provider: str) -> None:
    fresh_sandbox.add_fault({"provider": provider, "kind": "reset_after"})
    with client(fresh_sandbox) as c, pytest.raises(httpx.TransportError):
        submit(c, provider)
    jid = fresh_sandbox.request_log()[0]["job_id"]
    with client(fresh_sandbox) as c:
        assert c.get(poll_path(provider, jid), headers=AUTH[provider]).status_code == 200


def test_slow_answers_normally_after_the_delay(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "openai", "kind": "slow", "delay": 0.2})
    with client(fresh_sandbox) as c:
        r = submit(c, "openai")
    assert r.status_code == 200 and r.json()["status"] == "QUEUED"
    assert fresh_sandbox.request_log()[0]["fault"] == ["slow"]


def test_slow_beyond_client_timeout_times_out(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "apiframe", "endpoint": "poll", "kind": "slow",
                             "delay": 1.0})
    with client(fresh_sandbox) as c:
        jid = job_id("apiframe", submit(c, "apiframe"))
        with pytest.raises(httpx.ReadTimeout):
            c.get(poll_path("apiframe", jid), headers=AUTH["apiframe"], timeout=0.2)


def test_expire_early_segmind_record_is_gone_right_after_completion(fresh_sandbox: Sandbox
                                                                     ) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "kind": "expire_early"})
    with client(fresh_sandbox) as c:
        jid = job_id("segmind", submit(c, "segmind"))
        assert c.get(poll_path("segmind", jid), headers=AUTH["segmind"]).status_code == 200
        finish(fresh_sandbox)
        assert c.get(poll_path("segmind", jid), headers=AUTH["segmind"]).status_code == 404


@pytest.mark.parametrize("provider", ["openai", "apiframe", "hiapi"])
def test_expire_early_output_is_gone_right_after_completion(fresh_sandbox: Sandbox,
                                                             provider: str) -> None:
    with client(fresh_sandbox) as c:
        normal = job_id(provider, submit(c, provider))
        fresh_sandbox.add_fault({"provider": provider, "kind": "expire_early"})
        early = job_id(provider, submit(c, provider))
        finish(fresh_sandbox)
        h = AUTH[provider]
        assert c.get(download_url(c, provider, normal), headers=h).status_code == 200
        assert c.get(download_url(c, provider, early), headers=h).status_code == 404


@pytest.mark.parametrize("provider", ["segmind", "openai", "apiframe", "hiapi"])
def test_cut_download_then_range_resume(fresh_sandbox: Sandbox, provider: str) -> None:
    h = AUTH[provider]
    with client(fresh_sandbox) as c:
        jid = job_id(provider, submit(c, provider))
        finish(fresh_sandbox)
        url = download_url(c, provider, jid)
        full = c.get(url, headers=h).content
        fresh_sandbox.add_fault({"provider": provider, "kind": "cut_download",
                                 "after_bytes": 5000})
        got = bytearray()
        with pytest.raises(httpx.TransportError), c.stream("GET", url, headers=h) as r:
            assert r.status_code == 200
            assert int(r.headers["content-length"]) == len(full)
            for chunk in r.iter_bytes():
                got += chunk
        assert 0 < len(got) <= 5000
        rest = c.get(url, headers={**h, "Range": f"bytes={len(got)}-"})
        assert rest.status_code == 206
    assert bytes(got) + rest.content == full
    assert any(e.get("cut") for e in fresh_sandbox.request_log())


def test_count_minus_one_applies_forever(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"kind": "status", "status": 502, "count": -1})
    with client(fresh_sandbox) as c:
        assert [submit(c, p).status_code for p in SUBMIT] == [502] * 4
        assert [submit(c, p).status_code for p in SUBMIT] == [502] * 4
    assert len(fresh_sandbox.faults()) == 1
    fresh_sandbox.clear_faults()
    assert fresh_sandbox.faults() == []


def test_endpoint_filter(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.set_faults([{"provider": "hiapi", "endpoint": "list", "kind": "status",
                               "status": 500}])
    with client(fresh_sandbox) as c:
        assert submit(c, "hiapi").status_code == 200
        assert c.get("/v1/tasks", headers=AUTH["hiapi"]).status_code == 500


@pytest.mark.parametrize("rule", [
    {"kind": "explode"},
    {"kind": "status", "provider": "replicate"},
    {"kind": "status", "endpoint": "upload"},
    {"kind": "status", "count": 0},
    {"kind": "status", "status": 200},
    {"kind": "slow", "delay": -1},
    {"kind": "status", "colour": "red"},
])
def test_bad_rules_are_refused(fresh_sandbox: Sandbox, rule: dict) -> None:
    with pytest.raises(ValueError):
        fresh_sandbox.add_fault(rule)
    r = httpx.post(fresh_sandbox.base_url + "/_sandbox/faults", json=rule)
    assert r.status_code == 400
    assert fresh_sandbox.faults() == []


def test_admin_http_fault_endpoints(fresh_sandbox: Sandbox) -> None:
    base = fresh_sandbox.base_url + "/_sandbox/faults"
    rules = [{"provider": "segmind", "kind": "status", "status": 503},
             {"provider": "hiapi", "kind": "rate_limit", "count": 2}]
    assert len(httpx.post(base, json=rules).json()) == 2
    listed = httpx.get(base).json()
    assert [r["kind"] for r in listed] == ["status", "rate_limit"] and listed[1]["count"] == 2
    with client(fresh_sandbox) as c:
        assert submit(c, "segmind").status_code == 503
    assert len(httpx.get(base).json()) == 1
    assert httpx.delete(base).json() == []
    assert fresh_sandbox.faults() == []


def test_faults_given_to_the_constructor() -> None:
    with Sandbox(time_scale=0.005, faults=[{"kind": "status", "status": 500}]) as sb, \
            client(sb) as c:
        assert submit(c, "apiframe").status_code == 500
        assert submit(c, "apiframe").status_code == 202
