"""The gcompris photo set's labels, accepted words and split (a synthetic manifest; no Qt, no package needed)."""

import json

import pytest

from models.training.data.gcompris import LABELS, is_held_out, names, photos


def _manifest(tmp_path, files):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"photos": [{"group": f.split("/")[0], "file": f, "title": ""} for f in files]}))
    return tmp_path


def test_labels_are_the_words_a_user_expects(tmp_path):
    got = photos(_manifest(tmp_path, ["tools/measuringTape3.webp", "renewable/solar2.webp", "renewable/solar6.webp",
                                      "monuments/eiffelTower.webp", "monuments/monument1.webp"]))
    assert [p.label for p in got] == ["Eiffel Tower", "solar cooker", "solar panel", "tape measure"]
    assert "tower" in got[0].accept and "eiffel tower" in got[0].accept


def test_an_unknown_file_is_an_error_not_a_silent_skip(tmp_path):
    with pytest.raises(KeyError, match="toaster"):
        photos(_manifest(tmp_path, ["household/toaster.webp"]))


def test_missing_extraction_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="tools.gcompris_photos"):
        photos(tmp_path)


def test_naming_accepts_synonyms_plurals_and_broader_words_only(tmp_path):
    by = {p.label: p for p in photos(_manifest(tmp_path, ["wild_animals/kitten.webp", "tools/hammer4.webp",
                                                           "monuments/eiffelTower.webp"]))}
    assert names("This picture shows a tabby cat.", by["kitten"])
    assert names("Two hammers on a bench", by["hammer"])
    assert not names("a hammerhead shark", by["hammer"])
    assert names("The Eiffel Tower in Paris", by["Eiffel Tower"]) and names("a tall tower", by["Eiffel Tower"])
    assert not names("a palace", by["Eiffel Tower"])


def test_split_is_fixed_and_about_half():
    keys = [k + str(i) for k in LABELS for i in range(3)]
    share = sum(map(is_held_out, keys)) / len(keys)
    assert 0.4 < share < 0.6
    assert is_held_out("eiffeltower") == is_held_out("eiffeltower")
