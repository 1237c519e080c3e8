"""The everyday kind of an ImageNet class, from WordNet's hypernyms (a tiny data.noun in WordNet's own format)."""

import json

from tools.imagenet_kinds import ancestors, kinds, read_wordnet

# offset lex_filenum n word_count (word lex_id)... pointer_count (symbol offset pos source/target)... | gloss
DATA_NOUN = """  1 This software and database is being provided to you, the LICENSEE, by Princeton University
00000001 03 n 01 entity 0 000 | that which is perceived
00000002 05 n 01 organism 0 001 @ 00000001 n 0000 | a living thing
00000003 05 n 02 canine 0 canid 0 001 @ 00000002 n 0000 | a dog-like animal
00000004 05 n 02 dog 0 domestic_dog 0 001 @ 00000003 n 0000 | a domesticated canine
00000005 05 n 02 shepherd_dog 0 sheepdog 0 001 @ 00000004 n 0000 | a herding dog
00000006 05 n 01 German_shepherd 0 001 @ 00000005 n 0000 | a breed of shepherd dog
00000007 05 n 01 fish 0 001 @ 00000002 n 0000 | a cold-blooded vertebrate
00000008 05 n 01 goldfish 0 001 @ 00000007 n 0000 | a small golden fish
00000009 05 n 01 poodle 0 002 @ 00000004 n 0000 ~ 00000006 n 0000 | a curly dog
"""
FREQUENT = {"dog": 5.1, "fish": 5.0, "organism": 4.0, "sheepdog": 2.9, "canine": 3.2}


def test_a_class_takes_its_nearest_common_one_word_ancestor(tmp_path, monkeypatch):
    path = tmp_path / "data.noun"
    path.write_text(DATA_NOUN)
    nodes = read_wordnet(path)
    assert nodes["00000005"] == (["shepherd dog", "sheepdog"], ["00000004"])
    assert nodes["00000009"][1] == ["00000004"]  # only hypernyms (@) are followed, not hyponyms (~)
    assert ancestors(nodes, "00000006") == ["00000005", "00000004", "00000003", "00000002", "00000001"]
    found = kinds(nodes, ["n00000006", "n00000008", "n00000009"], ["German shepherd", "goldfish", "poodle"],
                  lambda w: FREQUENT.get(w, 0.0))
    # "sheepdog" and "canine" are too rare; "fish" is already in "goldfish", so its kind is "organism" ...
    assert found == ["dog", "organism", "dog"]
    # ... unless "organism" covers too many classes to say anything (3 here)
    monkeypatch.setattr("tools.imagenet_kinds.MAX_LEAVES", 2)
    assert kinds(nodes, ["n00000006", "n00000008", "n00000009"], ["German shepherd", "goldfish", "poodle"],
                 lambda w: FREQUENT.get(w, 0.0)) == ["dog", "", "dog"]


def test_the_committed_kinds_cover_every_imagenet_class():
    from models.training.build_grounded import KINDS, with_kinds
    from models.training.data.pseudo_photos import class_names

    names = with_kinds(class_names())
    assert len(json.loads(KINDS.read_text())) == 1000
    assert names[235] == "German shepherd (a kind of dog)" and names[1] == "goldfish"
