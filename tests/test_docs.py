"""The README stays true: its Quick start, its command list, and what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import click

from vexy_catalog.cli import cli

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_quick_start_has_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert commands[0] == "pip install . && vexy serve --fetch"
    assert "[test]" in commands[1] and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert quick_start_commands()[1] in ci.splitlines()


def all_commands(group: click.Group = cli, prefix: str = "vexy") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, f"{prefix} {name}"))
    return found


def test_every_command_is_documented_and_has_help():
    for full_name, command in all_commands():
        assert f"`{full_name}" in README, f"{full_name} is missing from the README"
        assert command.help and "Example" in command.help, f"{full_name} has no example in its help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{full_name} {param.opts[0]} has no help"
