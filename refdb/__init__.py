"""refdb: a sourced reference database of weapons systems, linked to the news.

The pipeline, one module per stage: loader -> schema/validate -> linker -> compiler ->
datasette_plugin (publish) -> cite. The library is what the ``refdb`` command wraps:

    import refdb
    refdb.build("catalog", "refdb.db")
    refdb.cite.cite("tu-160", "refdb.db", "bibtex")
"""

from refdb import cite
from refdb.compiler import build
from refdb.validate import validate_catalog

__all__ = ["build", "cite", "validate_catalog"]
