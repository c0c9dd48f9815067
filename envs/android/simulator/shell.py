"""A small POSIX ``sh`` for the device simulator: quoting, expansion, lists, pipes.

adbd hands a shell command line to ``/system/bin/sh -c``; whatever the host
quoted wrong is mangled there before ``input`` ever sees it. To make tests of
quoting meaningful the simulator reads command lines the way sh does:
single and double quotes, backslashes, ``$VAR`` / ``${VAR}`` / ``$?``,
``$(...)`` and backtick substitution, ``~``, globbing against a fixed root
listing, field splitting of unquoted expansions, ``;`` ``&`` ``&&`` ``||``
``|``, redirections to files (``/dev/null`` discards) and ``2>&1``. Unquoted
parentheses are a syntax error, as they would be for a simple command.

Commands are run by a callback ``run(argv, stdin) -> (stdout, stderr, code)``;
``echo``, ``true``, ``false``, ``grep`` and ``cat`` are built in here.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Callable, Union

from qwen_gui_agent.errors import DataError

CommandRunner = Callable[[list[str], bytes], "tuple[bytes, bytes, int]"]

SHELL = "/system/bin/sh"
ROOT_LISTING = (
    "acct", "apex", "bin", "bugreports", "cache", "config", "d", "data", "debug_ramdisk",
    "dev", "etc", "init", "linkerconfig", "metadata", "mnt", "odm", "oem", "proc",
    "product", "sdcard", "storage", "sys", "system", "system_ext", "vendor",
)
"""What ``/`` (adbd's working directory) holds, for glob expansion."""


class ShellSyntaxError(DataError):
    """A command line the simulator's ``sh`` cannot parse (the device answers as ``sh`` would)."""


@dataclass
class Part:
    kind: str  # "lit" | "var" | "sub"
    text: str
    quoted: bool


Word = list[Part]


@dataclass
class Redirect:
    fd: int
    op: str  # ">", ">>", "<", ">&"
    target: Word


@dataclass
class Simple:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


Token = Union[tuple[str, str], tuple[str, Word]]
_OPERATORS = ("&&", "||", ">>", ">&", ";", "&", "|", "<", ">", "(", ")")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Lexer:
    def __init__(self, line: str) -> None:
        self.s, self.i = line, 0
        self.tokens: list[Token] = []
        self.word: Word | None = None

    def add(self, kind: str, text: str, quoted: bool) -> None:
        if self.word is None:
            self.word = []
        self.word.append(Part(kind, text, quoted))

    def flush(self) -> None:
        if self.word is not None:
            self.tokens.append(("word", self.word))
            self.word = None

    def run(self) -> list[Token]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t":
                self.flush()
                self.i += 1
            elif c == "\n":
                self.flush()
                self.tokens.append(("op", ";"))
                self.i += 1
            elif c == "#" and self.word is None:
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c in ";&|<>()":
                self._operator()
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ShellSyntaxError("unterminated quoted string")
                self.add("lit", s[self.i + 1:end], True)
                self.i = end + 1
            elif c == '"':
                self._double_quoted()
            elif c == "\\":
                if self.i + 1 < len(s) and s[self.i + 1] != "\n":
                    self.add("lit", s[self.i + 1], True)
                self.i += 2
            elif c == "$":
                self._dollar(quoted=False)
            elif c == "`":
                self._backtick(quoted=False)
            elif c == "~" and self.word is None and (self.i + 1 == len(s) or s[self.i + 1] in "/ \t;&|"):
                self.add("var", "HOME", True)
                self.i += 1
            else:
                self.add("lit", c, False)
                self.i += 1
        self.flush()
        return self.tokens

    def _operator(self) -> None:
        s = self.s
        op = next(o for o in _OPERATORS if s.startswith(o, self.i))
        if op in ("(", ")"):
            raise ShellSyntaxError(f"'{op}' unexpected")
        fd = None
        word = self.word
        if op in ("<", ">", ">>", ">&") and word and len(word) == 1 and \
                word[0].kind == "lit" and not word[0].quoted and word[0].text.isdigit():
            fd, self.word = int(word[0].text), None
        self.flush()
        self.i += len(op)
        if fd is not None:
            self.tokens.append(("op", f"{fd}{op}"))
        else:
            self.tokens.append(("op", op))

    def _double_quoted(self) -> None:
        s = self.s
        self.i += 1
        self.add("lit", "", True)  # "" is an (empty) word of its own
        while True:
            if self.i >= len(s):
                raise ShellSyntaxError("unterminated quoted string")
            c = s[self.i]
            if c == '"':
                self.i += 1
                return
            if c == "\\" and self.i + 1 < len(s) and s[self.i + 1] in '$`"\\\n':
                if s[self.i + 1] != "\n":
                    self.add("lit", s[self.i + 1], True)
                self.i += 2
            elif c == "$":
                self._dollar(quoted=True)
            elif c == "`":
                self._backtick(quoted=True)
            else:
                self.add("lit", c, True)
                self.i += 1

    def _dollar(self, quoted: bool) -> None:
        s, i = self.s, self.i + 1
        if s.startswith("((", i):
            raise ShellSyntaxError("arithmetic expansion is not supported by the simulator")
        if s.startswith("(", i):
            end = _matching_paren(s, i)
            self.add("sub", s[i + 1:end], quoted)
            self.i = end + 1
        elif s.startswith("{", i):
            end = s.find("}", i)
            if end < 0:
                raise ShellSyntaxError("missing '}'")
            self.add("var", s[i + 1:end], quoted)
            self.i = end + 1
        elif i < len(s) and (s[i] in "?$#!@*-" or s[i].isdigit()):
            self.add("var", s[i], quoted)
            self.i = i + 1
        elif (match := _NAME.match(s, i)) is not None:
            self.add("var", match.group(), quoted)
            self.i = match.end()
        else:
            self.add("lit", "$", quoted)
            self.i = i

    def _backtick(self, quoted: bool) -> None:
        s, start = self.s, self.i + 1
        i, body = start, []
        while i < len(s) and s[i] != "`":
            if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in "`\\$":
                i += 1
            body.append(s[i])
            i += 1
        if i >= len(s):
            raise ShellSyntaxError("unterminated `")
        self.add("sub", "".join(body), quoted)
        self.i = i + 1


def _matching_paren(s: str, open_index: int) -> int:
    depth, i, quote = 0, open_index, ""
    while i < len(s):
        c = s[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"':
                i += 1
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellSyntaxError("missing ')'")


def _parse(tokens: list[Token]) -> list[tuple[str, list[list[Simple]]]]:
    """Tokens -> [(separator, and_or)], and_or = [pipeline joined by && / ||]."""
    items: list[tuple[str, list]] = []
    and_or: list = []
    pipeline: list[Simple] = []
    command = Simple()
    it = iter(tokens)
    for kind, value in it:
        if kind == "word":
            command.words.append(value)  # type: ignore[arg-type]
            continue
        op = str(value)
        if op.lstrip("0123456789") in ("<", ">", ">>", ">&"):
            digits = op[: len(op) - len(op.lstrip("0123456789"))]
            bare = op[len(digits):]
            target = next(it, None)
            if target is None or target[0] != "word":
                raise ShellSyntaxError("missing redirection target")
            command.redirects.append(Redirect(int(digits) if digits else (0 if bare == "<" else 1),
                                              bare, target[1]))  # type: ignore[arg-type]
            continue
        if not command.words and not command.redirects:
            raise ShellSyntaxError(f"'{op}' unexpected")
        pipeline.append(command)
        command = Simple()
        if op == "|":
            continue
        and_or.append(pipeline)
        pipeline = []
        if op in ("&&", "||"):
            and_or.append(op)
            continue
        items.append((op, and_or))
        and_or = []
    if command.words or command.redirects:
        pipeline.append(command)
    elif pipeline or (and_or and isinstance(and_or[-1], str)):
        raise ShellSyntaxError("unexpected end of file")
    if pipeline:
        and_or.append(pipeline)
    if and_or:
        items.append((";", and_or))
    return items


class Shell:
    """One ``sh`` process: ``$?`` and variables live as long as it; ``files`` (a
    tiny in-memory file system for redirections) may be shared between shells."""

    def __init__(self, run: CommandRunner, variables: dict[str, str] | None = None,
                 files: dict[str, bytes] | None = None) -> None:
        self.run_command = run
        self.variables = {"HOME": "/", "PATH": "/product/bin:/apex/com.android.runtime/bin:"
                          "/system/bin:/system/xbin:/odm/bin:/vendor/bin", "SHELL": SHELL,
                          **(variables or {})}
        self.status = 0
        self.files: dict[str, bytes] = {} if files is None else files

    def run(self, line: str) -> tuple[bytes, bytes, int]:
        """Run ``line`` like ``sh -c line``: (stdout, stderr, exit status)."""
        out, err, _both = self.run_interleaved(line)
        return out, err, self.status

    def run_interleaved(self, line: str) -> tuple[bytes, bytes, bytes]:
        """(stdout, stderr, both in the order they were written) of ``sh -c line``."""
        try:
            items = _parse(_Lexer(line).run())
        except ShellSyntaxError as error:
            self.status = 2
            message = f"{SHELL}: syntax error: {error}\n".encode()
            return b"", message, message
        out, err, both = bytearray(), bytearray(), bytearray()
        for _separator, and_or in items:
            run_next = True
            for element in and_or:
                if element == "&&":
                    run_next = self.status == 0
                elif element == "||":
                    run_next = self.status != 0
                elif run_next:
                    o, e = self._pipeline(element)
                    out += o
                    err += e
                    both += e + o
        return bytes(out), bytes(err), bytes(both)

    def _pipeline(self, pipeline: list[Simple]) -> tuple[bytes, bytes]:
        data, err = b"", bytearray()
        for command in pipeline:
            data, e, self.status = self._simple(command, data)
            err += e
        return data, bytes(err)

    def _simple(self, command: Simple, stdin: bytes) -> tuple[bytes, bytes, int]:
        argv = [f for word in command.words for f in self.expand(word)]
        to_stdout = True
        for r in command.redirects:
            if r.op == "<":
                path = "".join(self.expand(r.target))
                if path not in self.files:
                    return b"", f"{SHELL}: can't open {path}: No such file or directory\n".encode(), 1
                stdin = self.files[path]
        if not argv:
            return b"", b"", 0
        out, err, code = self._builtin(argv, stdin)
        for r in command.redirects:
            target = "".join(self.expand(r.target))
            if r.op == ">&" and r.fd == 2 and target == "1":
                out, err = out + err, b""
            elif r.op in (">", ">>"):
                stream = out if r.fd == 1 else err
                if target != "/dev/null":
                    previous = self.files.get(target, b"") if r.op == ">>" else b""
                    self.files[target] = previous + stream
                if r.fd == 1:
                    out, to_stdout = b"", False
                else:
                    err = b""
        return (out if to_stdout else b""), err, code

    def _builtin(self, argv: list[str], stdin: bytes) -> tuple[bytes, bytes, int]:
        name, args = argv[0], argv[1:]
        if name == "echo":
            newline = not (args and args[0] == "-n")
            text = " ".join(args[1:] if not newline else args)
            return (text + ("\n" if newline else "")).encode(), b"", 0
        if name in ("true", ":"):
            return b"", b"", 0
        if name == "false":
            return b"", b"", 1
        if name == "grep":
            return _grep(args, stdin)
        if name == "cat":
            if not args:
                return stdin, b"", 0
            missing = [a for a in args if a not in self.files]
            if missing:
                return b"", f"cat: {missing[0]}: No such file or directory\n".encode(), 1
            return b"".join(self.files[a] for a in args), b"", 0
        return self.run_command(argv, stdin)

    def expand(self, word: Word) -> list[str]:
        """Fields of one word after expansion, field splitting and globbing."""
        fields: list[list[tuple[str, bool]]] = [[]]
        produced = False
        for part in word:
            if part.kind == "lit":
                fields[-1].extend((c, part.quoted) for c in part.text)
                produced = produced or part.quoted or bool(part.text)
                continue
            value = self._value(part)
            if part.quoted:
                fields[-1].extend((c, True) for c in value)
                produced = True
                continue
            pieces = re.split(r"[ \t\n]+", value)
            for index, piece in enumerate(pieces):
                if index:
                    fields.append([])
                fields[-1].extend((c, True) for c in piece)
                produced = produced or bool(piece)
        if not produced:
            return []
        result: list[str] = []
        for chars in fields:
            if not chars and len(fields) > 1:
                continue
            result.extend(_glob(chars))
        return result

    def _value(self, part: Part) -> str:
        if part.kind == "sub":
            saved = self.status
            out, _err, _code = self.run(part.text)
            self.status = saved
            return out.decode("utf-8", "replace").rstrip("\n")
        if part.text == "?":
            return str(self.status)
        if part.text == "$":
            return "4242"
        return self.variables.get(part.text, "")


def _glob(chars: list[tuple[str, bool]]) -> list[str]:
    text = "".join(c for c, _ in chars)
    if not any(c in "*?[" and not quoted for c, quoted in chars):
        return [text]
    pattern = "".join(c if not quoted else ("[" + c + "]" if c in "*?[" else c) for c, quoted in chars)
    matches = sorted(name for name in ROOT_LISTING if fnmatch.fnmatchcase(name, pattern))
    return matches or [text]


def _grep(args: list[str], stdin: bytes) -> tuple[bytes, bytes, int]:
    flags = [a for a in args if a.startswith("-")]
    rest = [a for a in args if not a.startswith("-")]
    if not rest:
        return b"", b"usage: grep [-EFivc] PATTERN\n", 2
    extended = any("E" in f for f in flags)
    # Basic regular expressions: + ? ( ) { } | are plain characters.
    pattern = rest[0] if extended else re.sub(r"([+?(){}|])", r"\\\1", rest[0])
    regex = re.compile(pattern, re.IGNORECASE if any("i" in f for f in flags) else 0)
    invert = any("v" in f for f in flags)
    lines = [ln for ln in stdin.decode("utf-8", "replace").splitlines()
             if bool(regex.search(ln)) != invert]
    out = f"{len(lines)}\n" if any("c" in f for f in flags) else "".join(ln + "\n" for ln in lines)
    return out.encode(), b"", 0 if lines else 1
