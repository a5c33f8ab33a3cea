"""The ASGI application: routing for all four providers, faults, the request log,
output files, the admin endpoints, and terminal notifications (HiAPI callbacks,
Apiframe webhooks)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from . import apiframe, hiapi, openai_style, segmind
from .asgi import (
    Answer,
    BodyTooLarge,
    FileAnswer,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    drop_connection,
    json_response,
    read_request,
    send_file,
    send_response,
)
from .common import Ctx, find_job, is_loopback_url
from .faults import FaultRule
from .render import ClipStore
from .state import Job, SandboxState

VERSION = "1"
log = logging.getLogger("hh_notebook.sandbox")
Handler = Callable[[Ctx], Awaitable[Answer]]
_SEGMENT = r"([^/]+)"
REDACT = re.compile(r"(key|token|secret|auth|signature|password)", re.IGNORECASE)

# (pattern, provider, endpoint, {method: handler})
ROUTES: list[tuple[re.Pattern[str], str, str, dict[str, Handler]]] = [
    (re.compile(rf"/v2/requests/{_SEGMENT}/status"), "segmind", "poll", {"GET": segmind.status}),
    (re.compile(rf"/v2/requests/{_SEGMENT}"), "segmind", "result", {"GET": segmind.result}),
    (re.compile(rf"/v1/requests/{_SEGMENT}"), "segmind", "poll", {"GET": segmind.result}),
    (re.compile(r"/v2/videos/generate"), "apiframe", "submit", {"POST": apiframe.submit}),
    (re.compile(rf"/v2/jobs/{_SEGMENT}"), "apiframe", "poll", {"GET": apiframe.poll}),
    # Segmind's model slugs: happyhorse-1.1 and happyhorse (1.0); any other is a Segmind 404
    (re.compile(rf"/v2/{_SEGMENT}"), "segmind", "submit", {"POST": segmind.submit}),
    (re.compile(r"/v1/video/generations|/v1/videos"), "openai", "submit",
     {"POST": openai_style.submit}),
    (re.compile(rf"/v1/videos/{_SEGMENT}/content"), "openai", "download",
     {"GET": openai_style.content, "HEAD": openai_style.content}),
    (re.compile(rf"/v1/(?:videos|video/generations)/{_SEGMENT}"), "openai", "poll",
     {"GET": openai_style.poll}),
    (re.compile(r"/v1/tasks"), "hiapi", "submit", {"POST": hiapi.submit, "GET": hiapi.list_tasks}),
    (re.compile(rf"/v1/tasks/{_SEGMENT}"), "hiapi", "poll", {"GET": hiapi.poll}),
    (re.compile(r"/files/(segmind|apiframe|hiapi|openai)/([A-Za-z0-9_-]+)\.(mp4|png)"), "*",
     "download", {}),
]
FAULT_ANSWER = {"segmind": segmind.fault_answer, "apiframe": apiframe.fault_answer,
                "hiapi": hiapi.fault_answer, "openai": openai_style.fault_answer}


def _params(provider: str, endpoint: str, groups: tuple[str, ...]) -> dict[str, str]:
    if provider == "segmind" and endpoint == "submit":
        return {"slug": groups[0]}
    if len(groups) == 3:  # /files/{provider}/{id}.{ext}
        return {"provider": groups[0], "id": groups[1], "ext": groups[2]}
    return {"id": groups[0]} if groups else {}


def _redacted_query(qs: str) -> dict[str, str]:
    return {k: ("[redacted]" if REDACT.search(k) else v)
            for k, v in parse_qsl(qs, keep_blank_values=True)}


def _method_not_allowed(provider: str, method: str, path: str) -> Response:
    if provider == "segmind":
        return segmind.method_not_allowed(method, path)
    if provider == "openai":
        return openai_style.error(405, f"Method {method} not allowed", "invalid_request_error",
                                  "method_not_allowed")
    if provider == "hiapi":
        return hiapi.error(405, f"Method {method} not allowed")
    return apiframe.error(405, f"Method {method} not allowed", "METHOD_NOT_ALLOWED")


class SandboxApp:
    """ASGI app for one :class:`SandboxState` and :class:`ClipStore`."""

    def __init__(self, state: SandboxState, store: ClipStore) -> None:
        self.state = state
        self.store = store
        self.http: httpx.AsyncClient | None = None
        self.origin = "http://127.0.0.1:0"
        self._notifier: asyncio.Task[None] | None = None
        self._kick: asyncio.Event | None = None

    # lifecycle (called on the server's loop) -------------------------------
    async def startup(self, origin: str) -> None:
        """Open the outgoing client (loopback fetches, callbacks) and start the notifier."""
        self.origin = origin
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False)
        self._kick = asyncio.Event()
        self._notifier = asyncio.create_task(self._notify_loop())

    async def shutdown(self) -> None:
        """Stop the notifier and close the outgoing client."""
        if self._notifier is not None:
            self._notifier.cancel()
            try:
                await self._notifier
            except asyncio.CancelledError:
                pass
        if self.http is not None:
            await self.http.aclose()

    def kick(self) -> None:
        """Wake the notifier (a clip finished, the clock moved); call on the loop."""
        if self._kick is not None:
            self._kick.set()

    # ASGI -----------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.time()
        try:
            req = await read_request(scope, receive)
        except BodyTooLarge:
            await send_response(send, json_response(413, {"error": "request body too large"}))
            return
        if req.path.startswith("/_sandbox/"):
            await send_response(send, self._admin(req))
            return
        provider, endpoint, handler, groups = self._route(req)
        entry: dict[str, Any] = {"time": started, "method": req.method, "path": req.path,
                                 "query": _redacted_query(req.query_string), "status": None,
                                 "provider": provider, "endpoint": endpoint}
        # Logged now and completed in place (status, job id...) before the answer is
        # sent, so a client that got an answer always finds its entry.
        self.state.record(entry)
        try:
            await self._serve(req, receive, send, provider, endpoint, handler, groups, entry)
        except asyncio.CancelledError:
            # The server is stopping with this request still in progress (a slow fault):
            # end the connection quietly instead of a half answer and a logged traceback.
            await drop_connection(send, receive)

    async def _serve(self, req: Request, receive: Receive, send: Send,
                     provider: str | None, endpoint: str | None, handler: Handler | None,
                     groups: tuple[str, ...], entry: dict[str, Any]) -> None:
        if provider is None or endpoint is None:
            resp = json_response(404, {"error": f"no such endpoint: {req.method} {req.path}"})
            entry["status"] = 404
            await send_response(send, resp)
            return
        fired = self.state.faults.take(provider, endpoint)
        if fired:
            entry["fault"] = [r.kind for r in fired]
        for rule in fired:
            if rule.kind == "slow":
                await asyncio.sleep(rule.delay)
        kinds = {r.kind: r for r in fired}
        if "reset_before" in kinds:
            await drop_connection(send, receive)
            return
        short = kinds.get("status") or kinds.get("rate_limit")
        if short is not None:
            status = 429 if short.kind == "rate_limit" else int(short.status)
            resp = FAULT_ANSWER[provider](self._ctx(req, {}, []), status, short.reset_after_s)
            entry["status"] = resp.status
            await send_response(send, resp)
            return
        if handler is None:
            entry["status"] = 405
            await send_response(send, _method_not_allowed(provider, req.method, req.path))
            return
        ctx = self._ctx(req, _params(provider, endpoint, groups), fired)
        try:
            answer = await handler(ctx)
        except Exception:  # a sandbox bug must still answer in the provider's shape
            log.exception("sandbox handler failed on %s %s", req.method, req.path)
            answer = FAULT_ANSWER[provider](ctx, 500, 0.0)
        if ctx.job_id:
            entry["job_id"] = ctx.job_id
        if "reset_after" in kinds:
            await drop_connection(send, receive)
            return
        await self._send_answer(req, receive, send, answer, kinds.get("cut_download"), entry)

    async def _send_answer(self, req: Request, receive: Receive, send: Send, answer: Answer,
                           cut: FaultRule | None, entry: dict[str, Any]) -> None:
        head = req.method == "HEAD"
        if isinstance(answer, FileAnswer):
            if cut is not None:
                entry["cut"] = True
            _, was_cut = await send_file(send, answer, req.headers.get("range"),
                                              cut.after_bytes if cut else None, head,
                                              on_status=lambda s: entry.__setitem__("status", s))
            if was_cut:
                await drop_connection(send, receive)
            else:
                entry.pop("cut", None)
        else:
            entry["status"] = answer.status
            await send_response(send, answer, head)

    def _ctx(self, req: Request, params: dict[str, str], fired: list[FaultRule]) -> Ctx:
        assert self.http is not None
        return Ctx(req=req, state=self.state, store=self.store, http=self.http, params=params,
                   fired=fired)

    def _route(self, req: Request) -> tuple[str | None, str | None, Handler | None,
                                             tuple[str, ...]]:
        for pattern, provider, endpoint, methods in ROUTES:
            m = pattern.fullmatch(req.path)
            if m is None:
                continue
            groups = m.groups()
            if provider == "*":  # /files/{provider}/{id}.{ext}
                allowed = req.method in ("GET", "HEAD")
                return groups[0], endpoint, self._file if allowed else None, groups
            if provider == "hiapi" and endpoint == "submit" and req.method == "GET":
                endpoint = "list"
            return provider, endpoint, methods.get(req.method), groups
        return None, None, None, ()

    async def _file(self, ctx: Ctx) -> Answer:
        """``/files/{provider}/{id}.mp4|png``: a finished job's output while it lives."""
        job = find_job(ctx, ctx.params["provider"])
        not_found = json_response(404, {"error": "file not found"})
        if job is None:
            return not_found
        ph = self.state.phase(job)
        if ph.state != "succeeded":
            return not_found
        expires = self.state.file_expires_at(job, ph)
        if expires is not None and self.state.now() > expires:
            return json_response(404, {"error": "file expired"})
        path = self.store.path_for(job.spec.key())
        if ctx.params["ext"] == "png":
            return FileAnswer(path.with_suffix(".png"), "image/png", job.spec.key() + "-png")
        return FileAnswer(path, "video/mp4", job.spec.key())

    # admin ----------------------------------------------------------------
    def _admin(self, req: Request) -> Response:
        name = req.path[len("/_sandbox/"):].strip("/")
        try:
            body = req.json() if req.body else None
        except ValueError:
            return json_response(400, {"error": "body is not JSON"})
        try:
            return self._admin_action(name, req.method, body)
        except (ValueError, TypeError, KeyError) as exc:
            return json_response(400, {"error": str(exc)})

    def _admin_action(self, name: str, method: str, body: Any) -> Response:
        st = self.state
        if name == "info" and method == "GET":
            return json_response(200, {"time_scale": st.time_scale, "version": VERSION,
                                       "jobs": len(st.jobs), "encoding": self.store.pending()})
        if name == "log":
            if method == "GET":
                return json_response(200, list(st.log))
            if method == "DELETE":
                st.log.clear()
                return json_response(200, {"cleared": True})
        if name == "faults":
            if method == "GET":
                return json_response(200, st.faults.rules())
            if method == "POST":
                rules = body if isinstance(body, list) else [body]
                for rule in rules:
                    st.faults.add(rule)
                return json_response(200, st.faults.rules())
            if method == "DELETE":
                st.faults.clear()
                return json_response(200, [])
        if name == "balance":
            if method == "GET":
                return json_response(200, st.balance)
            if method == "POST":
                st.set_balance(body["provider"], float(body["amount"]))
                return json_response(200, st.balance)
        if name == "keys" and method == "POST":
            st.set_keys(body["provider"], body.get("keys"))
            return json_response(200, {"provider": body["provider"],
                                       "restricted": body.get("keys") is not None})
        if name == "advance" and method == "POST":
            st.advance(float(body["seconds"]))
            self.kick()
            return json_response(200, {"offset": st.offset})
        return json_response(404, {"error": f"no admin endpoint {method} /_sandbox/{name}"})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        for _ in range(2):
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # notifications ----------------------------------------------------------
    async def _notify_loop(self) -> None:
        assert self._kick is not None
        while True:
            self._kick.clear()
            wait = await self._deliver_due()
            try:
                await asyncio.wait_for(self._kick.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass

    async def _deliver_due(self) -> float:
        """Deliver every due notification; return how long to wait before looking again."""
        now = self.state.now()
        next_due = 1.0
        waiting = [j for j in list(self.state.jobs.values())
                   if j.notify_status == "PENDING" and j.notify_url
                   and is_loopback_url(j.notify_url)]
        for job in waiting:
            ph = self.state.phase(job)
            if ph.state in ("succeeded", "failed"):
                if now < job.notify_next:
                    next_due = min(next_due, job.notify_next - now)
                    continue
                await self._deliver(job)
                if job.notify_status == "PENDING":
                    next_due = min(next_due, max(job.notify_next - self.state.now(), 0.01))
            else:
                eta = job.created + (job.queue_s + job.gen_s) * self.state.time_scale - now
                next_due = min(next_due, max(eta, 0.05))
        return next_due

    async def _deliver(self, job: Job) -> None:
        assert job.notify_url is not None and self.http is not None
        host = self.origin.split("://", 1)[1]
        fake = Request("POST", "/", "", {"host": host}, b"", ("127.0.0.1", 0))
        ctx = self._ctx(fake, {}, [])
        if job.provider == "hiapi":
            payload: dict[str, Any] = {"code": 200, "message": "success",
                                       "data": hiapi.task_body(ctx, job)}
        else:
            payload = apiframe.job_body(ctx, job)
            payload["webhookStatus"] = "DELIVERED"
        url = urlsplit(job.notify_url)
        entry: dict[str, Any] = {"time": time.time(), "method": "POST",
                                 "path": f"{url.scheme}://{url.netloc}{url.path}",
                                 "query": _redacted_query(url.query), "status": None,
                                 "provider": job.provider,
                                 "endpoint": "callback", "job_id": job.id, "outgoing": True}
        job.notify_attempts += 1
        try:
            resp = await self.http.post(job.notify_url, content=json.dumps(payload),
                                        headers={"content-type": "application/json"})
            entry["status"] = resp.status_code
            delivered = 200 <= resp.status_code < 300
        except httpx.HTTPError as exc:
            entry["error"] = type(exc).__name__
            delivered = False
        self.state.record(entry)
        with self.state.changed:
            if delivered:
                job.notify_status = "DELIVERED"
            elif job.notify_attempts >= 3:
                job.notify_status = "FAILED"
            else:  # retry after 30 provider seconds (scaled), within 0.05-1 s of real time
                job.notify_next = self.state.now() + min(1.0, max(0.05,
                                                                  30 * self.state.time_scale))
            self.state.changed.notify_all()

