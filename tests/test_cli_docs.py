"""docs/cli.md against the command it documents: every option named, every example run, the sample output current."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pytest
from test_docs import Block, blocks

from trio_toolpar._cli._args import build_parser
from trio_toolpar._cli._main import main

ROOT = Path(__file__).parent.parent
PAGE = ROOT / "docs" / "cli.md"
TEXT = PAGE.read_text(encoding="utf-8")
BLOCKS = blocks(PAGE)


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "shop_tools", raising=False)


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option's long form, and every positional argument's name as shown."""
    names: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            names.update(s for s in action.option_strings if s.startswith("--"))
        else:
            names.add(action.metavar if isinstance(action.metavar, str) else action.dest)
    return names


def section(command: str) -> str:
    """The text of the page's section on ``trio-toolpar COMMAND``."""
    return TEXT.split(f"\n## `trio-toolpar {command}`\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("command", ["demo", "plan", "run"])
def test_each_commands_section_names_every_option_it_has(command: str) -> None:
    text = section(command)
    missing = sorted(name for name in options(subparsers()[command]) - {"--help"} if f"`{name}" not in text)
    assert not missing, f"docs/cli.md's section on {command} does not name {missing}"


def test_the_page_names_the_top_level_options_and_no_option_that_does_not_exist() -> None:
    every = set().union(*(options(parser) for parser in subparsers().values()))
    assert {"--version", "--help"} <= every
    assert all(f"{name}`" in TEXT for name in ("--version", "--help"))
    named = set(re.findall(r"`(--[a-z-]+)", TEXT))
    assert named - every == set(), "docs/cli.md names options the command does not have"


def test_the_exit_codes_are_those_of_the_command() -> None:
    table = TEXT.split("\n## Exit codes\n", 1)[1]
    assert re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE) == ["0", "1", "2", "130"]
    from trio_toolpar._cli import _args

    assert (_args.EXIT_OK, _args.EXIT_NOT_OK, _args.EXIT_USAGE, _args.EXIT_INTERRUPTED) == (0, 1, 2, 130)


# -- the examples -------------------------------------------------------------------------


def tools_module(tmp_path: Path) -> None:
    (program,) = [b for b in BLOCKS if b.info == "python"]
    assert program.code.startswith('"""shop_tools.py:')
    (tmp_path / "shop_tools.py").write_text(program.code, encoding="utf-8")


def format_examples() -> list[tuple[str, Block]]:
    """Each JSON example with the format its heading names (``### `plain` ``)."""
    found = []
    for block in BLOCKS:
        if block.info != "json":
            continue
        before = PAGE.read_text(encoding="utf-8").splitlines()[: block.line]
        heading = next(line for line in reversed(before) if line.startswith("### "))
        found.append((heading.removeprefix("### ").strip("`"), block))
    return found


def test_there_is_an_example_of_each_format() -> None:
    assert [name for name, _ in format_examples()] == ["plain", "openai", "openai-responses", "anthropic"]


@pytest.mark.parametrize(("name", "block"), format_examples(), ids=[name for name, _ in format_examples()])
def test_each_format_example_runs_as_the_turn_it_says(
    name: str, block: Block, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tools_module(tmp_path)
    calls = tmp_path / "calls.json"
    calls.write_text(block.code, encoding="utf-8")
    argv = ["run", str(calls), "--tools", "shop_tools:registry", "--app-dir", str(tmp_path), "--virtual"]
    assert main([*argv, "--json"]) == 0
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    assert [(o["tool"], o["status"]) for o in outcomes] == [("get_order", "ok"), ("get_order", "ok"), ("refund", "ok")]
    assert outcomes[2]["value"] == "refunded 42.0 on 7"  # the first read's total reached the refund
    assert main(argv) == 0
    assert f"({name} format)" in capsys.readouterr().out


def test_the_sample_output_is_what_run_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (sample,) = [b for b in BLOCKS if b.info == "text" and b.code.startswith("$ trio-toolpar run ")]
    command, _, expected = sample.code.partition("\n")
    tools_module(tmp_path)
    (plain,) = [block for name, block in format_examples() if name == "plain"]
    (tmp_path / "calls.json").write_text(plain.code, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(command.split()[2:]) == 0
    printed = capsys.readouterr().out
    assert printed.rsplit("real wall time: ", 1)[0] == expected


def test_the_page_is_on_the_site_and_linked_from_the_home_page_and_the_readme() -> None:
    assert re.search(r"^\s+- [^:]+: cli\.md$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert "](cli.md)" in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "](docs/cli.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
