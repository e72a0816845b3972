"""Stage 3, compile: a validated, linked catalog in, one database out.

``compiler`` runs the stages; ``rows`` makes the rows (with the content-derived ids of
``refdb.ids``), ``history`` every version of every entry from git, ``tables`` and ``insert``
the schema; ``sqlite_target`` writes a clean build atomically; ``stat_scan``, ``difference``,
``relinking`` and ``patching`` apply a few changed files to the previous database in place;
``postgres`` writes the same tables to a server; ``provenance`` records what a database was
built from.
"""
