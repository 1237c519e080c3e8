"""Real labelled photographs from Debian's gcompris-qt-data, with a fixed held-out split.

`python -m tools.gcompris_photos` extracts them (Qt resource files need PySide6, which models/ never imports) to
photo_dir() with a manifest. Each photo gets the word a user expects for it ("hammer", "Eiffel Tower") and the words
an answer may use to name it: the label, its synonyms, and a correct broader word ("bird" for a heron, "tower" for
the Eiffel Tower, "fish" for any fish). A confidently wrong species or a wrong kind of building does not count.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from models.weights.catalog import cache_dir

_FISH = "fish,goldfish,carp,koi,trout,salmon,tench,shark,ray,eel,clownfish,anemone fish,puffer,pufferfish,lionfish," \
        "sturgeon,gar,barracouta,rock beauty,coho,angelfish,tuna,perch,pike,catfish,cod,herring,sardine,mackerel"
_CATHEDRAL = "cathedral,church,basilica"
_PYRAMID = "pyramid"
# Lower-case file stem without digits -> "label|accepted words" (comma-separated; the label's words are implied).
LABELS = {
    # categorization: tools
    "cuttingtool": "wire cutter|cutter,cutters,pliers", "hammer": "hammer|", "measuringtape": "tape measure|"
    "measuring tape,tape", "multimeter": "multimeter|meter,voltmeter",
    "nailcutter": "nail clipper|clippers,nail cutter",
    "plier": "pliers|plier", "scissors": "scissors|", "screwdriver": "screwdriver|", "sickle": "sickle|",
    "sidecutter": "side cutter|cutters,pliers", "spray": "spray bottle|sprayer", "tweezer": "tweezers|tweezer",
    "wrench": "wrench|spanner",
    # categorization: household objects
    "baseball": "baseball|ball", "blackslate": "blackboard|chalkboard,slate", "bucket": "bucket|pail",
    "buffetset": "cup and saucer|cup,teacup,saucer", "bulb": "light bulb|bulb,lightbulb", "chair": "chair|",
    "cup": "cup|teacup,saucer", "erasers": "eraser|rubber", "igloo": "igloo|", "knife": "cutlery|knife,fork,spoon",
    "pan": "frying pan|pan,skillet,wok", "pencil": "pencil|", "pillow": "pillow|cushion", "plate": "plate|dish",
    "spoons": "spoons|spoon", "volleyball": "volleyball|ball", "weighingmachine": "scale|weighing scale,balance",
    # categorization: renewable energy
    "dam": "dam|", "geothermal": "geothermal power plant|geothermal,power plant,steam,geyser",
    "solar": "solar panel|solar", "windmill": "windmill|mill,wind turbine",
    # animals
    "cat": "cat|kitten,tabby", "chicken": "chicken|hen,rooster,cock", "cow": "cow|cattle,ox,bull",
    "dog": "dog|puppy", "duck": "duck|drake,mallard", "horse": "horse|pony,foal", "owl": "owl|",
    "pig": "pig|hog,boar,piglet", "sheep": "sheep|ram,lamb,ewe", "bison": "bison|buffalo",
    "chameleon": "chameleon|lizard", "chamaeleon": "chameleon|lizard", "crocodile": "crocodile|alligator",
    "dragon": "Komodo dragon|komodo,monitor lizard,lizard", "giraffe": "giraffe|", "hedgehog": "hedgehog|",
    "jaguar": "jaguar|", "kangaroo": "kangaroo|wallaby", "koala": "koala|", "lemur": "ring-tailed lemur|lemur",
    "moose": "moose|elk", "narwhal": "narwhal|whale", "panda": "giant panda|panda", "polar_bear": "polar bear|bear",
    "scarlet_macaw": "scarlet macaw|macaw,parrot", "alpaca": "alpaca|llama", "bee": "bee|honeybee,bumblebee",
    "butterfly": "butterfly|", "calf": "calf|cow,cattle,ox", "camels": "camel|dromedary", "caterpillar": "caterpillar|",
    "cheetah": "cheetah|", "crab": "crab|", "dolphin": "dolphin|", "flying_fox": "flying fox|bat,fruit bat",
    "gibbon": "gibbon|ape", "goat": "goat|", "gorilla": "gorilla|ape", "gosling": "gosling|goose",
    "heron": "heron|bird", "kingfisher": "kingfisher|bird", "kitten": "kitten|cat,tabby",
    "long_nosed_monkey": "proboscis monkey|monkey", "macaque": "macaque|monkey", "meerkats": "meerkat|mongoose",
    "northern_harrier": "northern harrier|harrier,hawk,bird", "nubian_ibex": "ibex|goat", "penguin": "penguin|bird",
    "pika": "pika|", "red_panda": "red panda|lesser panda", "rhinoceros": "rhinoceros|rhino",
    "spoonbills": "spoonbill|bird", "squirrel": "squirrel|", "swans": "swan|bird", "toucan": "toucan|bird",
    "fish": f"fish|{_FISH}",
    # monuments (categorization and explore_monuments)
    "indiagate": "India Gate|gate,arch", "arcdetriomphe": "Arc de Triomphe|arch,triumphal arch",
    "bayterek": "Bayterek Tower|tower", "brandenburggate": "Brandenburg Gate|gate", "burj": "Burj Khalifa|"
    "skyscraper,tower", "cathedral": f"cathedral|{_CATHEDRAL}", "christtheredeemer": "Christ the Redeemer|statue",
    "colosseum": "Colosseum|coliseum,amphitheatre,amphitheater,arena", "eiffeltower": "Eiffel Tower|tower",
    "empirestate": "Empire State Building|skyscraper", "greatpyramid": "Great Pyramid|pyramid",
    "greatwall": "Great Wall of China|wall", "juchetower": "Juche Tower|tower", "kutubminar": "Qutub Minar|minaret,"
    "tower", "lemusee": "Louvre|museum,pyramid", "leaningtowerofpisa": "Leaning Tower of Pisa|tower",
    "mountrushmore": "Mount Rushmore|sculpture,carving", "operahouse": "Sydney Opera House|opera",
    "parthenon": "Parthenon|temple", "statueofliberty": "Statue of Liberty|statue", "tajmahal": "Taj Mahal|mausoleum",
    "uscapitol": "United States Capitol|capitol", "victoriamemorial": "Victoria Memorial|memorial",
    "zimnipalace": "Winter Palace|palace", "bentpyramid": "Bent Pyramid|pyramid",
    "greatpyramidofgiza": "Great Pyramid of Giza|pyramid", "meidumpyramid": "Pyramid of Meidum|pyramid",
    "redpyramid": "Red Pyramid|pyramid", "arlesamphitheater": "Arles Amphitheatre|amphitheater,arena,colosseum",
    "chateaudechambord": "Château de Chambord|chateau,castle,palace", "chateaudechenonceau": "Château de "
    "Chenonceau|chateau,castle,palace", "citedecarcassonne": "Cité de Carcassonne|castle,fortress,citadel",
    "montstmichel": "Mont-Saint-Michel|abbey,monastery,island", "palaisdespapes": "Palais des Papes|palace",
    "pontdugard": "Pont du Gard|aqueduct,bridge", "reimscathedral": f"Reims Cathedral|{_CATHEDRAL}",
    "rocamadour": "Rocamadour|village,cliff", "aulapalatina": "Aula Palatina|basilica,church",
    "berlincathedral": f"Berlin Cathedral|{_CATHEDRAL}",
    "neuschwansteincastle": "Neuschwanstein Castle|castle", "schwerinpalace": "Schwerin Palace|palace,castle",
    "trierimperialbaths": "Trier Imperial Baths|baths,ruins", "wormscathedral": f"Worms Cathedral|{_CATHEDRAL}",
    "ajantacave": "Ajanta Caves|cave,caves", "charminar": "Charminar|mosque,minaret",
    "gatewayofindia": "Gateway of India|gateway,arch", "goldentemple": "Golden Temple|temple",
    "greatstupa": "Great Stupa|stupa", "hawamahal": "Hawa Mahal|palace", "konarksuntemple": "Konark Sun Temple|temple",
    "mysorepalace": "Mysore Palace|palace", "qutubminar": "Qutub Minar|minaret,tower", "rangghar": "Rang Ghar|pavilion",
    "cabrillo": "Cabrillo National Monument|lighthouse,statue", "canyondechelly": "Canyon de Chelly|canyon,cliff",
    "castillodesanmarcos": "Castillo de San Marcos|fort,fortress", "castleclinton": "Castle Clinton|fort,castle",
    "fortsumter": "Fort Sumter|fort,fortress", "georgewashingtonbirthplace": "George Washington Birthplace|house",
    "lincolnmemorial": "Lincoln Memorial|memorial",
    "navajo": "Navajo National Monument|cliff dwelling,ruins,cliff", "chichenitza": "Chichén Itzá|pyramid,temple",
    "machupicchu": "Machu Picchu|ruins", "petra": "Petra|treasury,tomb", "greatwallofchina": "Great Wall of China|wall",
}
# Photos whose subject the package does not name ("monument1.webp"), left out of evaluation.
UNLABELLED = {"monument"}


@dataclass(frozen=True)
class Photo:
    """One labelled photograph."""

    path: Path
    group: str  # the gcompris folder it came from ("tools", "world_animals", ...)
    label: str  # what a user would call it: "hammer", "Eiffel Tower"
    accept: tuple[str, ...]  # lower-case words or phrases that name it (the label's own words included)
    held_out: bool  # in the evaluation split (never trained or tuned on)


def photo_dir() -> Path:
    """Where the extracted photographs and their manifest.json live."""
    return cache_dir() / "gcompris-photos"


def _key(stem: str) -> str:
    return re.sub(r"\d+$", "", stem).lower()


def is_held_out(key: str) -> bool:
    """The fixed split: half of the subjects, by a hash of the file stem (the same picture in two folders, such as
    the Eiffel Tower in categorization and in explore_monuments, lands on the same side)."""
    return hashlib.sha1(key.encode()).digest()[0] % 2 == 0


def photos(directory: Path | None = None) -> list[Photo]:
    """Every labelled photo of the extracted set, sorted by file; raises with the command to run if missing."""
    directory = directory or photo_dir()
    manifest = directory / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest} is missing: apt-get install gcompris-qt-data, then "
                                "python -m tools.gcompris_photos")
    out = []
    for entry in json.loads(manifest.read_text())["photos"]:
        stem = Path(entry["file"]).stem
        key = _key(stem)
        if key in UNLABELLED:
            continue
        if key not in LABELS:
            raise KeyError(f"{entry['file']}: no label for {key!r} in models.training.data.gcompris.LABELS")
        label, accept = LABELS[key].split("|")
        if key == "solar" and int(re.sub(r"\D", "", stem) or 0) <= 3:  # solar1-3 are solar cookers, 4-8 panels
            label, accept = "solar cooker", "solar,cooker,reflector"
        words = {label.lower()} | {w.strip() for w in accept.split(",") if w.strip()}
        out.append(Photo(directory / entry["file"], entry["group"], label, tuple(sorted(words)),
                         is_held_out(stem.lower())))
    return sorted(out, key=lambda p: str(p.path))


def names(answer: str, photo: Photo) -> bool:
    """Whether an answer names the photo's subject: one of its accepted words or phrases (plural allowed)."""
    text = " ".join(re.findall(r"[a-zà-ÿ]+", answer.lower()))
    return any(re.search(rf"\b{re.escape(' '.join(re.findall(r'[a-zà-ÿ]+', w)))}(e?s)?\b", text)
               for w in photo.accept)
