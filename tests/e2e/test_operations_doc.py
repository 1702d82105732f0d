"""docs/OPERATIONS.md cannot drift: its ```bash blocks run in order in one scratch
installation, and every `spice` command in its other blocks and its inline code names real
commands and options (```output blocks, which show what a command printed, are not read)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from spice_harvester.cli.main import app
from tests.conftest import scrubbed_environ
from tests.e2e.conftest import free_port, port_is_free

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "OPERATIONS.md"
DOC_NAME = "docs/OPERATIONS.md"
BLOCK_TIMEOUT = 180.0
STOP_TIMEOUT = 40.0
OUTPUT_SHOWN = 6000
# Variables of ours that are not settings but still change what `spice` does.
EXTRA_PREFIXES = ("SPICE_", "GUNICORN_")


# -- the document's fences ---------------------------------------------------------------------

FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class Block:
    language: str
    line: int  # the opening fence's line in the document, from 1
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return textwrap.dedent("\n".join(self.lines)) + "\n"


def parse_blocks(markdown: str) -> tuple[list[Block], list[tuple[int, str]]]:
    """The fenced blocks, and the lines outside them (with their numbers)."""
    found: list[Block] = []
    prose: list[tuple[int, str]] = []
    opening: tuple[str, str, int] | None = None
    body: list[str] = []
    for number, line in enumerate(markdown.splitlines(), 1):
        match = FENCE.match(line)
        if opening is None:
            if match:
                opening = (match["fence"], match["info"], number)
                body = []
            else:
                prose.append((number, line))
            continue
        fence, info, start = opening
        closes = match and match["fence"].startswith(fence) and not match["info"]
        if closes:
            found.append(Block(info, start, tuple(body)))
            opening = None
        else:
            body.append(line)
    assert opening is None, f"{DOC_NAME} line {opening[2]}: the fence is never closed"
    return found, prose


def document() -> tuple[list[Block], list[tuple[int, str]]]:
    return parse_blocks(DOC.read_text(encoding="utf-8"))


# -- running the bash blocks -------------------------------------------------------------------


def sandbox_environment() -> dict[str, str]:
    """No setting from the caller's environment, the virtual environment first on PATH, and
    every service on a free port of 127.0.0.1 (the document's curl lines read the ports)."""
    env = {k: v for k, v in scrubbed_environ().items() if not k.startswith(EXTRA_PREFIXES)}
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "spice").is_file(), f"no spice command beside {sys.executable}"
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", os.defpath)])
    ports: set[int] = set()
    while len(ports) < 3:
        ports.add(free_port())
    for name, port in zip(("OMS", "BFF", "FUNNEL"), sorted(ports), strict=True):
        env[f"{name}_PORT"] = str(port)
        env[f"{name}_HOST"] = "127.0.0.1"
    return env


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group: orphans of a finished block are
    reparented to a PID 1 that may never reap them."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def stop_groups(groups: list[int]) -> None:
    """SIGTERM each block's process group (so `spice up` stops its services in order), then
    SIGKILL whatever is left after STOP_TIMEOUT."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [pgid for pgid in groups if _group_members(pgid)]
        for pgid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [pgid for pgid in alive if _group_members(pgid)]
        if not alive:
            return


def _failure(block: Block, why: str, log: Path) -> str:
    output = log.read_text(errors="replace")
    if len(output) > OUTPUT_SHOWN:
        output = "...\n" + output[-OUTPUT_SHOWN:]
    return (
        f"{DOC_NAME} line {block.line}: the bash block {why} "
        f"(line N of the block is line {block.line}+N of the document):\n"
        f"{textwrap.indent(block.text, '    ')}\n--- its output ---\n{output}"
    )


def run_block(block: Block, root: Path, env: dict[str, str], logs: Path, groups: list[int]) -> None:
    script = logs / f"line-{block.line}.sh"
    script.write_text(block.text)
    log = logs / f"line-{block.line}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", str(script)],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        groups.append(process.pid)
        try:
            code = process.wait(BLOCK_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            pytest.fail(
                _failure(block, f"ran longer than {BLOCK_TIMEOUT:.0f} s", log), pytrace=False
            )
    if code != 0:
        pytest.fail(_failure(block, f"exited with status {code}", log), pytrace=False)


def _children_cpu() -> float:
    """CPU seconds of the finished blocks and the commands they waited for (what `spice up`
    left running in the background is not counted)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_every_bash_block_runs_in_order_in_one_scratch_installation(tmp_path: Path) -> None:
    blocks = [block for block in document()[0] if block.language == "bash"]
    assert len(blocks) >= 10, f"{DOC_NAME} has only {len(blocks)} bash blocks"
    root = tmp_path / "install"
    root.mkdir()
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / ".env.example", root / ".env.example")
    logs = tmp_path / "blocks"
    logs.mkdir()
    env = sandbox_environment()
    groups: list[int] = []
    timings: list[str] = []
    try:
        for block in blocks:
            started, cpu = time.monotonic(), _children_cpu()
            run_block(block, root, env, logs, groups)
            wall, used = time.monotonic() - started, _children_cpu() - cpu
            timings.append(f"line {block.line}: {wall:.1f} s ({used:.1f} s CPU)")
    finally:
        stop_groups(groups)
        print("\n".join(timings))
    # The document stops what it started: nothing may still hold the services' ports.
    for name in ("OMS", "BFF", "FUNNEL"):
        assert port_is_free(int(env[f"{name}_PORT"])), f"{name} still listens after the document"


# -- the spice command lines -------------------------------------------------------------------

SEPARATORS = {";", ";;", "&", "&&", "|", "||", "|&", "(", ")"}
REDIRECTIONS = {">", ">>", "<", "<<", "<<<", ">&", "<&", "&>", "&>>", ">|"}
PREFIX_WORDS = {"nohup", "time", "exec", "command", "then", "else", "elif", "do", "if", "!", "{"}
SUDO_OPTIONS_WITH_VALUE = {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>\w+)\1")
# The descriptor of `2>file` or `2>&1`, which shlex would part from its operator.
DESCRIPTOR = re.compile(r"(?<![^\s;&|(])\d+(?=[<>])")


def _is_spice(word: str) -> bool:
    # `.venv/bin/spice` is the command; `postgresql://.../spice` is a database name.
    return word == "spice" or word.endswith("/bin/spice")


def _logical_lines(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined, here-document bodies left out."""
    pending: tuple[int, str] | None = None
    heredoc_end: str | None = None
    for number, line in lines:
        if heredoc_end is not None:
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        start, text = pending if pending is not None else (number, "")
        text += line
        if line.endswith("\\"):
            pending = (start, text[:-1] + " ")
            continue
        pending = None
        heredoc = HEREDOC.search(text)
        if heredoc:
            heredoc_end = heredoc["word"]
        yield start, text
    if pending is not None:
        yield pending


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(DESCRIPTOR.sub("", text), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def spice_commands(text: str) -> Iterator[list[str]]:
    """The arguments of every `spice` run in one shell line, however it is started: after
    `sudo -u spice`, variable assignments, `nohup`, inside `$(...)` or `bash -c '...'`, or
    as the value of a systemd `ExecStart=`."""
    tokens = _tokens(text)
    index = 0
    while index < len(tokens):
        words: list[str] = []
        while index < len(tokens) and tokens[index] not in SEPARATORS:
            token = tokens[index]
            if token in REDIRECTIONS:
                index += 2  # the operator and its file
                continue
            words.append(token)
            index += 1
        index += 1
        for word in words:
            if "$(" in word:
                yield from spice_commands(word[word.index("$(") + 2 :].rstrip(")"))
        yield from _command(words)


def _command(words: list[str]) -> Iterator[list[str]]:
    position = 0
    while position < len(words):
        word = words[position]
        if ASSIGNMENT.match(word):
            value = word.split("=", 1)[1]
            if _is_spice(value):  # ExecStart=/opt/.../spice backup run ...
                yield words[position + 1 :]
                return
            position += 1
        elif word in PREFIX_WORDS:
            position += 1
        elif word == "sudo":
            position += 1
            while position < len(words) and words[position].startswith("-"):
                position += 2 if words[position] in SUDO_OPTIONS_WITH_VALUE else 1
        else:
            break
    if position >= len(words):
        return
    first = words[position]
    if _is_spice(first):
        yield words[position + 1 :]
    elif first in {"bash", "sh"} and words[position + 1 : position + 2] == ["-c"]:
        yield from spice_commands(" ".join(words[position + 2 : position + 3]))


@dataclass(frozen=True)
class Found:
    line: int
    argv: list[str]
    whole: bool  # a command line to run (in a block), or a mention in the prose


def commands_in_document() -> list[Found]:
    blocks, prose = document()
    found: list[Found] = []
    for block in blocks:
        if block.language == "output":
            continue
        numbered = [(block.line + 1 + offset, line) for offset, line in enumerate(block.lines)]
        for number, text in _logical_lines(numbered):
            if "spice" in text:
                found.extend(Found(number, argv, True) for argv in spice_commands(text))
    for number, line in prose:
        for span in INLINE_CODE.findall(line):
            if span.split()[0] == "spice":
                found.extend(Found(number, argv, False) for argv in spice_commands(span))
    return found


@functools.cache
def command_tree() -> TyperGroup:
    """The `spice` command as its parser sees it (building it takes a while: once)."""
    tree = typer.main.get_command(app)
    assert isinstance(tree, TyperGroup)
    return tree


def problem_with(argv: list[str], whole: bool = True) -> str | None:
    """Why `spice ARGV` is not a valid command line, or None. A mention in the prose
    (`whole=False`) may stop at a group or leave out required arguments and options."""
    command: object = command_tree()
    path = ["spice"]
    rest = list(argv)
    while isinstance(command, TyperGroup):
        if not rest:
            named = command.invoke_without_command or not whole
            return None if named else f"{' '.join(path)} needs a command"
        if rest[0] == "--help":
            return None
        name = rest.pop(0)
        sub = command.commands.get(name)
        if sub is None:
            return f"{' '.join(path)} has no command {name!r}"
        command, path = sub, [*path, name]
    assert isinstance(command, TyperCommand), f"{' '.join(path)} is {command!r}"
    if "--help" in rest:
        return None
    options: dict[str, TyperOption] = {}
    slots = 0
    for param in command.params:
        if isinstance(param, TyperOption):
            for name in [*param.opts, *param.secondary_opts]:
                options[name] = param
        elif isinstance(param, TyperArgument):
            slots += param.nargs if param.nargs >= 0 else len(rest)
    given: set[str] = set()
    positional: list[str] = []
    tokens = iter(rest)
    for token in tokens:
        if not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        name, equals, _ = token.partition("=")
        option = options.get(name)
        if option is None:
            return f"{' '.join(path)} has no option {name}"
        given.add(str(option.name))
        if not option.is_flag and not equals and next(tokens, None) is None:
            return f"{name} needs a value"
    if len(positional) > slots:
        return f"{' '.join(path)} takes {slots} argument(s), not {positional}"
    if not whole:
        return None
    for param in command.params:
        if isinstance(param, TyperOption) and param.required and param.name not in given:
            return f"{' '.join(path)} needs {param.opts[0]}"
    if any(set("$*?~") & set(token) for token in rest):
        return None  # shell expansions: the names are checked, their values cannot be
    try:
        command.make_context(" ".join(path), list(rest))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def test_every_spice_command_line_names_real_commands_and_options() -> None:
    found = commands_in_document()
    assert len(found) >= 50, f"only {len(found)} spice commands found in {DOC_NAME}"
    problems = [
        f"{DOC_NAME} line {item.line}: spice {shlex.join(item.argv)}: {problem}"
        for item in found
        if (problem := problem_with(item.argv, item.whole)) is not None
    ]
    assert not problems, "\n".join(problems)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_within_the_document_reaches_a_heading() -> None:
    prose = document()[1]
    anchors = {_slug(line.lstrip("#")) for _, line in prose if line.startswith("#")}
    broken = [
        f"{DOC_NAME} line {number}: #{target}"
        for number, line in prose
        for target in re.findall(r"\]\(#([^)]+)\)", line)
        if target not in anchors
    ]
    assert not broken, "no heading for " + ", ".join(broken)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("spice db list --json", [["db", "list", "--json"]]),
        ("sudo -u spice /opt/x/.venv/bin/spice backup list /var/b", [["backup", "list", "/var/b"]]),
        ("DATA_DIR=r spice verify 2> /dev/null && echo ok", [["verify"]]),
        (
            "key=$(spice apikey create --name n --role viewer)",
            [["apikey", "create", "--name", "n", "--role", "viewer"]],
        ),
        (
            "ExecStart=/opt/s/.venv/bin/spice backup run --dir /b --keep-days 7",
            [["backup", "run", "--dir", "/b", "--keep-days", "7"]],
        ),
        ("sudo -u spice bash -c 'cd /opt; exec .venv/bin/spice db migrate'", [["db", "migrate"]]),
        ("nohup spice up > logs/up.out 2>&1 &", [["up"]]),
        ("spice health --json --rounds 2 > h.jsonl 2>&1", [["health", "--json", "--rounds", "2"]]),
        ("DATABASE_URL=postgresql://spice:pw@db:5432/spice", []),
        ("spice: unhealthy: OMS down", []),
    ],
)
def test_spice_commands_are_found_wherever_a_shell_line_runs_them(
    line: str, expected: list[list[str]]
) -> None:
    assert list(spice_commands(line)) == expected


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["db", "migrate", "--check"], None),
        (["version"], None),
        (["backup", "restore", "folder", "-d", "shop", "--replace"], None),
        (["db"], "spice db needs a command"),
        (["db", "create", "--description", "d"], "MissingParameter"),
        (["db", "drop", "x"], "spice db has no command 'drop'"),
        (["health", "--follow"], "spice health has no option --follow"),
        (["backup", "run", "--dir", "b"], "spice backup run needs --keep-days"),
        (["db", "create", "a", "b"], "spice db create takes 1 argument(s), not ['a', 'b']"),
        (["apikey", "create", "--name", "n", "--role", "root"], "BadParameter"),
    ],
)
def test_a_command_line_is_checked_against_the_command_tree(
    argv: list[str], problem: str | None
) -> None:
    found = problem_with(argv)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem) or problem in found
