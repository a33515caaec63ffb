"""Where docpal's SQL templates are: the one place every caller asks.

The templates keep the repository's top-level layout wherever docpal runs:

- from a checkout (an editable install, or running from source) they are the
  checkout's own folders next to ``generator/``: ``migrations/``,
  ``functions/``, ``triggers/``, ``sql/``, ``docs/reference.md``;
- from an installed wheel or sdist they sit inside the package in the same
  layout: ``docpal/migrations``, ``docpal/functions``, ``docpal/sql``, ...
  (``setup.py`` copies them there and renders ``docpal/sql/docpal.sql``).

Both are found through ``importlib.resources``. A missing folder is an error
(``TemplatesNotFound``), never an empty list that reads as "nothing to do".
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

#: What a build ships inside the package (setup.py), relative to the root;
#: an optional entry is copied only when it exists.
SHIPPED = ("migrations", "functions", "triggers", "sql", "docs/reference.md", "blueprints")
OPTIONAL = ("blueprints",)

#: Folders every install, render and lint needs.
REQUIRED_FOLDERS = ("migrations", "functions", "triggers",
                    "sql/install", "sql/tenant")

#: The rendered install script, relative to the root: written by `docpal
#: render` in a checkout (git ignores it), rendered into the wheel by setup.py.
INSTALL_SCRIPT = "sql/docpal.sql"


class TemplatesNotFound(RuntimeError):
    """docpal's SQL templates are not where they should be."""


def package_dir() -> Path:
    """The folder of the ``docpal`` package: ``generator/`` in a checkout."""
    files = importlib.resources.files(__package__)
    if not isinstance(files, Path) or not files.is_dir():
        raise TemplatesNotFound(f"docpal is not installed as a folder of files ({files}): "
                                "install it with pip, not as a zip")
    return files


def checkout_root() -> Path | None:
    """The checkout when docpal runs from source (its package folder is the
    checkout's ``generator/``), else None."""
    package = package_dir()
    if package.name == "generator" and (package.parent / "pyproject.toml").is_file():
        return package.parent
    return None


def check_root(root: Path) -> Path:
    """``root`` when it holds every required folder; TemplatesNotFound otherwise."""
    root = Path(root)
    missing = [folder + "/" for folder in REQUIRED_FOLDERS if not (root / folder).is_dir()]
    if missing:
        raise TemplatesNotFound(
            f"docpal's SQL templates are missing: no {', '.join(missing)} in {root}. "
            "Install docpal from a wheel or sdist built from the repository "
            "(python -m build), or run it from a checkout.")
    return root


def template_root() -> Path:
    """The folder that holds migrations/, functions/, triggers/ and sql/:
    the checkout when running from source, else the installed package."""
    return check_root(checkout_root() or package_dir())


def data_file(name: str) -> Path:
    """A file of the package's ``data/`` folder (``generator/data`` in a checkout)."""
    path = package_dir() / "data" / name
    if not path.is_file():
        raise TemplatesNotFound(f"docpal's data file {path} is missing")
    return path
