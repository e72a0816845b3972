"""refdb: a sourced reference database of weapons systems, linked to the news.

The pipeline, one module per stage: loader -> schema/validate -> linker -> compiler ->
datasette_plugin (publish) -> cite. The library is what the ``refdb`` command wraps:

    import refdb
    refdb.build("catalog", "refdb.db")
    refdb.cite.cite("tu-160", "refdb.db", "bibtex")

The names are loaded on first use, so serving (which imports ``refdb.datasette_plugin``)
does not load the build.
"""

from importlib import import_module

__all__ = ["build", "cite", "validate_catalog"]
_HOMES = {"build": "refdb.compiler", "cite": "refdb.cite", "validate_catalog": "refdb.validate"}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'refdb' has no attribute '{name}'")
    module = import_module(_HOMES[name])
    return module if name == "cite" else getattr(module, name)
