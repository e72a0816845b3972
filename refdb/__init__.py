"""refdb: a sourced reference database of weapons systems, linked to the news.

The pipeline, one package per stage: ``catalog`` (load and validate) -> ``linking`` ->
``compiling`` (rows, the database) -> ``site`` (publish) -> ``cite``. The library is what
the ``refdb`` command wraps:

    import refdb
    refdb.build("catalog", "refdb.db")
    refdb.cite.cite("tu-160", "refdb.db", "bibtex")

The names are loaded on first use, so serving (which imports ``refdb.site.plugin``) does not
load the build.
"""

from importlib import import_module

__all__ = ["build", "cite", "validate_catalog"]
_HOMES = {
    "build": "refdb.compiling.compiler",
    "cite": "refdb.cite",
    "validate_catalog": "refdb.catalog.validate",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'refdb' has no attribute '{name}'")
    module = import_module(_HOMES[name])
    return module if name == "cite" else getattr(module, name)
