"""The apps ``open_app`` may start on a desktop: an allow-list the user controls.

The model names an app; it never writes a command line. Every app the env can
start is a label and an argv that came from the *user*: the ``apps={label:
argv}`` map of :class:`~qwen_gui_agent.envs.desktop.env.DesktopEnv`, the CLI's
``--app "Text Editor=gedit --new-window"`` (split by :func:`parse_app_spec`
like a shell would, on the user's text only) and, when asked for, the
installed freedesktop entries (``.desktop`` files) by their ``Name``, with
their ``Exec`` field codes (``%f``, ``%u``, ...) removed. The model's text only
*selects* one of them, so nothing it writes ever becomes a program or an
argument.

Matching ignores case and spacing: an exact label wins; otherwise the one
label that contains the name's words in order ("editor" -> "Text Editor").
Anything else raises :class:`~qwen_gui_agent.errors.AppNotAllowed`, written
for the model, listing the names it may use.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from qwen_gui_agent.errors import AppNotAllowed, UsageError, brief

MAX_LISTED = 20
"""Most labels an error lists in full; beyond that it lists the closest ones."""
MAX_ENTRY_BYTES = 64 * 1024
"""A ``.desktop`` file is a few hundred bytes; anything far bigger is not one."""

_FIELD_CODE = re.compile(r"%(.)")
_KNOWN_FIELD_CODES = set("fFuUdDnNickvm")
"""Exec field codes the Desktop Entry Specification defines (``%%`` is a literal ``%``)."""
_GENERAL_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


@dataclass(frozen=True)
class App:
    """One app ``open_app`` may start."""

    label: str
    argv: tuple[str, ...]
    """The program (an absolute path) and its arguments, exactly as the user or the entry gave them."""
    source: str
    """``"user"`` or the ``.desktop`` file it came from."""


def normalize_label(text: str) -> str:
    """Case-folded, with runs of spaces made one: how labels are compared."""
    return " ".join(text.casefold().split())


def parse_app_spec(spec: str) -> tuple[str, list[str]]:
    """``"Label=command args"`` (the ``--app`` flag) -> ``(label, argv)``.

    The command is split like a shell would (quotes, backslashes), without
    running one; this text is the user's, never the model's.
    """
    label, sep, command = spec.partition("=")
    if not sep or not label.strip() or not command.strip():
        raise UsageError(f"--app takes LABEL=COMMAND such as 'Text Editor=gedit --new-window', got {spec!r}")
    try:
        argv = shlex.split(command)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"cannot split the command of --app {spec!r}: {exc}") from None
    return label.strip(), argv


def application_dirs() -> list[Path]:
    """Where freedesktop entries live, most specific first (``$XDG_DATA_HOME``, then ``$XDG_DATA_DIRS``)."""
    home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    shared = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    return [Path(base) / "applications" for base in [home, *shared.split(":")] if base]


def exec_argv(value: str) -> list[str] | None:
    """The argv of a ``.desktop`` ``Exec`` value with its field codes removed; None when unusable.

    ``Exec`` is unescaped twice, as the spec says: the string escapes
    (``\\s``, ``\\\\``...) and then the quoting (:func:`_split_exec`). An argument holding a
    field code (``%f``, ``%U``, ``--icon=%i``...) stands for something this env
    never passes (files, URLs, the icon), so it is dropped whole; ``%%`` is a
    literal ``%``. An unknown field code makes the entry unusable.
    """
    words = _split_exec(_unescape(value))
    if words is None:
        return None
    argv = []
    for word in words:
        codes = [code for code in _FIELD_CODE.findall(word) if code != "%"]
        if any(code not in _KNOWN_FIELD_CODES for code in codes):
            return None
        if not codes:
            argv.append(word.replace("%%", "%"))
    return argv or None


def desktop_entries(directories: Sequence[Path] | None = None) -> list[App]:
    """The launchable applications among the ``.desktop`` files, first name first.

    A desktop file ID (its path under ``applications/``, ``/`` read as ``-``)
    found in an earlier directory hides later ones with that ID, so a user's
    own ``Hidden=true`` copy removes a system entry. Skipped: other ``Type`` s,
    ``NoDisplay`` / ``Hidden`` entries, ``Terminal=true`` ones (they need a
    terminal emulator), and those whose ``TryExec`` or program is not installed.
    """
    seen_ids: set[str] = set()
    apps: list[App] = []
    for directory in application_dirs() if directories is None else directories:
        for path in _entry_files(directory):
            file_id = path.relative_to(directory).as_posix().replace("/", "-")
            if file_id in seen_ids:
                continue
            seen_ids.add(file_id)
            app = _read_entry(path)
            if app is not None:
                apps.append(app)
    return apps


class AppCatalog:
    """The apps ``open_app`` may start, by label; the model's name only picks one.

    ``apps``: ``{label: argv}`` (an argv is a list, or a string split like a
    shell would; it is the user's). ``installed``: also offer the installed
    freedesktop entries by their ``Name`` (a user's label wins over an entry
    of the same name). A user's program that is not installed is a
    :class:`UsageError` at once, not a surprise for the model later.
    """

    def __init__(self, apps: Mapping[str, str | Sequence[str]] | None = None, *,
                 installed: bool = False, directories: Sequence[Path] | None = None) -> None:
        self._apps: dict[str, App] = {}
        for label, command in (apps or {}).items():
            app = _user_app(label, command)
            key = normalize_label(app.label)
            if key in self._apps:
                raise UsageError(f"two apps are named {app.label!r} (labels ignore case and spacing)")
            self._apps[key] = app
        if installed:
            for entry in desktop_entries(directories):
                self._apps.setdefault(normalize_label(entry.label), entry)

    def __len__(self) -> int:
        return len(self._apps)

    @property
    def labels(self) -> list[str]:
        """The names the model may use, sorted."""
        return sorted((app.label for app in self._apps.values()), key=str.casefold)

    def resolve(self, name: str) -> App:
        """The app ``name`` means: an exact label (case and spacing ignored), else the
        one label holding its words in order; otherwise :class:`AppNotAllowed`."""
        key = normalize_label(name)
        if key in self._apps:
            return self._apps[key]
        words = re.findall(r"\w+", key)
        found = [app for label, app in self._apps.items() if words and _contains(re.findall(r"\w+", label), words)]
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(sorted(app.label for app in found))
            raise AppNotAllowed(f"{brief(name)} could be any of: {names}; open_app takes one of these names")
        raise AppNotAllowed(f"no app named {brief(name)} may be opened here; {self._offer(key)}")

    def _offer(self, key: str) -> str:
        labels = self.labels
        if len(labels) <= MAX_LISTED:
            return "open_app takes one of: " + ", ".join(labels)
        close = difflib.get_close_matches(key, list(self._apps), n=5, cutoff=0.5)
        named = ", ".join(self._apps[k].label for k in close) if close else ", ".join(labels[:5])
        return f"{len(labels)} apps may be opened, e.g. {named}"


def _contains(words: list[str], part: list[str]) -> bool:
    """Whether ``part`` appears in ``words`` as a contiguous run."""
    return any(words[i:i + len(part)] == part for i in range(len(words) - len(part) + 1))


def _user_app(label: str, command: str | Sequence[str]) -> App:
    if not isinstance(label, str) or not label.strip():
        raise UsageError(f"an app label must be a non-empty string, got {label!r}")
    argv = _split_user_command(label, command)
    program = shutil.which(argv[0])
    if program is None:
        raise UsageError(f"the app {label!r} runs {argv[0]!r}, which is not an installed program "
                         "(not on PATH, or not executable)")
    return App(label.strip(), (program, *argv[1:]), "user")


def _split_user_command(label: str, command: str | Sequence[str]) -> list[str]:
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise UsageError(f"cannot split the command of the app {label!r}: {exc}") from None
    else:
        argv = list(command)
    if not argv or not all(isinstance(arg, str) for arg in argv):
        raise UsageError(f"the app {label!r} needs a command: a list of strings such as ['gedit'], got {command!r}")
    return argv


def _entry_files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.rglob("*.desktop") if p.is_file())
    except OSError:  # a directory that vanished or cannot be read offers nothing
        return []


def _read_entry(path: Path) -> App | None:
    """The app a ``.desktop`` file describes, or None when it is not a launchable application."""
    try:
        if path.stat().st_size > MAX_ENTRY_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = _main_group(text)
    if (fields.get("Type") != "Application" or fields.get("NoDisplay") == "true"
            or fields.get("Hidden") == "true" or fields.get("Terminal") == "true"):
        return None
    name = _unescape(fields.get("Name", "")).strip()
    try_exec = fields.get("TryExec")
    argv = exec_argv(fields.get("Exec", ""))
    if not name or argv is None or (try_exec and shutil.which(_unescape(try_exec)) is None):
        return None
    program = shutil.which(argv[0])
    return None if program is None else App(name, (program, *argv[1:]), str(path))


def _main_group(text: str) -> dict[str, str]:
    """The unlocalised keys of the ``[Desktop Entry]`` group (first value of each)."""
    fields: dict[str, str] = {}
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if group == "Desktop Entry" and sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


def _split_exec(value: str) -> list[str] | None:
    """Words of an ``Exec`` value, split as a POSIX shell would (which is what the spec's
    quoting rules are): ``"..."`` where a backslash escapes ``" ` $ \\``, ``'...'``
    taken literally, a backslash outside quotes escaping the next character. None
    for an unclosed quote."""
    words: list[str] = []
    current: list[str] = []
    in_word, quote = False, ""
    chars = iter(value)
    for char in chars:
        if quote:
            if char == quote:
                quote = ""
            elif quote == '"' and char == "\\":
                following = next(chars, "")
                current.append(following if following in '"`$\\' else char + following)
            else:
                current.append(char)
        elif char in " \t\n":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            in_word = True
            if char in "'\"":
                quote = char
            elif char == "\\":
                current.append(next(chars, ""))
            else:
                current.append(char)
    if quote:
        return None
    if in_word:
        words.append("".join(current))
    return words


def _unescape(value: str) -> str:
    """The spec's string escapes: ``\\s`` ``\\n`` ``\\t`` ``\\r`` ``\\\\``; any other backslash stays."""
    return re.sub(r"\\(.)", lambda m: _GENERAL_ESCAPES.get(m.group(1), m.group(0)), value)
