"""Stage 1, load and validate: the curators' files in, a validated catalog out.

Takes the ``catalog/`` directory (one YAML file per system, the articles' headers and
texts, the publisher register) and gives a ``Catalog`` of validated entries (``validate``),
or every problem found, each with its file, line and column (``errors``). Here too is what
the catalog's values mean wherever they are shown: the schema, categories and their standard
facts, units, countries, property labels, how an entry's versions differ, the source policy,
and the forms a name takes (declension, romanization), which validation needs to refuse a
name two entries claim. Importing this package loads nothing: the site takes its vocabulary
modules (categories, units, countries, properties, versions) without the validation models.
"""
