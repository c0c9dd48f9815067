"""Shared trajectory files are untrusted: crafted ones cannot read elsewhere, exhaust memory or abort.

Each test tampers with a copy of a real recorded run the way an attacker
would, then runs ``report`` and ``export`` (the CLI, as a user would) and
checks what a user cares about: no file from outside the run reaches the
output, a huge image is refused before it is decoded, one bad file or image
is skipped with a warning while the rest goes through, and a failed export
leaves no half-written folder.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from qwen_gui_agent.trajectories import export, load_trajectory, write_report
from qwen_gui_agent.trajectories.reader import MAX_SCREENSHOT_PIXELS

sys.path.insert(0, str(Path(__file__).parents[1] / "agent"))
from cli_helpers import EXIT, qwen_agent  # noqa: E402

CANARY = (1, 2, 3)
"""The colour of the image that lies outside the run: it must never be copied or embedded."""


@pytest.fixture
def run(todo_run: Path, tmp_path: Path) -> Path:
    """A private copy of the recorded to-do run, to tamper with."""
    copy = tmp_path / "runs" / todo_run.name
    shutil.copytree(todo_run, copy)
    return copy


def _rewrite_step(run: Path, index: int, **fields: object) -> None:
    file = run / "trajectory.jsonl"
    lines = file.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        record = json.loads(line)
        if record.get("type") == "step" and record["index"] == index:
            record.update(fields)
            lines[number] = json.dumps(record)
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _canary(path: Path) -> Path:
    Image.new("RGB", (800, 500), CANARY).save(path)
    return path


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (the pixel data is a few bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _exported_colours(out: Path) -> set[tuple[int, int, int]]:
    return {Image.open(p).convert("RGB").getpixel((0, 0)) for p in (out / "images").glob("*.png")}


@pytest.mark.parametrize("how", ["absolute", "dot-dot", "symlink"])
def test_screenshot_paths_cannot_leave_the_run_folder(run: Path, tmp_path: Path, how: str) -> None:
    outside = _canary(tmp_path / "outside.png")
    if how == "absolute":
        _rewrite_step(run, 1, screenshot=str(outside))
    elif how == "dot-dot":
        _rewrite_step(run, 1, screenshot="../../outside.png")
    else:
        link = run / "screenshots" / "step_0001.png"
        link.unlink()
        link.symlink_to(outside)
    report = qwen_agent("report", str(run), "--out", str(tmp_path / "report.html"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "screenshot not shown" in page
    assert "link to a file outside the run folder" in page or "leaves the run folder" in page
    assert page.count("data:image/jpeg;base64,") == len(load_trajectory(run).steps) - 1
    done = qwen_agent("export", str(run), "--format", "qwen-vl-finetune", "--out", str(tmp_path / "data"),
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "qwen-agent: warning:" in done.stderr and "step 1" in done.stderr
    assert "1 bad_screenshot" in done.stdout
    assert CANARY not in _exported_colours(tmp_path / "data")


@pytest.mark.parametrize("size", [(30000, 30000), (12000, 12000)], ids=["30k", "12k"])
def test_a_huge_screenshot_is_refused_before_it_is_decoded(run: Path, tmp_path: Path,
                                                          size: tuple[int, int]) -> None:
    assert size[0] * size[1] > MAX_SCREENSHOT_PIXELS
    (run / "screenshots" / "step_0002.png").write_bytes(_png_header(*size))
    started = time.monotonic()
    path = write_report(run, tmp_path / "report.html")
    summary = export(run, tmp_path / "data")
    assert time.monotonic() - started < 30
    assert "pixels a screenshot may have" in path.read_text(encoding="utf-8")
    assert summary.skipped_steps["bad_screenshot"] == 1 and summary.samples >= 1
    assert any("step 2" in warning for warning in summary.warnings)


def test_an_unreadable_screenshot_skips_that_image_only(run: Path, tmp_path: Path) -> None:
    (run / "screenshots" / "step_0003.png").write_bytes(b"not a png at all")
    summary = export(run, tmp_path / "data")
    assert summary.skipped_steps["bad_screenshot"] == 1
    assert summary.samples == 3  # the other usable steps are all there
    assert "not a readable image" in write_report(run, tmp_path / "r.html").read_text(encoding="utf-8")


def test_json_nested_beyond_any_parser_is_a_clean_error(run: Path, tmp_path: Path) -> None:
    deep = '{"type": "step", "index": 9, "extra": ' + "[" * 200_000 + "]" * 200_000 + "}"
    with open(run / "trajectory.jsonl", "a", encoding="utf-8") as file:
        file.write(deep + "\n")
    report = qwen_agent("report", str(run), cwd=tmp_path)
    assert report.returncode == EXIT["usage"]
    assert "not a valid trajectory line" in report.stderr and "Traceback" not in report.stderr


def test_export_skips_a_corrupt_run_and_writes_the_good_ones(run: Path, todo_run: Path,
                                                             tmp_path: Path) -> None:
    corrupt = run.parent / "20000101-000000-000000-corrupt"
    corrupt.mkdir()
    (corrupt / "trajectory.jsonl").write_text('{"type": "header", "task": 1}\n', encoding="utf-8")
    torn = run.parent / "20000101-000000-000001-torn"
    shutil.copytree(todo_run, torn)
    with open(torn / "trajectory.jsonl", "a", encoding="utf-8") as file:
        file.write('{"type": "step", "ind')
    done = qwen_agent("export", str(run.parent), "--format", "llamafactory", "--out", str(tmp_path / "lf"),
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"skipped the run {corrupt}" in done.stderr
    assert "cut short (the run was killed)" in done.stderr
    assert "(0 filtered out, 1 unreadable and skipped)" in done.stdout
    assert len(json.loads((tmp_path / "lf" / "data.json").read_text(encoding="utf-8"))) == 8


def test_a_failed_export_leaves_no_half_written_folder(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "lf"
    out.mkdir()
    (out / "dataset_info.json").write_text("{broken", encoding="utf-8")
    (out / "data.json").write_text("[]", encoding="utf-8")
    done = qwen_agent("export", str(run), "--format", "llamafactory", "--out", str(out), cwd=tmp_path)
    assert done.returncode == EXIT["usage"] and "dataset_info.json is not valid JSON" in done.stderr
    assert sorted(os.listdir(out)) == ["data.json", "dataset_info.json"]  # untouched
    assert (out / "data.json").read_text(encoding="utf-8") == "[]"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lf")] == []
