"""What `pip install` gives: every data file of the package declared as package data, runtime dependency
ranges bounded above, and constraints.txt (what make and CI install) inside those ranges."""

from __future__ import annotations

import configparser
import fnmatch
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gateway"


def setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "setup.cfg")
    return parser


def requirements(text: str) -> list[Requirement]:
    return [Requirement(line) for line in text.strip().splitlines() if line.strip()]


def runtime() -> list[Requirement]:
    cfg = setup_cfg()
    return requirements(cfg["options"]["install_requires"]) + requirements(
        cfg["options.extras_require"]["postgres"]
    )


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt pins exact versions: {line!r}"
            found[canonicalize_name(name)] = pinned
    return found


def test_every_runtime_dependency_has_a_lower_and_an_upper_bound():
    for requirement in runtime():
        operators = {spec.operator for spec in requirement.specifier}
        assert ">=" in operators and "<" in operators, f"{requirement} needs a range: >=low,<high"


def test_constraints_pin_every_runtime_dependency_inside_its_range():
    pinned = pins()
    for requirement in runtime():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"constraints.txt does not pin {requirement.name}"
        assert requirement.specifier.contains(pinned[name]), (
            f"{name}=={pinned[name]} is outside {requirement}"
        )


def test_this_environment_was_installed_with_the_constraints():
    """make install and CI install with -c constraints.txt: what runs the suite is what is pinned."""
    for name, pinned in pins().items():
        assert version(name) == pinned, f"{name} {version(name)} is installed, constraints.txt pins {pinned}"


def test_every_data_file_of_the_package_is_package_data():
    declared = {
        package: [pattern.strip() for pattern in patterns.split(",")]
        for package, patterns in setup_cfg()["options.package_data"].items()
    }
    for path in PACKAGE.rglob("*"):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".py", ".pyc"):
            continue
        package = ".".join(path.relative_to(ROOT).parent.parts)
        patterns = declared.get(package, [])
        assert any(fnmatch.fnmatch(path.name, p) for p in patterns), f"{path} is not package data"
