"""The batch's files without Ray: the tasks file is checked whole, the output folder keeps
every attempt and survives a torn results line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwen_gui_agent.agent.batch.output import BatchOutput, TaskResult, check_manifest
from qwen_gui_agent.agent.batch.tasks import load_tasks
from qwen_gui_agent.errors import DataError, TaskFileError, UsageError


def write_lines(path: Path, *lines: object) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                            for line in lines), encoding="utf-8")
    return path


def test_tasks_are_read_with_their_env_options(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl",
                       {"id": "a", "task": "Open it", "env": {"url": "http://127.0.0.1/x"}},
                       "",
                       {"id": 7, "task": "Another"})
    first, second = load_tasks(path, "browser")
    assert (first.id, first.task, first.env, first.line) == ("a", "Open it", {"url": "http://127.0.0.1/x"}, 1)
    assert (second.id, second.env, second.line) == ("7", {}, 3)


def test_a_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", {"id": "a", "task": "x"}, {"id": "b", "task": "y"},
                       {"id": "a", "task": "z"})
    with pytest.raises(TaskFileError, match=r"t.jsonl:3: duplicate id 'a', already used on line 1"):
        load_tasks(path, "browser")


@pytest.mark.parametrize(("line", "kind", "message"), [
    ('{"id": "../x", "task": "t"}', "browser", "id must be"),
    ('{"id": "a.attempt2", "task": "t"}', "browser", "id must be"),
    ('{"id": "a", "task": ""}', "browser", "task must be a non-empty string"),
    ('{"id": "a", "task": "t", "env": {"app": "Maps"}}', "browser", "do not apply to the browser env"),
    ('{"id": "a", "task": "t", "env": {"activity": "; rm -rf /"}}', "android", "env.activity"),
    ('{"id": "a", "task": "t", "env": {"command": []}}', "desktop", "env.command"),
    ('{"id": "a", "task": "t", "when": 1}', "browser", "unknown field"),
    ('["a"]', "browser", "expected a JSON object"),
    ('{"id": "a", "task": ', "browser", "not a JSON object"),
])
def test_a_bad_line_is_refused_with_its_number(tmp_path: Path, line: str, kind: str, message: str) -> None:
    path = write_lines(tmp_path / "t.jsonl", {"id": "ok", "task": "fine"}, line)
    with pytest.raises(TaskFileError, match=message) as caught:
        load_tasks(path, kind)
    assert "t.jsonl:2:" in str(caught.value)


def test_an_empty_tasks_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="holds no task"):
        load_tasks(write_lines(tmp_path / "t.jsonl", ""), "browser")


def result(task_id: str, status: str = "success") -> TaskResult:
    return TaskResult(id=task_id, status=status, steps=2, answer=None, attempts=1,
                      trajectory=f"runs/{task_id}", error=None)


def test_earlier_attempts_are_kept_beside_the_task(tmp_path: Path) -> None:
    output = BatchOutput(tmp_path / "out")
    assert output.set_aside("a") is None
    output.run_dir("a").mkdir()
    (output.run_dir("a") / "trajectory.jsonl").write_text("first")
    assert output.set_aside("a") == output.runs / "a.attempt1"
    output.run_dir("a").mkdir()
    assert output.set_aside("a") == output.runs / "a.attempt2"
    assert (output.runs / "a.attempt1" / "trajectory.jsonl").read_text() == "first"
    assert not output.run_dir("a").exists()


def test_results_survive_a_torn_last_line_and_refuse_a_second_batch(tmp_path: Path) -> None:
    output = BatchOutput(tmp_path / "out")
    output.append(result("a"))
    output.append(result("b", "failure"))
    with open(output.results_path, "a", encoding="utf-8") as file:
        file.write('{"id": "c", "stat')  # the driver died mid-line
    assert set(BatchOutput(tmp_path / "out", resume=True).finished()) == {"a", "b"}
    assert output.results_path.read_text().endswith("}\n")  # the torn line is gone
    assert output.finished()["b"].status == "failure"
    with pytest.raises(UsageError, match="--resume"):
        BatchOutput(tmp_path / "out")


def test_a_bad_results_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    output = BatchOutput(tmp_path / "out")
    write_lines(output.results_path, "not json", result("a").to_json())
    with pytest.raises(DataError, match="results.jsonl:1"):
        output.finished()


def test_a_worker_refuses_an_output_folder_it_cannot_see(tmp_path: Path) -> None:
    output = BatchOutput(tmp_path / "out")
    output.write_manifest({"token": "abc"})
    check_manifest(output.root, "abc")
    with pytest.raises(UsageError, match="shared filesystem"):
        check_manifest(output.root, "another batch")
    with pytest.raises(UsageError, match="shared filesystem"):
        check_manifest(tmp_path / "elsewhere", "abc")


def test_tasks_built_in_code_get_the_checks_of_a_file(tmp_path: Path) -> None:
    from qwen_gui_agent.agent.batch import BatchConfig, BatchRunner, TaskSpec

    config = BatchConfig(kind="browser", out=tmp_path / "out")
    with pytest.raises(TaskFileError, match=r"task '\.\./x': id must be"):
        BatchRunner([TaskSpec(id="../x", task="escape")], config)
    with pytest.raises(TaskFileError, match="do not apply to the browser env"):
        BatchRunner([TaskSpec(id="a", task="t", env={"serial": "x"})], config)
    with pytest.raises(UsageError, match="unique"):
        BatchRunner([TaskSpec(id="a", task="t"), TaskSpec(id="a", task="u")], config)
    assert not (tmp_path / "out").exists()
