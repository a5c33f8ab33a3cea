"""Reports: a self-contained folder (or one file) that opens from disk, with all text escaped."""

from __future__ import annotations

import csv
import io
import json
import pathlib
import re
from collections.abc import Iterator

import av
import pytest
from PIL import Image
from sweep_fixtures import HOSTILE_PROMPT, finished_sweep

from hh_notebook import __version__
from hh_notebook.client import Client
from hh_notebook.report import ReportSizeWarning
from hh_notebook.request import GenerationRequest
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult


@pytest.fixture(scope="module")
def done(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Client, SweepResult]]:
    client, result = finished_sweep(sandbox, tmp_path_factory.mktemp("report"))
    client.journal.set_rating(result.rows[0].job_id, 2, "</td><b>too dark</b>")
    yield client, result.refresh()
    client.close()


def urls_in(page: str) -> list[str]:
    return re.findall(r'(?:src|href|poster)="([^"]*)"', page)


def test_folder_report_has_every_part(
    done: tuple[Client, SweepResult], tmp_path: pathlib.Path
) -> None:
    _, result = done
    index = result.export_report(tmp_path / "rep")
    root = index.parent
    assert index == root / "index.html"
    for row in result.rows:
        clip = root / "clips" / f"cell-{row.key}.mp4"
        assert clip.read_bytes() == row.video_path.read_bytes()
        assert (root / "posters" / f"cell-{row.key}.jpg").stat().st_size > 0
        sheet = Image.open(root / "sheets" / f"cell-{row.key}.png")
        assert sheet.format == "PNG" and sheet.width > 4 * sheet.height
        request = json.loads((root / "requests" / f"cell-{row.key}.json").read_text())
        assert request["request"] == {**row.request.to_dict(), "model": "1.1"}  # never null
        assert GenerationRequest.from_dict(request["request"]).seed == row.params["seed"]
    assert (root / "results.csv").read_text().count("\n") == 5
    assert len(json.loads((root / "results.json").read_text())["rows"]) == 4


def test_report_tables_point_at_the_reports_own_clips(
    done: tuple[Client, SweepResult], tmp_path: pathlib.Path, monkeypatch
) -> None:
    _, result = done
    monkeypatch.chdir(tmp_path)  # written from elsewhere than where it is read
    root = result.export_report("rep").parent
    rows = list(csv.DictReader((root / "results.csv").open()))
    assert [r["video_path"] for r in rows] == [f"clips/cell-{r['cell']}.mp4" for r in rows]
    for row in rows:
        assert (root / row["video_path"]).is_file()
    saved = json.loads((root / "results.json").read_text())["rows"]
    assert all((root / r["video_path"]).is_file() for r in saved)


def test_sandbox_clips_are_never_summed_as_money(
    done: tuple[Client, SweepResult], tmp_path: pathlib.Path
) -> None:
    page = done[1].export_report(tmp_path / "rep").read_text()
    assert "spent $0.00 · 4 sandbox clip(s) — not paid" in page
    assert "sandbox — not paid" in page and "$0.42" not in page


def test_page_links_only_local_files(
    done: tuple[Client, SweepResult], tmp_path: pathlib.Path
) -> None:
    index = done[1].export_report(tmp_path / "rep")
    page = index.read_text()
    urls = urls_in(page)
    assert urls, "the page should reference its clips"
    for url in urls:
        assert not re.match(r"^[a-z]+://|^//", url), url
        assert (index.parent / url).is_file(), url
    assert "<script" not in page.replace("&lt;script", "")
    assert "<link" not in page and "@import" not in page


def test_page_escapes_user_text_and_shows_everything(
    done: tuple[Client, SweepResult], tmp_path: pathlib.Path
) -> None:
    page = done[1].export_report(tmp_path / "rep").read_text()
    assert HOSTILE_PROMPT not in page
    assert "&lt;script&gt;alert(&quot;fox&quot;)&lt;/script&gt; &amp; a red fox" in page
    assert "&lt;/td&gt;&lt;b&gt;too dark&lt;/b&gt;" in page
    assert f"hh_notebook {__version__}" in page
    for label in ("601", "602", "16:9", "9:16", "seed", "aspect_ratio", "sandbox — not paid",
                  "rating: 2"):
        assert label in page, label
    assert page.count("<video") == 4


def test_single_file_embeds_everything(
    done: tuple[Client, SweepResult], tmp_path: pathlib.Path
) -> None:
    out = done[1].export_report(tmp_path / "one.html", single_file=True)
    assert out == tmp_path / "one.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.html"]
    page = out.read_text()
    urls = urls_in(page)
    assert urls and all(u.startswith("data:") for u in urls)
    video_url = next(u for u in urls if u.startswith("data:video/mp4;base64,"))
    import base64

    with av.open(io.BytesIO(base64.b64decode(video_url.split(",", 1)[1]))) as clip:
        assert clip.streams.video[0].codec_context.name == "h264"


def test_single_file_warns_when_large(
    done: tuple[Client, SweepResult], tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hh_notebook import report

    monkeypatch.setattr(report, "SINGLE_FILE_WARN_BYTES", 1000)
    with pytest.warns(ReportSizeWarning, match="every clip is embedded"):
        done[1].export_report(tmp_path / "one.html", single_file=True)


def test_failed_cells_are_listed_without_a_player(
    fresh_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "fail_job"})
    client, result = finished_sweep(fresh_sandbox, tmp_path / "data", seeds="621-621")
    try:
        failed = result.failed
        assert len(failed) == 1
        page = result.export_report(tmp_path / "rep").read_text()
        assert len(result.rows) == 2
        assert page.count("<video") == 1
        assert 'class="status failed"' in page
        assert (tmp_path / "rep" / "requests" / f"cell-{failed[0].key}.json").is_file()
    finally:
        client.close()
