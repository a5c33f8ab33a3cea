"""Helpers for the sandbox tests: inputs built on the fly, a loopback receiver, bounded waits."""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import httpx
import numpy as np
from PIL import Image, ImageDraw

from hh_notebook.sandbox import Sandbox

SEGMIND_KEY = "SG_0123456789abcdef"
AUTH = {
    "segmind": {"x-api-key": SEGMIND_KEY},
    "apiframe": {"X-API-Key": "afk_test_key"},
    "hiapi": {"Authorization": "Bearer hi_test_key"},
    "openai": {"Authorization": "Bearer sk-test-key"},
}


def png_bytes(width: int = 640, height: int = 360, color: tuple[int, int, int] = (200, 30, 30),
              fmt: str = "PNG") -> bytes:
    """A solid-colour image, encoded."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format=fmt)
    return buf.getvalue()


def pattern_png(width: int, height: int, seed: int) -> bytes:
    """A smooth two-colour gradient with a large disc: structured enough that two seeds
    give clearly different pictures, smooth enough to survive lossy encoding."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 255, size=3), rng.integers(0, 255, size=3)
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    pixels = (a * (1 - t) + b * t) * np.ones((height, 1, 1))
    im = Image.fromarray(pixels.astype(np.uint8), "RGB")
    r = min(width, height) // 4
    cx, cy = int(rng.integers(r, width - r)), int(rng.integers(r, height - r))
    ImageDraw.Draw(im).ellipse((cx - r, cy - r, cx + r, cy + r),
                               fill=tuple(int(c) for c in rng.integers(0, 255, size=3)))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def sine(seconds: float, freq: float, rate: int = 24000) -> np.ndarray:
    """A sine tone at half scale, float32 samples."""
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav_bytes(seconds: float, freq: float = 1000.0, rate: int = 24000) -> bytes:
    """A mono 16-bit WAV file holding a sine tone."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((sine(seconds, freq, rate) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def mp3_bytes(seconds: float, freq: float = 1000.0, rate: int = 24000) -> bytes:
    """A mono MP3 file holding a sine tone (encoded with PyAV's LAME)."""
    import av

    samples = sine(seconds, freq, rate)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate)
        stream.layout = "mono"
        stream.format = "fltp"
        for start in range(0, samples.size, 1152):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[None, start:start + 1152]), format="fltp",
                layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    """``data:`` URL of some bytes."""
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def finish(sb: Sandbox, provider_seconds: float = 400.0) -> None:
    """Bring every job submitted so far to its end: wait (bounded) for the clips, then
    move the sandbox clock past the longest generation time."""
    assert sb.wait_encoded(timeout=60), "clips still encoding after 60 s"
    sb.advance(provider_seconds)


def client(sb: Sandbox) -> httpx.Client:
    """An HTTP client rooted at the sandbox."""
    return httpx.Client(base_url=sb.base_url, timeout=30.0)


class Receiver:
    """A loopback HTTP server recording POSTed JSON bodies (webhooks, callbacks) and
    serving fixed files for GETs (image inputs by URL)."""

    def __init__(self, files: dict[str, bytes] | None = None, status: int = 200) -> None:
        import http.server
        import json
        import threading

        self.bodies: list[Any] = []
        self.got = threading.Condition()
        self.gets: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                with outer.got:
                    outer.bodies.append(body)
                    outer.got.notify_all()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                outer.gets.append(self.path)
                data = (files or {}).get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("content-length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, n: int, timeout: float = 30.0) -> list[Any]:
        """Block (bounded) until ``n`` bodies arrived; return them."""
        with self.got:
            assert self.got.wait_for(lambda: len(self.bodies) >= n, timeout), \
                f"{len(self.bodies)} of {n} notifications within {timeout} s"
            return list(self.bodies)

    def __enter__(self) -> Receiver:  # noqa: PYI034
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
