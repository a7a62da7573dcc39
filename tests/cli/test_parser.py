"""The CLI's shape: one parser, one handler table that covers it exactly, no import cycle inside
``crawler/cli/`` (function-level imports included)."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

import crawler.cli
from crawler.cli.parser import HANDLERS, build_parser

CLI_DIR = Path(crawler.cli.__file__).parent
DESIGN_COMMANDS = {"init", "check", "scan", "demo", "run", "crawl", "exposures", "report", "receiver", "token"}


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return set(actions[0].choices)


def test_every_command_has_exactly_one_handler() -> None:
    assert _subcommands(build_parser()) == set(HANDLERS)


def test_the_design_table_commands_all_exist() -> None:
    assert set(HANDLERS) >= DESIGN_COMMANDS


@pytest.mark.parametrize("command", sorted(DESIGN_COMMANDS - {"token"}))
def test_each_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([command, "--help"])
    assert exc.value.code == 0
    assert f"leakpatrol {command}" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["scan"], ["scan", "a", "b", "-c", "x.toml", "--format", "json", "-j", "2", "--max-file-size", "50M"],
    ["scan", "--git", "--reveal", "-o", "out.txt", "--no-ignore", "--follow-symlinks", "--baseline", "b.json"],
])
def test_scan_alone_parses_as_the_whole_parser(argv: list[str]) -> None:
    """``scan`` builds only its own subparser (start-up); the namespace is the same as the whole one's."""
    assert _subcommands(build_parser(argv)) == {"scan"}
    assert build_parser(argv).parse_args(argv) == build_parser().parse_args(argv)


def test_scan_alone_helps_and_refuses_as_the_whole_parser(capsys: pytest.CaptureFixture[str]) -> None:
    texts = []
    for parser in (build_parser(["scan"]), build_parser()):
        for argv in (["scan", "--help"], ["scan", "--colour"], ["scan", "-j", "two"]):
            with pytest.raises(SystemExit) as exc:
                parser.parse_args(argv)
            captured = capsys.readouterr()
            texts.append((exc.value.code, captured.out, captured.err))
    assert texts[:3] == texts[3:]
    assert "--max-archive-bytes" in texts[0][1] and texts[1][0] == texts[2][0] == 2


def _imports(path: Path) -> set[str]:
    """Every ``crawler.cli.*`` module that ``path`` imports, at any depth (functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "crawler.cli":  # a submodule, or the package
            found |= {f"crawler.cli.{a.name}" if (CLI_DIR / f"{a.name}.py").exists() else "crawler.cli"
                      for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("crawler.cli."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("crawler.cli")}
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in CLI_DIR.glob("*.py"):
        name = "crawler.cli" if path.stem == "__init__" else f"crawler.cli.{path.stem}"
        graph[name] = _imports(path) - {name}
    return graph


def test_no_module_in_the_cli_imports_one_that_imports_it_back() -> None:
    graph = _graph()
    assert graph["crawler.cli"] == {"crawler.cli.main"}, "the package only re-exports main"

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo.extend(graph.get(m, ()))
        return False

    cycles = sorted((a, b) for a, deps in graph.items() for b in deps if reaches(b, a))
    assert cycles == []


def test_only_main_imports_the_parser() -> None:
    importers = {m for m, deps in _graph().items() if "crawler.cli.parser" in deps}
    assert importers == {"crawler.cli.main"}
