"""Build hook: ship docpal's SQL templates inside the package, with the
install script rendered from them.

Everything else is in pyproject.toml. The Python package is generator/
(imported as ``docpal``); the templates live next to it at the top of the
repository. A wheel (built from the checkout or from the sdist, which holds
the same folders: see MANIFEST.in) gets them inside the package in the same
layout, docpal/migrations, docpal/functions, docpal/triggers, docpal/sql,
docpal/docs/reference.md, where docpal.resources finds them. The build also
renders docpal/sql/docpal.sql (the `psql -f` install script) from exactly
the templates it ships, so the script is never stale and never committed.

An editable install copies nothing: docpal then reads the checkout's folders.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _generator():
    """generator/ imported under a private name (so that a docpal installed in
    the build environment is not the one used): its render and resources modules."""
    name = "_docpal_build"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, HERE / "generator" / "__init__.py", submodule_search_locations=[str(HERE / "generator")])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{name}.render"), importlib.import_module(f"{name}.resources")


class build_py_with_templates(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        render, resources = _generator()
        resources.check_root(HERE)  # a tree without its templates must not build
        target = Path(self.build_lib) / "docpal"
        for entry in resources.SHIPPED:
            source, dest = HERE / entry, target / entry
            if entry in resources.OPTIONAL and not source.exists():
                continue
            if dest.is_dir():
                shutil.rmtree(dest)  # nothing left over from an earlier build of this tree
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, dest)
        script = target / resources.INSTALL_SCRIPT
        script.write_text(render.install_script(HERE))  # replaces any docpal.sql copied from sql/
        print(f"rendered {script}")


setup(cmdclass={"build_py": build_py_with_templates})
