"""Datasette, configured by datasette.yaml and metadata.yaml, serves the built database."""

from __future__ import annotations

from urllib.parse import quote

import yaml

from conftest import ROOT, SEED_IDS, get


def test_systems_table_as_html_and_json(datasette):
    html = get(datasette, "/refdb/systems")
    assert html.status_code == 200
    assert "Tupolev Tu-160" in html.text
    data = get(datasette, "/refdb/systems.json?_shape=objects&_size=max").json()
    ids = {row["id"] for row in data["rows"]}
    assert ids >= SEED_IDS


def test_a_system_row_page_and_its_json(datasette):
    page = get(datasette, "/refdb/systems/tu-160")
    assert page.status_code == 200
    assert "Blackjack" in page.text
    row = get(datasette, "/refdb/systems/tu-160.json?_shape=objects").json()["rows"][0]
    assert row["nato_reporting_name"] == "Blackjack" and row["category"] == "strategic-bomber"


def test_mentions_of_a_system_with_labels(datasette):
    data = get(datasette, "/refdb/mentions.json?system_id=tu-160&_shape=objects&_labels=on").json()
    assert data["rows"], "the seed article mentions the Tu-160"
    first = data["rows"][0]
    assert first["system_id"] == {"value": "tu-160", "label": "Tupolev Tu-160"}
    assert first["article_id"]["value"] == "kim-russia-2023-09"
    html = get(datasette, "/refdb/mentions?system_id=tu-160")
    assert html.status_code == 200 and "Tu-160" in html.text


def test_metadata_and_table_configuration_take_effect(datasette):
    home = get(datasette, "/")
    assert "refdb — weapons systems reference" in home.text
    assert "CC BY 4.0" in home.text
    assert "One row per weapons system" in get(datasette, "/refdb/systems").text
    table = get(datasette, "/refdb/systems.json?_facet=category").json()
    assert "category" in table["facet_results"]["results"]
    configured = get(datasette, "/refdb/systems").text
    for facet in ("category", "country_name", "status", "designer"):
        assert f'data-column="{facet}"' in configured
    assert (
        get(datasette, "/refdb/systems.json?_search=tu160&_shape=objects").json()["rows"][0]["id"]
        == "tu-160"
    )


def test_settings_from_datasette_yaml_are_in_force(datasette):
    """Datasette 1.0a41 is an alpha: each setting is checked by what it does, not only read."""
    config = yaml.safe_load((ROOT / "datasette.yaml").read_text())["settings"]
    assert {k: v for k, v in get(datasette, "/-/settings.json").json().items() if k in config} == (
        config
    )
    forms = get(datasette, "/refdb/forms.json?_shape=objects")
    assert len(forms.json()["rows"]) == config["default_page_size"]
    assert forms.headers["cache-control"] == f"max-age={config['default_cache_ttl']}"
    counted = "with recursive c(x) as (select 1 union all select x + 1 from c"
    many = get(
        datasette, f"/refdb/-/query.json?sql={quote(counted + ' limit 1500) select x from c')}"
    )
    assert many.status_code == 200  # default_allow_sql
    assert len(many.json()["rows"]) == config["max_returned_rows"] and many.json()["truncated"]
    endless = get(
        datasette, f"/refdb/-/query.json?sql={quote(counted + ') select count(*) from c')}"
    )
    assert endless.status_code == 400 and "sql_time_limit_ms" in endless.text
    assert get(datasette, "/refdb.db").status_code == 403  # allow_download: false
    assert get(datasette, "/-/create-token").status_code == 403  # allow_signed_tokens: false


def test_the_published_database_is_immutable(datasette):
    databases = get(datasette, "/-/databases.json").json()["databases"]
    assert [(d["name"], d["is_mutable"]) for d in databases] == [("refdb", False)]
