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

# One gateway per library, so that a change of library (or of its API) touches one place.
GATEWAYS = {
    "git": ("git.py",),
    "kubernetes": ("kube/",),
    "ruamel": ("yamlio.py",),
    "typer": ("cli.py", "commands/"),
    "pydantic": ("spec/",),
    # Image tags as versions, and the version of the kustomize that renders (two unrelated questions).
    "packaging": ("images/versions.py", "kustomize_speed.py"),
}
# What each package may import of gitops-gen (besides itself); see each package's docstring.
SHARED = ("errors", "objects", "quantity", "yamlio", "atomicfile")
ALLOWED = {
    "spec": (*SHARED, "images.reference", "images.versions"),
    "generate": (*SHARED, "spec"),
    "images": (*SHARED, "git"),
    "kube": (*SHARED,),
    "drift": (*SHARED, "spec", "kube", "git", "kustomize"),
}
LINE_LIMIT = 420


def _imports(source: Path) -> set[str]:
    """Every name a module imports, fully qualified: ``from a.b import c`` gives ``a.b.c``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _imported_roots(source: Path) -> set[str]:
    return {name.split(".")[0] for name in _imports(source)}


def _modules() -> list[tuple[str, Path]]:
    return sorted((path.relative_to(PACKAGE).as_posix(), path) for path in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize(("library", "gateways"), sorted(GATEWAYS.items()))
def test_only_the_gateway_imports_the_library(library: str, gateways: tuple[str, ...]) -> None:
    importers = [name for name, path in _modules() if library in _imported_roots(path)]
    outside = [name for name in importers if not name.startswith(gateways)]
    assert importers and not outside, f"{library} is imported outside {gateways}: {outside}"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_what_their_docstring_allows(package: str) -> None:
    allowed = tuple(f"gitops_gen.{name}" for name in (package, *ALLOWED[package]))
    found = {
        (name, target)
        for name, path in _modules() if name.startswith(f"{package}/")
        for target in _imports(path)
        if target.startswith("gitops_gen.") and not any(target == a or target.startswith(a + ".") for a in allowed)
    }
    assert not found, f"{package}/ imports what its docstring does not allow: {sorted(found)}"


def test_no_module_is_a_room_of_its_own() -> None:
    long = {name: n for name, path in _modules() if (n := len(path.read_text().splitlines())) > LINE_LIMIT}
    assert not long, f"split these modules (over {LINE_LIMIT} lines): {long}"


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
