"""Stage 4, publish: a built database in, a read-only site out.

``plugin`` is the Datasette plugin (entry and article pages, history, bounded queries, the
route guard), ``serving`` runs Datasette over an immutable snapshot of the database (one
process or several workers), ``watching`` rebuilds on a save and switches the running server
to the new snapshot. Nothing here imports the validation models, the linker or the build.
"""
