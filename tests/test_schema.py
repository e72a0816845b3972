"""What pydantic reports of a validated entry holds although models alike share their
record of the fields that were set (see ``schema.Strict``)."""

from __future__ import annotations

from refdb.catalog.schema import Alias


def test_each_model_still_knows_which_fields_its_file_set():
    def alias(**extra):
        return Alias.model_validate({"lang": "en", "kind": "transliteration", **extra})

    plain, same_fields = alias(text="X-101"), alias(text="Kh101")
    noted = alias(text="Kh-101", note="the factory's own spelling")
    assert plain.model_fields_set == {"text", "lang", "kind"}
    assert noted.model_fields_set == {"text", "lang", "kind", "note"}
    assert plain.model_fields_set is same_fields.model_fields_set  # one record, shared
    assert plain.model_dump(exclude_unset=True) == {
        "text": "X-101",
        "lang": "en",
        "kind": "transliteration",
    }
    assert noted.model_dump(exclude_unset=True)["note"] == "the factory's own spelling"
