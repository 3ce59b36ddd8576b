"""Architecture contracts: which module may import which third-party library, and the CLI basics."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_gen import quantity
from gitops_gen.cli import main

PACKAGE = Path(__file__).resolve().parent.parent / "gitops_gen"

# One gateway per library, so that a change of library (or of its API) touches one file.
GATEWAYS = {"git": "repo.py", "kubernetes": "cluster.py", "ruamel": "yamlio.py"}


def _imported_roots(source: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(("library", "gateway"), sorted(GATEWAYS.items()))
def test_only_the_gateway_module_imports_the_library(library: str, gateway: str) -> None:
    importers = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if library in _imported_roots(path)
    )
    assert importers in ([], [gateway]), f"{library} is imported outside {gateway}: {importers}"


def test_quantity_parser_is_loaded_without_importing_the_kubernetes_client() -> None:
    code = (
        "import sys; from gitops_gen.quantity import parse_quantity; "
        "assert parse_quantity('1Gi') == parse_quantity('1024Mi'); "
        "print(sorted(m for m in sys.modules if m.startswith('kubernetes')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("text", "valid"), [("500m", True), ("0.5", True), ("1Gi", True), ("12GB", False),
                                             ("-1", False), ("", False), ("1.5.5", False)])
def test_resource_quantities_are_judged_as_kubernetes_judges_them(text: str, valid: bool) -> None:
    assert quantity.is_valid_resource_quantity(text) is valid


def test_help_and_version_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "Mastodon" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("gitops-gen ")


def test_unknown_option_is_a_usage_error_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err
