"""The public deployment is read-only, bounded and leaks nothing about the machine."""

from __future__ import annotations

import asyncio

import pytest

from conftest import get


def post(ds, path, body):
    return asyncio.run(ds.client.post(path, json=body))


@pytest.mark.parametrize(
    "path, body",
    [
        ("/refdb/systems/-/insert", {"row": {"id": "x"}}),
        ("/refdb/systems/tu-160/-/update", {"update": {"name": "changed"}}),
        ("/refdb/systems/tu-160/-/delete", {}),
        ("/refdb/-/create", {"table": "t", "columns": [{"name": "id"}]}),
        ("/refdb/systems/-/drop", {"confirm": True}),
    ],
)
def test_nothing_can_be_written_through_datasette(datasette, path, body):
    response = post(datasette, path, body)
    assert response.status_code in (403, 404, 405)
    assert (
        get(datasette, "/refdb/systems/tu-160.json?_shape=objects").json()["rows"][0]["name"]
        == "Tupolev Tu-160"
    )


def test_sql_cannot_write(datasette):
    response = get(datasette, "/refdb/-/query.json?sql=update+systems+set+name='x'")
    assert response.status_code == 400 and "Statement must be a SELECT" in response.text


def test_no_internal_path_in_the_json_api(datasette, built_db):
    for path in (
        "/-/databases.json",
        "/-/databases",
        "/.json",
        "/refdb.json",
        "/-/plugins.json",
        "/-/settings.json",
        "/refdb/systems/tu-160.json",
    ):
        response = get(datasette, path)
        assert response.status_code == 200, path
        assert str(built_db.parent) not in response.text, path
    assert get(datasette, "/-/databases.json").json()["databases"][0]["name"] == "refdb"


def test_csv_streaming_is_off_and_downloads_are_refused(datasette):
    assert get(datasette, "/-/settings.json").json()["allow_csv_stream"] is False
    stream = get(datasette, "/refdb/mentions.csv?_stream=1")
    assert stream.status_code == 400
    assert get(datasette, "/refdb.db").status_code == 403
