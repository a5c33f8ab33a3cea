"""A small raw-ASGI layer: request parsing, JSON/HTML/file answers, connection resets.

Raw ASGI (rather than a framework) keeps a status poll to a few microseconds of
Python and gives access to the transport, which the fault injector needs to
drop a connection without answering.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY = 64 * 1024 * 1024
CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The request body exceeded MAX_BODY."""


@dataclass
class Request:
    """An HTTP request, fully read."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    server: tuple[str, int]

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (last value wins)."""
        return dict(parse_qsl(self.query_string, keep_blank_values=True))

    @property
    def origin(self) -> str:
        """``http://host:port`` as the client addressed the server (its Host header)."""
        host = self.headers.get("host") or f"{self.server[0]}:{self.server[1]}"
        return f"http://{host}"

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    """A complete answer held in memory."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, body, "application/json", dict(headers or {}))


def html_response(status: int, html: str, headers: dict[str, str] | None = None) -> Response:
    """An HTML answer."""
    return Response(status, html.encode(), "text/html; charset=utf-8", dict(headers or {}))


@dataclass
class FileAnswer:
    """A file to stream, honouring Range, optionally cut after some bytes."""

    path: Path
    content_type: str = "video/mp4"
    etag: str | None = None


Answer = Response | FileAnswer


async def read_request(scope: Scope, receive: Receive) -> Request:
    """Read the whole request body; raises BodyTooLarge past MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge()
        chunks.append(chunk)
        more = message.get("more_body", False)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    server = scope.get("server") or ("127.0.0.1", 0)
    return Request(
        method=scope["method"],
        path=scope["path"],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=b"".join(chunks),
        server=(server[0], server[1]),
    )


def _header_list(content_type: str, length: int, extra: dict[str, str]) -> list[tuple[bytes, bytes]]:
    out = [(b"content-type", content_type.encode()), (b"content-length", str(length).encode())]
    out += [(k.lower().encode(), v.encode("latin-1")) for k, v in extra.items()]
    return out


async def send_response(send: Send, resp: Response, head_only: bool = False) -> None:
    """Send a complete in-memory answer."""
    await send({"type": "http.response.start", "status": resp.status,
                "headers": _header_list(resp.content_type, len(resp.body), resp.headers)})
    await send({"type": "http.response.body", "body": b"" if head_only else resp.body})


def parse_range(value: str | None, size: int) -> tuple[int, int] | None | str:
    """Parse a single ``bytes=`` range: (start, end inclusive), None (no/ignored range),
    or "unsatisfiable"."""
    if not value or not value.startswith("bytes=") or "," in value:
        return None
    spec = value[6:].strip()
    start_s, sep, end_s = spec.partition("-")
    if not sep:
        return None
    try:
        if start_s == "":
            suffix = int(end_s)
            if suffix <= 0:
                return "unsatisfiable"
            return max(size - suffix, 0), size - 1
        start = int(start_s)
        end = int(end_s) if end_s else size - 1
    except ValueError:
        return None
    if start >= size or start < 0:
        return "unsatisfiable"
    if end < start:
        return None
    return start, min(end, size - 1)


async def send_file(send: Send, answer: FileAnswer, range_header: str | None,
                    cut_after: int | None, head_only: bool = False,
                    on_status: Callable[[int], None] | None = None) -> tuple[int, bool]:
    """Stream a file with Range support. Returns (status, cut): ``cut`` means the
    body stopped after ``cut_after`` bytes and the caller must drop the connection.
    ``on_status`` hears the status before anything is sent."""
    size = os.path.getsize(answer.path)
    extra = {"accept-ranges": "bytes"}
    if answer.etag:
        extra["etag"] = f'"{answer.etag}"'
    rng = parse_range(range_header, size)
    if rng == "unsatisfiable":
        extra["content-range"] = f"bytes */{size}"
        if on_status:
            on_status(416)
        await send_response(send, Response(416, b"", "text/plain", extra))
        return 416, False
    if isinstance(rng, tuple):
        start, end = rng
        status = 206
        extra["content-range"] = f"bytes {start}-{end}/{size}"
    else:
        start, end, status = 0, size - 1, 200
    length = end - start + 1
    if on_status:
        on_status(status)
    await send({"type": "http.response.start", "status": status,
                "headers": _header_list(answer.content_type, length, extra)})
    if head_only:
        await send({"type": "http.response.body", "body": b""})
        return status, False
    remaining = length if cut_after is None else min(length, cut_after)
    for chunk in _chunks(answer.path, start, remaining):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    if cut_after is not None and cut_after < length:
        return status, True
    await send({"type": "http.response.body", "body": b""})
    return status, False


def _chunks(path: Path, start: int, length: int) -> Iterator[bytes]:
    """Read ``length`` bytes from ``start`` in 64 KB pieces. Plain reads: clips are
    local files of a few MB, each piece takes microseconds from the page cache."""
    with open(path, "rb") as fh:
        fh.seek(start)
        while length > 0:
            chunk = fh.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


async def drop_connection(send: Send, receive: Receive) -> None:
    """Close the TCP connection without (finishing) an answer.

    Uses the server's transport behind ``send`` (uvicorn's request cycle); waits,
    bounded, for the disconnect so the server does not log a half-sent answer.
    """
    owner = getattr(send, "__self__", None)
    transport = getattr(owner, "transport", None)
    if transport is None:
        raise RuntimeError("connection reset needs uvicorn's transport")
    transport.close()

    async def until_disconnect() -> None:
        for _ in range(100):
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    try:
        await asyncio.wait_for(until_disconnect(), timeout=5.0)
    except asyncio.TimeoutError:
        pass
