"""The README's by-hand path, run as written: the shell blocks marked
`<!-- readme-path:NAME -->` are executed command by command with bash, in a temporary
directory standing for the checkout, against a real `axis serve` on a free 127.0.0.1 port
started by the recipe of `make run`. Each command must succeed and print what the README
shows, line for line: the same JSON keys (values differ from run to run), the same text.
So the README cannot drift from what the commands do, and the path keeps working.

Only three things are substituted: `.venv/bin/axis` (this environment's `axis`), the
port 8080 (a free one), and the README's `VAR=value make run` (the Makefile's own `run`
recipe with those variables, on port 0).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from service_support import wait_until

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MAKEFILE = REPO / "Makefile"
AXIS = Path(sys.executable).parent / "axis"
MARKER = re.compile(r"<!-- readme-path:(\w+) -->\n```console\n(.*?)```", re.S)
RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
TIMEOUT_S = 120
READ_ONLY = re.compile(r"axis agency .*\b(pull|trail)\b")


@dataclass(frozen=True)
class Step:
    command: str  # continuation lines joined as bash reads them
    output: tuple[str, ...]  # what the README shows after it


def steps(name: str) -> list[Step]:
    blocks = {m.group(1): m.group(2) for m in MARKER.finditer(README.read_text("utf-8"))}
    assert name in blocks, f"README.md has no <!-- readme-path:{name} --> console block"
    out: list[Step] = []
    command: list[str] | None = None  # the lines of the command being read
    for line in blocks[name].splitlines():
        if command is not None and command[-1].endswith("\\"):
            command.append(line)
            continue
        if command is not None:
            out.append(Step("\n".join(command), ()))
            command = None
        if line.startswith("$ "):
            command = [line[2:]]
        else:
            assert out, f"output before any command in block {name}: {line!r}"
            out[-1] = Step(out[-1].command, (*out[-1].output, line))
    if command is not None:
        out.append(Step("\n".join(command), ()))
    return out


def shape(line: str) -> object:
    """What must agree between the README and a real run: a JSON object's keys (nested
    objects' keys too), or a text line (up to an ellipsis, which marks a cut)."""
    try:
        value = json.loads(line)
    except ValueError:
        return line.split("…", 1)[0]
    return _keys(value)


def _keys(value: object) -> object:
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v) for v in value[:1]]
    return None


class Shell:
    """Commands run one by one with bash in `cwd`; `export` lines carry over."""

    def __init__(self, cwd: Path, port: int | None = None) -> None:
        self.cwd = cwd
        self.port = port
        # The embedded default, whatever the machine running the tests has configured.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}

    def expand(self, command: str) -> str:
        assert AXIS.is_file(), f"no axis command beside {sys.executable}"
        command = command.replace(".venv/bin/axis", shlex.quote(str(AXIS)))
        if self.port is not None:
            command = command.replace("127.0.0.1:8080", f"127.0.0.1:{self.port}")
        return command

    def run(self, step: Step) -> tuple[list[str], list[str]]:
        command = self.expand(step.command)
        if command.startswith("export "):
            for assignment in shlex.split(command)[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return [], []
        r = subprocess.run(["bash", "-c", command], cwd=self.cwd, env=self.env, check=False,
                           capture_output=True, text=True, timeout=TIMEOUT_S)
        assert r.returncode == 0, (f"{step.command}\nexit {r.returncode}\n"
                                   f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r.stdout.splitlines(), r.stderr.splitlines()

    def run_as_shown(self, step: Step) -> list[str]:
        """Run, and compare with the README. Deliveries reach inboxes asynchronously, so
        a read-only `pull` or `trail` that does not show it all yet is asked again, until
        a deadline."""
        expected = sorted(map(repr, map(shape, step.output)))
        seen: list[tuple[list[str], list[str]]] = []

        def as_shown() -> bool:
            seen.append(self.run(step))
            stdout, stderr = seen[-1]
            return sorted(map(repr, map(shape, stdout + stderr))) == expected

        deadline = time.monotonic() + 30
        while not as_shown() and READ_ONLY.search(step.command) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)  # polling a real node, with a deadline
        stdout, stderr = seen[-1]
        got = sorted(map(repr, map(shape, stdout + stderr)))
        assert got == expected, (f"{step.command}\nREADME shows:\n" + "\n".join(step.output)
                                 + "\nthe command printed:\n" + "\n".join(stdout + stderr))
        return stdout


def make_run_recipe() -> list[str]:
    """The commands of the Makefile's `run` target."""
    lines = MAKEFILE.read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"run:", line))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().lstrip("@"))
    assert recipe, "the Makefile's run target has no recipe"
    return recipe


@pytest.fixture()
def node(tmp_path: Path) -> Iterator[Shell]:
    """The README's pki block, then its node block: `VAR=value make run`, done as the
    Makefile's `run` recipe does it, on a free port."""
    shell = Shell(tmp_path)
    for step in steps("pki"):
        shell.run_as_shown(step)
    (start,) = steps("node")
    m = re.fullmatch(r"((?:[A-Z_]+=\S+ )*)make run", start.command)
    assert m, f"the node block should be `[VAR=value …] make run`: {start.command!r}"
    env = dict(shell.env)
    for assignment in shlex.split(m.group(1)):
        name, _, value = assignment.partition("=")
        env[name] = value
    make_vars = {"$(BIN)": str(AXIS.parent), "$(HOST)": "127.0.0.1", "$(PORT)": "0"}
    recipe = [re.sub(r"\$\(\w+\)", lambda v: make_vars.get(v.group(0), v.group(0)), line)
              for line in make_run_recipe()]
    for command in recipe[:-1]:
        subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, check=True,
                       capture_output=True, timeout=TIMEOUT_S)
    serve = recipe[-1]
    log = tmp_path / "node.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(shlex.split(serve), cwd=tmp_path, env=env,
                                stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: bool(RUNNING.search(log.read_text("utf-8", "replace")))
                   or proc.poll() is not None, timeout_s=90, what="the node listens")
        found = RUNNING.search(log.read_text("utf-8", "replace"))
        assert found and proc.poll() is None, log.read_text("utf-8", "replace")
        shell.port = int(found.group(1))
        yield shell
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_newcomer_path_sends_and_delivers(node: Shell) -> None:
    exchange = steps("exchange")
    outputs = [node.run_as_shown(step) for step in exchange]

    sent = [json.loads(o[0]) for s, o in zip(exchange, outputs, strict=True)
            if " send " in s.command]
    assert len(sent) == 1 and sent[0]["deliveries"]
    # What the recipient took is what the sender sent, byte for byte, and verifies.
    taken = [json.loads(o[0]) for s, o in zip(exchange, outputs, strict=True)
             if " get " in s.command]
    assert len(taken) == 1
    copy = node.cwd / taken[0]["file"]
    signed = next(s.command.split()[-1] for s in exchange if " send " in s.command)
    assert copy.read_bytes() == (node.cwd / signed).read_bytes()
    verdicts = [json.loads(line) for s, o in zip(exchange, outputs, strict=True)
                if " pki verify " in s.command for line in o]
    assert verdicts and all(v["signature"] == "verified" for v in verdicts)
    # The trail (the last command) shows the copy delivered to the one who took it.
    assert exchange[-1].command.split()[-2] == "trail"
    trail = [json.loads(line) for line in outputs[-1]]
    delivered = [e for e in trail if e["event"] == "delivered"]
    assert [e["doc_id"] for e in delivered] == [taken[0]["doc_id"]]


def test_the_signature_example_verifies(tmp_path: Path) -> None:
    shell = Shell(tmp_path)
    outputs = [shell.run_as_shown(step) for step in steps("signature")]
    assert json.loads(outputs[-1][0])["signature"] == "verified"


def test_blocks_are_parsed_as_commands_and_output() -> None:
    """The parser itself: continuation lines stay with their command."""
    exchange = steps("exchange")
    assert all(s.command for s in exchange)
    multi = [s for s in exchange if "\n" in s.command]
    assert multi and all(s.command.splitlines()[0].endswith("\\") for s in multi)
    assert shape('{"a": {"b": 1}, "c": [{"d": 2}]}') == {"a": {"b": None}, "c": [{"d": None}]}
    assert shape("axis: text… cut") == "axis: text"
