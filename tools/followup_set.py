"""The conversations `python -m tools.evaluate_answers --parts followups` holds, as data: two and three turns mixing
photos, screenshots, tables and language switches, each later turn leaning on an earlier one.

A turn is graded when it has accepted patterns (regexes, case-insensitive, anywhere in the answer; `rejected` ones
must not appear) or a language ("en": is_english; "ko": Hangul at least half the letters). Every answer of every
turn must also not say what NEVER_SAID lists: that the assistant cannot see the picture it was given, or one of the
image adapter's internal phrases. A conversation is right when all of its graded turns are.

Photos are gcompris-qt-data's labelled photographs (models.training.data.gcompris), screenshots are
tools.screenshot_set's (the project's own evaluation set, not training data), tables are written here. `sample` is a
right answer the turn's rules must accept (the tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass

# Said about a picture the model was given: never right. The last two are the image adapter's own phrases.
NEVER_SAID = (
    r"(can ?not|can't|unable to|not able to|don't have the ability to) (directly )?(view|see|access|process|look at|"
    r"analy[sz]e|interpret) (images|the image|pictures|the picture|photos|the photo|attachments)",
    r"as an AI( language)? model",
    r"could not be identified",
    r"main object",
)
# An honest "I can't count / tell that" about what the tower does not measure.
HONEST = r"(can ?not|can't|unable|not able|don't know|do not know|not (possible|sure|certain)|isn't possible|" \
         r"no way to|reliably|doesn't (say|show|tell)|does not (say|show|tell|include|mention)|not (given|provided|" \
         r"mentioned|described|included))"


@dataclass(frozen=True)
class Turn:
    text: str
    attach: str = ""  # "photo:<folder>/<name>", "shot:<screenshot name>", "table:<name in TABLES>", or nothing
    accepted: tuple[str, ...] = ()  # all must match (each may be an alternation)
    rejected: tuple[str, ...] = ()
    language: str = ""  # "en" or "ko": the answer is in it
    sample: str = ""  # a right answer to a graded turn

    @property
    def graded(self) -> bool:
        return bool(self.accepted or self.language)


@dataclass(frozen=True)
class Followup:
    name: str
    kind: str  # photo | screenshot | table | language
    turns: tuple[Turn, ...]


TABLES = {
    "sales.csv": "month,region,units,revenue\nJan,North,120,2400\nJan,South,80,1600\nFeb,North,150,3300\n"
                 "Feb,South,525,2900\nMar,North,100,2100\nMar,South,90,1800\n",
    "prices.csv": "product,category,price\nnotebook,stationery,3.25\ndesk lamp,home,24.9\ncoffee mug,kitchen,8.75\n"
                  "headphones,electronics,97.5\nbackpack,travel,45\nwater bottle,travel,12.4\nkeyboard,electronics,"
                  "39.99\nplant pot,home,15.6\numbrella,travel,19.95\nfrying pan,kitchen,31.2\n",
    "expenses.csv": "date,category,amount\n2026-03-01,rent,1200\n2026-03-03,food,84.5\n2026-03-09,transport,42\n"
                    "2026-03-12,food,61.25\n2026-03-18,transport,38\n2026-03-22,food,97.75\n2026-03-28,fun,55\n",
    "cities.csv": "city,country,population_millions\nTokyo,Japan,37.1\nDelhi,India,33.8\nShanghai,China,29.9\n"
                  "Sao Paulo,Brazil,22.8\nCairo,Egypt,22.6\n",
    "scores.csv": "student,subject,score\nAna,math,91\nAna,art,78\nBo,math,64\nBo,art,95\nCy,math,88\nCy,art,83\n",
}

T = Turn
FOLLOWUPS: tuple[Followup, ...] = (
    # ---- photos: what the tower saw stays in the conversation; what it cannot measure is said honestly ----
    Followup("photo-cat", "photo", (
        T("What is in this photo?", "photo:farm_animals/cat", (r"\bcat\b|kitten|tabby",), sample="A cat."),
        T("Is that animal usually kept as a pet?", "", (r"\byes\b|\bpets?\b|companion",), (r"\bno\b, ",),
          sample="Yes, cats are popular pets."))),
    Followup("photo-horse-count", "photo", (
        T("What is in this photo?", "photo:farm_animals/horse", (r"horse|pony|foal|stallion|mare",),
          sample="A horse in a field."),
        T("How many horses are there, and what colour is the sky?", "", (HONEST,),
          sample="I can't count the horses or tell the sky's colour reliably from what I recognised."))),
    Followup("photo-eiffel", "photo", (
        T("What is this?", "photo:monuments/eiffelTower", (r"eiffel",), sample="The Eiffel Tower."),
        T("In which city is it?", "", (r"paris",), sample="It is in Paris."))),
    Followup("photo-owl", "photo", (
        T("What kind of bird is this?", "photo:farm_animals/owl", (r"\bowls?\b",), sample="An owl."),
        T("Is it active at night or during the day?", "", (r"night|nocturnal",), sample="Owls hunt at night."))),
    Followup("photo-colosseum", "photo", (
        T("What is this building?", "photo:monuments/colosseum", (r"colosseum|coliseum|amphitheat",),
          sample="The Colosseum."),
        T("Which country is it in?", "", (r"ital",), sample="Italy."))),
    Followup("photo-cow", "photo", (
        T("What animal is this?", "photo:farm_animals/cow", (r"\b(cow|cattle|ox|bull|calf)\b",), sample="A cow."),
        T("What drink do people get from it?", "", (r"milk",), sample="Milk."))),
    Followup("photo-cup", "photo", (
        T("What is in the picture?", "photo:household/cup", (r"\b(cup|mug|teacup|coffee)\b",), sample="A cup."),
        T("What is it used for?", "", (r"drink|coffee|tea|beverage",), sample="For drinking tea or coffee."))),
    Followup("photo-dog-korean", "photo", (
        T("What is in this photo?", "photo:farm_animals/dog", (r"\bdogs?\b|puppy|retriever|terrier|hound|spaniel|"
                                                                r"shepherd|collie|poodle|\(a kind of dog\)",),
          sample="A dog."),
        T("이 동물은 한국어로 뭐라고 해요?", "", (r"개|강아지",), language="ko", sample="이 동물은 한국어로 개라고 해요."))),
    # ---- screenshots: the text read stays available to the next question ----
    Followup("shot-typeerror-fix", "screenshot", (
        T("What does this error mean?", "shot:error-typeerror", (r"int|integer",), sample="You added an int and a str."),
        T("How do I fix it?", "", (r"str\(|int\(|convert|f-string|cast",), sample="Convert count with str(count)."))),
    Followup("shot-revenue-follow", "screenshot", (
        T("Which quarter had the highest revenue?", "shot:table-revenue", (r"\bQ4\b",), sample="Q4, with 151."),
        T("And what was the revenue in that quarter?", "", (r"(?<!\d)151(?!\d)",), sample="It was 151."))),
    Followup("shot-receipt-follow", "screenshot", (
        T("What is the total on this receipt?", "shot:receipt-grocery", (r"11\.64",), sample="The total is 11.64."),
        T("Which item cost the most?", "", (r"sourdough",), sample="The sourdough, at 5.20."))),
    Followup("shot-flight-follow", "screenshot", (
        T("What is my seat?", "shot:ticket-flight", (r"23C",), sample="Seat 23C."),
        T("And which gate do I go to?", "", (r"\bD7\b",), sample="Gate D7."))),
    Followup("shot-korean-then-english", "screenshot", (
        T("오류 코드가 무엇입니까?", "shot:korean-error", (r"5127",), sample="오류 코드는 5127입니다."),
        T("What does the message say is the cause? Answer in one sentence.", "", (r"disk|space|storage",),
          language="en", sample="The disk does not have enough space."))),
    Followup("shot-extract-text", "screenshot", (
        T("Extract the text.", "shot:dialog-update", (r"12\.4\.7", r"12\.3\.1"),
          sample="Software Update. Version 12.4.7 is available. You have 12.3.1."),
        T("Is my version the newest one?", "", (r"\bno\b|not|older|out of date|outdated",),
          sample="No: you have 12.3.1 and 12.4.7 is available."))),
    # ---- tables: computed answers, answered first ----
    Followup("table-sales-month", "table", (
        T("Which month had the highest total revenue, and what were the total units sold in it?", "table:sales.csv",
          (r"feb", r"(?<!\d)675(?!\d)"), sample="February: revenue 6200, 675 units."),
        T("And which month had the lowest total revenue?", "", (r"\bmar",), (r"\bjan(uary)? had the lowest",),
          sample="March, with 3900."))),
    Followup("table-prices-follow", "table", (
        T("Which product is the most expensive?", "table:prices.csv", (r"headphones",), sample="The headphones."),
        T("Which category has the highest total price?", "", (r"electronics",), sample="Electronics, 137.5."))),
    Followup("table-expenses", "table", (
        T("On which category did I spend the most?", "table:expenses.csv", (r"\brent\b",), sample="Rent, 1200."),
        T("How much did I spend on food in total?", "", (r"(?<![\d.])243\.5(?!\d)",), sample="243.5 on food."))),
    Followup("table-cities", "table", (
        T("Which city has the largest population?", "table:cities.csv", (r"tokyo",), sample="Tokyo, 37.1 million."),
        T("Which country is the smallest of these cities in?", "", (r"egypt",), sample="Egypt (Cairo)."))),
    Followup("table-scores", "table", (
        T("Who got the highest score in the table?", "table:scores.csv", (r"\bbo\b",), sample="Bo, 95 in art."),
        T("What is the average score?", "", (r"(?<![\d.])83\.17|83\.2(?!\d)|83\.1(?!\d)",), sample="83.17."))),
    # ---- language: the answer follows the latest message ----
    Followup("lang-ko-then-en", "language", (
        T("서울은 어느 나라의 수도입니까?", "", (r"한국|대한민국",), language="ko", sample="서울은 대한민국의 수도입니다."),
        T("And roughly how many people live there?", "", (r"(?<![\d.])(9|9\.\d+|10)\s*million",),
          (r"2\.3 million",), language="en", sample="About 9.6 million people."))),
    Followup("lang-en-then-ko", "language", (
        T("What is the capital of France?", "", (r"paris",), language="en", sample="Paris."),
        T("그 도시에서 유명한 탑은 무엇인가요?", "", (r"에펠",), language="ko", sample="에펠탑입니다."))),
    Followup("lang-ko-then-en-japan", "language", (
        T("안녕하세요! 오늘 기분이 어떠세요?", "", (), language="ko"),
        T("What is the capital of Japan?", "", (r"tokyo",), language="en", sample="The capital of Japan is Tokyo."))),
    Followup("lang-three-turns", "language", (
        T("Hi! Can you help me plan a short trip?", "", (), language="en"),
        T("부산에서 가 볼 만한 곳을 하나 알려 주세요.", "", (), language="ko", sample="해운대 해수욕장을 추천합니다."),
        T("Thanks! What is the best way to get there from Seoul?", "", (r"KTX|train|rail|bus|fly|flight|plane",),
          language="en", sample="The KTX train takes about 2.5 hours."))),
)
