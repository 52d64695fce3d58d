"""Finding the model list and each model's id in answers of any shape (vexy_catalog.records)."""

from __future__ import annotations

import pytest
from conftest import answer

from vexy_catalog.errors import AnswerShapeError
from vexy_catalog.records import (
    configured_reading,
    extract_records,
    find_records,
    keep_records,
    merged,
    parse_shape,
)


def ids(found) -> list[str]:
    return [i for i, _ in found.records]


@pytest.mark.parametrize(
    "payload,shape,expected",
    [
        ([{"id": "a"}, {"id": "b"}], "[].id", ["a", "b"]),
        (["a", "b"], "[]", ["a", "b"]),
        ({"object": "list", "data": [{"id": "a"}]}, "data[].id", ["a"]),
        (
            {"models": [{"name": "command-a", "endpoints": ["chat"]}], "next_page_token": "x"},
            "models[].name",
            ["command-a"],
        ),
        # Cloudflare's envelope: the list under "result", paging info beside it.
        (
            {"result": [{"id": "u-1", "name": "@cf/meta/llama"}], "result_info": {"total_count": 1}},
            "result[].id",
            ["u-1"],
        ),
        # Names nobody told us about: the largest list of objects with an id-like field.
        (
            {"modelSummaries": [{"modelId": "amazon.nova-pro-v1:0"}]},
            "modelSummaries[].modelId",
            ["amazon.nova-pro-v1:0"],
        ),
        (
            {"publisherModels": [{"name": "publishers/google/models/gemini"}], "nextPageToken": "t"},
            "publisherModels[].name",
            ["publishers/google/models/gemini"],
        ),
        # Nested wrappers, with smaller lists of id-bearing objects elsewhere.
        (
            {"payload": {"items": [{"slug": "m1"}, {"slug": "m2"}, {"slug": "m3"}]}, "links": [{"id": "self"}]},
            "payload.items[].slug",
            ["m1", "m2", "m3"],
        ),
        ({"data": {"models": [{"model_id": "x"}]}}, "data.models[].model_id", ["x"]),
        # Empty answers are empty lists, not errors, wherever the list sits.
        ({"data": []}, "data[]", []),
        ({"result": {"models": []}, "success": True}, "result.models[]", []),
    ],
)
def test_the_list_is_found_by_meaning(payload, shape, expected):
    found = find_records(payload)
    assert (found.shape, ids(found)) == (shape, expected)


def test_an_object_keyed_by_id_keeps_litellms_sample_spec_out():
    found = find_records(answer("litellm"))
    assert found.shape == "{}"
    assert "sample_spec" not in ids(found)
    assert ids(found)[0] == "gpt-4o"


def test_a_keyed_object_with_a_few_nested_lists_is_still_keyed():
    payload = {
        "model-a": {"tiers": [{"name": "t1"}, {"name": "t2"}], "price": 1},
        "model-b": {"tiers": [], "price": 2},
        "model-c": {"price": 3},
    }
    assert find_records(payload).shape == "{}"
    assert ids(find_records(payload)) == ["model-a", "model-b", "model-c"]


@pytest.mark.parametrize(
    "records,field,expected",
    [
        ([{"id": "a", "name": "A"}], "id", ["a"]),
        ([{"model_id": "a", "name": "A"}], "model_id", ["a"]),
        ([{"modelId": "a", "model": "b"}], "modelId", ["a"]),
        ([{"model": "llama3:latest", "name": "llama3:latest"}], "model", ["llama3:latest"]),
        ([{"slug": "a", "name": "A"}], "slug", ["a"]),
        ([{"name": "a"}], "name", ["a"]),
        ([{"id": 7}], "id", ["7"]),
        # By meaning: other spellings of the same names, never the display name first.
        ([{"modelName": "acme/foo-7b", "displayName": "Foo 7B"}], "modelName", ["acme/foo-7b"]),
        ([{"Model-ID": "a", "name": "A"}], "Model-ID", ["a"]),
        ([{"model_slug": "a", "name": "A"}], "model_slug", ["a"]),
    ],
)
def test_the_id_field_by_priority(records, field, expected):
    found = find_records({"data": records})
    assert found.shape == f"data[].{field}"
    assert ids(found) == expected


def test_one_list_uses_one_id_field_and_falls_back_record_by_record():
    # Most records carry "name" only; the one with an "id" too keeps being named by "name".
    records = [{"name": "a"}, {"name": "b", "id": "uuid-1"}, {"name": "c"}, {"id": "d"}, {"name": "e"}]
    found = find_records({"data": records})
    assert found.shape == "data[].name"
    assert ids(found) == ["a", "b", "c", "d", "e"]


def test_list_path_and_id_field_override_detection():
    payload = {"result": [{"id": "uuid-1", "name": "@cf/a"}, {"id": "uuid-2"}], "other": [{"id": "x"}] * 5}
    found = find_records(payload, list_path="result", id_field="name")
    assert found.shape == "result[].name"
    assert ids(found) == ["@cf/a"]
    assert found.unidentified == 1  # a configured id field does not fall back
    assert ids(find_records({"a": {"b": [{"spec": {"model": "m"}}]}}, "a.b", "spec.model")) == ["m"]
    assert ids(find_records([{"id": "top"}], list_path="")) == ["top"]


def test_a_wrong_list_path_names_the_keys_seen():
    with pytest.raises(
        AnswerShapeError, match=r"list_path 'data' is not a list in the answer \(the answer has keys: models"
    ):
        find_records({"models": [{"id": "a"}]}, list_path="data")


@pytest.mark.parametrize(
    "payload,message",
    [
        ({"error": {"message": "quota exceeded"}}, 'the answer is an error: {"message": "quota exceeded"}'),
        ({"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]}, "the answer is an error"),
        (
            {"object": "list", "count": 3, "meta": {"page": 1}},
            "the answer has keys: object (str), count (int), meta (an object with page)",
        ),
        ({"items": [1, 2, 3]}, "set list_path (and id_field) for this provider"),
        # One object under one key is a wrapper, not a catalog holding one model called "result".
        ({"result": {"total": 1}}, "the answer has keys: result (an object with total)"),
        ("text", "not a model list (got a JSON str)"),
    ],
)
def test_no_list_is_a_clear_error_naming_what_the_answer_holds(payload, message):
    with pytest.raises(AnswerShapeError) as info:
        find_records(payload)
    assert message in str(info.value)


def test_parse_shape_reads_back_what_was_recorded():
    assert parse_shape("data[].id") == ("data", "id", False)
    assert parse_shape("[].name") == ("", "name", False)
    assert parse_shape("models[].name (3 pages, cursor (next_page_token -> page_token))") == ("models", "name", False)
    assert parse_shape("result[].name (id_field from the configuration)") == ("result", "name", True)
    assert parse_shape("data[]") == ("data", None, False)
    assert parse_shape("{}") == (None, None, False)
    assert parse_shape(None) == (None, None, False)


def test_merged_pages_sit_under_the_key_the_pages_use():
    assert merged(("data",), [{"id": "a"}]) == {"data": [{"id": "a"}]}
    assert merged(("result", "models"), [1]) == {"result": {"models": [1]}}
    assert merged((), [1]) == [1]


def test_extract_records_keeps_its_three_values_for_its_callers():
    records, unidentified, duplicates = extract_records({"data": [{"id": "a"}, {"id": "a"}, {}]})
    assert (records, unidentified, duplicates) == ([("a", {"id": "a"})], 1, 1)


# --------------------------------------------------------------------------- nested catalogs


def test_models_dev_is_read_through_its_providers():
    data = answer("modelsdev")
    found = find_records(data)
    assert found.shape == "*.models{}" and found.path is None
    expected = [(f"{p}/{m}", record) for p, entry in data.items() for m, record in entry["models"].items()]
    assert found.records == expected and found.unidentified == found.duplicates == 0
    # The same with the path named, as the built-in modelsdev provider names it.
    assert find_records(data, "*.models").records == expected


@pytest.mark.parametrize(
    "payload,shape,expected",
    [
        # Catwalk: a list of providers, each naming itself by id, each with a list of models.
        (
            [{"id": "a", "models": [{"id": "m"}, {"id": "n"}]}, {"id": "b", "models": [{"id": "m"}]}],
            "*.models[].id",
            ["a/m", "a/n", "b/m"],
        ),
        # An object of groups under "data", one of them empty.
        (
            {"east": {"data": [{"model": "x"}]}, "west": {"data": []}},
            "*.data[].model",
            ["east/x"],
        ),
        # Maps of records: their keys are the ids.
        ({"p": {"models": {"k": {"id": "k"}}}, "q": {"models": {"j": {"name": "J"}}}}, "*.models{}", ["p/k", "q/j"]),
    ],
)
def test_a_catalog_grouped_by_provider_is_found_by_meaning(payload, shape, expected):
    found = find_records(payload)
    assert (found.shape, ids(found)) == (shape, expected)


@pytest.mark.parametrize(
    "payload,shape",
    [
        # One entry is a wrapper, not a catalog.
        ({"data": {"models": [{"id": "x"}]}}, "data.models[].id"),
        # Model records whose nested objects are no records (no id-like field): keyed by id.
        ({"m-1": {"data": {"pricing": {"in": 1}, "limits": {"ctx": 2}}}, "m-2": {"data": {}}}, "{}"),
        # Not every entry holds a list of records: a keyed object, as before.
        ({"m-1": {"models": [{"id": "x"}]}, "m-2": {"price": 1}}, "{}"),
        # List items that name themselves by nothing cannot qualify their models' ids.
        ([{"models": [{"id": "x"}]}, {"models": [{"id": "y"}]}], "[]"),
    ],
)
def test_what_is_not_a_grouped_catalog_is_read_as_before(payload, shape):
    assert find_records(payload).shape == shape


def test_a_wildcard_list_path_skips_entries_without_the_list_and_counts_nameless_groups():
    payload = {"a": {"models": {"x": {}}}, "meta": "v2", "b": {"name": "no models"}}
    found = find_records(payload, "*.models")
    assert ids(found) == ["a/x"] and found.shape == "*.models{}"
    unnamed = find_records([{"id": "g", "models": [{"id": "x"}]}, {"models": [{"id": "y"}]}], "*.models")
    assert ids(unnamed) == ["g/x"] and unnamed.unidentified == 1
    deep = {"providers": {"p": {"regions": {"eu": {"models": [{"id": "m"}]}}}}}
    assert ids(find_records(deep, "providers.*.regions.*.models")) == ["p/eu/m"]
    with pytest.raises(AnswerShapeError, match=r"list_path '\*.items' matches no list or object of records"):
        find_records(payload, "*.items")


def test_a_list_path_may_name_an_object_keyed_by_id():
    found = find_records({"result": {"models": {"a": {"ctx": 1}, "b": {"ctx": 2}}}}, "result.models")
    assert (found.shape, ids(found), found.path) == ("result.models{}", ["a", "b"], None)
    assert ids(find_records({"m": {"a": {"slug": "x"}}}, "m", "slug")) == ["x"]


def test_shapes_of_nested_catalogs_read_back():
    assert parse_shape("*.models{}") == ("*.models", None, False)
    assert parse_shape("*.models[].id (list_path from the configuration)") == ("*.models", "id", False)
    assert parse_shape("result.models{}.slug (list_path and id_field from the configuration)") == (
        "result.models",
        "slug",
        True,
    )
    assert configured_reading("*.models{} (list_path from the configuration)") == ("*.models", None)
    assert configured_reading("data[].id") == (None, None)
    assert configured_reading(None) is None
    # A stored shape read back reads the answer into the same ids.
    data = answer("modelsdev")
    list_path, id_field, strict = parse_shape(find_records(data).shape)
    assert find_records(data, list_path, id_field, fallback=not strict).records == find_records(data).records


def test_keep_records_keeps_the_answers_shape():
    data = answer("modelsdev")
    kept = keep_records(data, {"groq/llama-3.3-70b-versatile", "google/gemini-2.5-pro"})
    assert set(kept) == {"groq", "google"}
    assert set(kept["groq"]["models"]) == {"llama-3.3-70b-versatile"} and kept["groq"]["name"] == data["groq"]["name"]
    assert data["groq"]["models"].keys() != kept["groq"]["models"].keys(), "the answer itself is untouched"
    assert keep_records({"object": "list", "data": [{"id": "a"}, {"id": "b"}]}, {"b"}) == {
        "object": "list",
        "data": [{"id": "b"}],
    }
    litellm = keep_records(answer("litellm"), {"gpt-4o"})
    assert list(litellm) == ["gpt-4o"]
    assert keep_records([{"id": "g", "models": [{"id": "x"}, {"id": "y"}]}], {"g/y"}, "*.models") == [
        {"id": "g", "models": [{"id": "y"}]}
    ]
