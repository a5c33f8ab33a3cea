"""The sandbox as a server: lifecycle, command line, admin endpoints, request log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sandbox_fixtures import AUTH, SEGMIND_KEY, client

from hh_notebook.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]


def start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Run ``python -m hh_notebook.sandbox``; return the process and its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "hh_notebook.sandbox", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()  # the first line is printed once it is ready
    assert line.startswith("sandbox listening on http://127.0.0.1:"), line
    return proc, line.rsplit(" ", 1)[1]


def stop_cli(proc: subprocess.Popen[str], sig: int) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_signalled_and_exits_cleanly(sig: int) -> None:
    proc, url = start_cli("--time-scale", "0.01")
    try:
        info = httpx.get(url + "/_sandbox/info").json()
        assert info["time_scale"] == 0.01 and info["version"]
        r = httpx.post(url + "/v2/happyhorse-1.1", json={"prompt": "cli", "duration": 3},
                       headers=AUTH["segmind"])
        assert r.json()["status_url"].startswith(url + "/v2/requests/")
    finally:
        code = stop_cli(proc, sig)
    assert code == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_cli_reads_faults_file_and_port(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps([{"provider": "hiapi", "kind": "status", "status": 503}]))
    with Sandbox() as probe:  # borrow a free port, then release it
        port = probe.port
    proc, url = start_cli("--port", str(port), "--faults", str(faults))
    try:
        assert url == f"http://127.0.0.1:{port}"
        rules = httpx.get(url + "/_sandbox/faults").json()
        assert rules[0]["kind"] == "status" and rules[0]["status"] == 503
        r = httpx.get(url + "/v1/tasks", headers=AUTH["hiapi"])
        assert r.status_code == 503 and r.json()["error_code"] == "SERVICE_UNAVAILABLE"
    finally:
        assert stop_cli(proc, signal.SIGINT) == 0


def test_cli_refuses_a_non_loopback_host() -> None:
    proc = subprocess.run([sys.executable, "-m", "hh_notebook.sandbox", "--host", "0.0.0.0"],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "loopback" in proc.stderr


def test_cli_main_is_callable_for_the_happyhorse_command() -> None:
    from hh_notebook.sandbox.__main__ import build_parser, main

    assert callable(main)
    args = build_parser().parse_args(["--port", "9", "--time-scale", "0.5", "--encoders", "2",
                                      "--gen-seconds", "150", "150"])
    assert args.port == 9 and args.time_scale == 0.5 and args.encoders == 2
    assert args.gen_seconds == [150.0, 150.0]


def test_sandbox_binds_loopback_only() -> None:
    with pytest.raises(ValueError):
        Sandbox(host="0.0.0.0")
    with Sandbox() as sb:
        assert sb.base_url == f"http://127.0.0.1:{sb.port}"
        assert "127.0.0.1" in repr(sb)


def test_given_port_is_used_and_freed_on_stop() -> None:
    with Sandbox() as first:
        port = first.port
    with Sandbox(port=port) as again:
        assert again.port == port
        assert httpx.get(again.base_url + "/_sandbox/info").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/_sandbox/info")


def test_request_log_fields_and_admin_calls_left_out(fresh_sandbox: Sandbox) -> None:
    with client(fresh_sandbox) as c:
        c.get("/_sandbox/info")
        rid = c.post("/v2/happyhorse-1.1", json={"prompt": "log me", "duration": 3},
                     headers=AUTH["segmind"]).json()["request_id"]
        c.get(f"/v2/requests/{rid}/status", params={"verbose": "1"}, headers=AUTH["segmind"])
    submit, poll = fresh_sandbox.request_log()
    assert {"time", "method", "path", "query", "status", "provider", "endpoint"} <= set(submit)
    assert (submit["method"], submit["path"], submit["status"]) == ("POST", "/v2/happyhorse-1.1",
                                                                    200)
    assert (submit["provider"], submit["endpoint"], submit["job_id"]) == ("segmind", "submit", rid)
    assert (poll["endpoint"], poll["query"]) == ("poll", {"verbose": "1"})
    fresh_sandbox.clear_log()
    assert fresh_sandbox.request_log() == []


def test_keys_never_reach_the_log(fresh_sandbox: Sandbox) -> None:
    canary = "SG_c4a2a2c4a2a2c4a2"
    fresh_sandbox.set_keys("segmind", [canary])
    with client(fresh_sandbox) as c:
        c.post("/v2/happyhorse-1.1", params={"api_key": canary, "token": canary},
               json={"prompt": "secret", "duration": 3}, headers={"x-api-key": canary})
        c.get("/v1/tasks", headers={"Authorization": f"Bearer {canary}"})
        http_log = c.get("/_sandbox/log").text
    assert canary not in json.dumps(fresh_sandbox.request_log())
    assert canary not in http_log
    assert fresh_sandbox.request_log()[0]["query"] == {"api_key": "[redacted]",
                                                       "token": "[redacted]"}


def test_admin_log_balance_and_keys_over_http(fresh_sandbox: Sandbox) -> None:
    base = fresh_sandbox.base_url
    with client(fresh_sandbox) as c:
        c.get("/v2/jobs/nope", headers=AUTH["apiframe"])
        assert len(c.get("/_sandbox/log").json()) == 1
        assert c.delete("/_sandbox/log").status_code == 200
        assert c.get("/_sandbox/log").json() == []
        assert c.post("/_sandbox/balance", json={"provider": "segmind", "amount": 0.5}
                      ).json()["segmind"] == 0.5
        assert c.post("/v2/happyhorse-1.1", json={"prompt": "x"},
                      headers={"x-api-key": SEGMIND_KEY}).status_code == 406
        assert c.post("/_sandbox/keys", json={"provider": "hiapi", "keys": ["only-me"]}
                      ).status_code == 200
        assert c.get("/v1/tasks", headers=AUTH["hiapi"]).status_code == 401
        assert c.get("/v1/tasks", headers={"Authorization": "Bearer only-me"}).status_code == 200
        assert c.post("/_sandbox/keys", json={"provider": "hiapi", "keys": None}
                      ).status_code == 200
        assert c.get("/v1/tasks", headers=AUTH["hiapi"]).status_code == 200
        assert c.post("/_sandbox/balance", json={"provider": "nobody", "amount": 1}
                      ).status_code == 400
        assert c.get("/_sandbox/nothing").status_code == 404
    assert httpx.get(base + "/_sandbox/info").json()["time_scale"] == fresh_sandbox.time_scale


def test_unknown_path_is_404_and_logged(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = c.get("/v3/whatever")
    assert r.status_code == 404


def test_keys_given_to_the_constructor() -> None:
    with Sandbox(keys={"openai": ["sk-one"]}) as sb, client(sb) as c:
        body = {"model": "happyhorse-1.0-t2v", "prompt": "k", "duration": 3}
        assert c.post("/v1/videos", json=body, headers=AUTH["openai"]).status_code == 401
        ok = c.post("/v1/videos", json=body, headers={"Authorization": "Bearer sk-one"})
        assert ok.status_code == 200 and "id" in ok.json()


def test_head_and_range_on_files(sandbox: Sandbox) -> None:
    from sandbox_fixtures import finish

    with client(sandbox) as c:
        jid = c.post("/v2/videos/generate", headers=AUTH["apiframe"], json={
            "model": "happyhorse-1.1", "prompt": "head",
            "happyhorse11Params": {"resolution": "720p", "duration": 3, "seed": 4}}
        ).json()["jobId"]
        finish(sandbox)
        url = c.get(f"/v2/jobs/{jid}", headers=AUTH["apiframe"]).json()["result"]["videoUrl"]
        head = c.head(url)
        size = int(head.headers["content-length"])
        assert head.status_code == 200 and head.content == b"" and size > 1000
        part = c.get(url, headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100
        assert c.post(url).status_code == 405
        assert c.get(f"/files/apiframe/{jid}.mp4".replace(jid, "0" * 8)).status_code == 404


def test_many_jobs_in_flight_cost_nothing_between_requests(fresh_sandbox: Sandbox) -> None:
    body = {"model": "happyhorse-1.1/text-to-video",
            "input": {"prompt": "crowd", "resolution": "720p", "duration": 3}}
    fresh_sandbox.set_balance("hiapi", 1e6)
    with client(fresh_sandbox) as c:
        ids = [c.post("/v1/tasks", json=body, headers=AUTH["hiapi"]).json()["data"]["taskId"]
               for _ in range(250)]
        assert fresh_sandbox.encodes <= 1  # identical requests share one clip
        listing = c.get("/v1/tasks", params={"size": 100}, headers=AUTH["hiapi"]).json()["data"]
    assert listing["total"] == 250 and len(set(ids)) == 250
    assert [t["taskId"] for t in listing["items"]] == ids[::-1][:100]


def test_stop_is_prompt_with_a_connection_open() -> None:
    sb = Sandbox().start()
    c = httpx.Client(base_url=sb.base_url)
    c.get("/_sandbox/info")  # keep-alive connection left open
    started = time.monotonic()
    sb.stop()
    elapsed = time.monotonic() - started
    c.close()
    assert elapsed < 10  # bounded: stop() never hangs on idle connections
    assert os.path.exists(sb.cache_dir) is False


SUBMIT_PATHS = {"segmind": "/v2/happyhorse-1.1", "openai": "/v1/video/generations",
                "apiframe": "/v2/videos/generate", "hiapi": "/v1/tasks"}


@pytest.mark.parametrize("provider", list(SUBMIT_PATHS))
@pytest.mark.parametrize("raw", [
    b"", b"{", b"[]", b"null", b'"text"', b"123", b"\xff\xfe",
    b'{"model": {"a": 1}}', b'{"model": ["x"], "input": []}', b'{"prompt": {"a": 1}}',
    b'{"model": "happyhorse-1.0-r2v", "prompt": "x", "metadata": {"input": {"media": [1]}}}',
    b'{"model": "happyhorse-1.1/reference-to-video", "input": {"image_urls": 7}}',
    b'{"model": "happyhorse-1.1", "happyhorse11Params": {"images": "x"}, "prompt": "p"}',
    b'{"prompt": "p", "reference_images": "abc", "image": null}',
    b'{"prompt": "p", "image": 42}',
])
def test_malformed_submits_get_a_4xx_or_business_error_never_500(
        sandbox: Sandbox, provider: str, raw: bytes) -> None:
    with client(sandbox) as c:
        r = c.post(SUBMIT_PATHS[provider], content=raw,
                   headers={**AUTH[provider], "content-type": "application/json"})
    assert r.status_code < 500
    if r.status_code == 200 and provider == "openai":
        assert "error" in r.json() or r.json()["status"] == "QUEUED"


def test_cli_port_in_use_is_a_clear_error(sandbox: Sandbox) -> None:
    proc = subprocess.run([sys.executable, "-m", "hh_notebook.sandbox", "--port",
                           str(sandbox.port)], check=False, cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 2 and "cannot listen" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fixed_generation_and_queue_times() -> None:
    # margins of 10+ provider seconds: at time scale 1 the wall clock runs too
    with Sandbox(time_scale=1.0, gen_range=(150, 150), queue_range=(30, 30)) as sb, \
            client(sb) as c:
        rid = c.post("/v2/happyhorse-1.1", json={"prompt": "fixed", "duration": 3, "seed": 1},
                     headers=AUTH["segmind"]).json()["request_id"]

        def status() -> str:
            return c.get(f"/v2/requests/{rid}/status", headers=AUTH["segmind"]).json()["status"]

        assert status() == "QUEUED"
        assert sb.wait_encoded(60)
        sb.advance(40)
        assert status() == "PROCESSING"
        sb.advance(125)  # 165 s: 15 s before the end
        assert status() == "PROCESSING"
        sb.advance(20)
        assert status() == "COMPLETED"
        metrics = c.get(f"/v2/requests/{rid}", headers=AUTH["segmind"]).json()["metrics"]
    assert metrics["queue_time"] == pytest.approx(30, abs=0.01)
    assert metrics["inference_time"] == pytest.approx(150, abs=0.01)


@pytest.mark.parametrize("bad", [(5, 1), (-1, 3)])
def test_bad_time_ranges_are_refused(bad: tuple[float, float]) -> None:
    with pytest.raises(ValueError):
        Sandbox(gen_range=bad)
    with pytest.raises(ValueError):
        Sandbox(queue_range=bad)


def test_sandbox_imports_nothing_else_from_the_package() -> None:
    import ast

    for path in (ROOT / "hh_notebook" / "sandbox").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name} imports from outside the sandbox"
                if node.level == 0 and node.module:
                    assert not node.module.startswith("hh_notebook") or \
                        node.module.startswith("hh_notebook.sandbox"), path.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("hh_notebook") or \
                        alias.name.startswith("hh_notebook.sandbox"), path.name


def test_stop_is_bounded_with_a_request_in_progress() -> None:
    import threading

    sb = Sandbox(faults=[{"kind": "slow", "delay": 30, "provider": "hiapi"}]).start()
    errors: list[BaseException] = []

    def slow_call() -> None:
        try:
            httpx.get(sb.base_url + "/v1/tasks", headers=AUTH["hiapi"], timeout=60)
        except httpx.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=slow_call)
    caller.start()
    assert sb.wait_requests(1, timeout=10)  # the slow request has reached the server
    started = time.monotonic()
    sb.stop()
    caller.join(30)
    assert time.monotonic() - started < 10
    assert not caller.is_alive() and errors  # the client saw its connection end
