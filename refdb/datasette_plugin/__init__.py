"""Datasette hooks that publish the refdb database as a reference work."""
