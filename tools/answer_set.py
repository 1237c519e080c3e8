"""The questions tools.evaluate_answers asks, as data: what a user asks an assistant, with accepted answers.

Each accepted pattern is a regex matched case-insensitively anywhere in the answer, written so a correct but wordy
answer passes and a wrong one fails; `sample` is a correct answer the pattern must accept (the tests check it).
Where a wrong value of the same kind is easy to state beside the right one (another year, another number from the
same table), `rejected` names it and whichever comes first in the answer decides: "In 2019 ... 1945" is wrong.
Written before any model was run on them, and kept clear of the speech adapter's training sentences
(models/training/data/speech_data.py: the capitals of France, Japan, Italy, Germany, Spain, England, its country list,
...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """A question, the patterns that accept an answer to it, and a sample correct answer."""

    topic: str
    text: str
    accepted: tuple[str, ...]
    sample: str
    rejected: tuple[str, ...] = ()


def _q(topic: str, text: str, accepted: str | tuple[str, ...], sample: str, rejected: tuple[str, ...] = ()) -> Question:
    return Question(topic, text, (accepted,) if isinstance(accepted, str) else accepted, sample, rejected)


def _other_years(*right: str) -> tuple[str, ...]:
    """Any year from 1500 to 2099 but the right ones (a war's start year may stand beside its end)."""
    return (r"\b(?!" + "|".join(right) + r")(1[5-9]|20)\d\d\b",)


def _other_values(right: str, values: list[str]) -> tuple[str, ...]:
    """The table's other numbers (its prices and statistics) as rejected patterns, each whole."""
    return tuple(r"(?<![\d.])" + re.escape(v) + r"(?![\d])" for v in values if v != right)


TRIVIA = [
    _q("capital", "What is the capital of Russia?", r"\bmoscow\b", "The capital of Russia is Moscow."),
    _q("capital", "What is the capital of Hungary?", r"\bbudapest\b", "Budapest is the capital of Hungary."),
    _q("capital", "What is the capital of Cuba?", (r"\bhavana\b", r"\bla habana\b"), "Havana."),
    _q("capital", "What is the capital of the Netherlands?", r"\bamsterdam\b",
       "The capital of the Netherlands is Amsterdam, though the government sits in The Hague."),
    _q("capital", "What is the capital of Ukraine?", (r"\bkyiv\b", r"\bkiev\b"), "Kyiv is the capital of Ukraine."),
    _q("science", "What is the chemical symbol for gold?", r"\bAu\b", "The chemical symbol for gold is Au."),
    _q("science", "At what temperature in degrees Celsius does water boil at sea level?",
       (r"(?<![\d.])100(?!\d)", r"\bone hundred\b"), "Water boils at 100 degrees Celsius (212°F) at sea level."),
    _q("science", "Which planet is known as the Red Planet?", r"\bmars\b", "Mars is called the Red Planet."),
    _q("science", "What is the chemical formula for water?", (r"\bH2O\b", "H₂O"), "Water is H2O."),
    _q("science", "What is the hardest natural substance on Earth?", r"\bdiamonds?\b",
       "Diamond is the hardest natural material."),
    _q("science", "Which gas do humans need to breathe in to stay alive?", (r"\boxygen\b", r"\bO2\b"),
       "We need oxygen to breathe."),
    _q("science", "How many planets are there in our solar system?", (r"(?<![\d.])8(?!\d)", r"\beight\b"),
       "There are eight planets in our solar system."),
    _q("geography", "What is the longest river in Africa?", r"\bnile\b", "The Nile is the longest river in Africa."),
    _q("geography", "Which is the largest ocean on Earth?", r"\bpacific\b", "The Pacific Ocean is the largest."),
    _q("geography", "On which continent is the Sahara Desert?", r"\bafrica", "The Sahara is in North Africa."),
    _q("geography", "In which country is the city of Toronto?", r"\bcanada\b", "Toronto is a city in Canada."),
    _q("geography", "What is the smallest continent?", (r"\baustralia\b", r"\boceania\b"),
       "Australia is the smallest continent."),
    _q("arithmetic", "I have 3 apples and buy 5 more. How many apples do I have now?",
       (r"(?<![\d.])8(?!\d)", r"\beight\b"), "You now have 3 + 5 = 8 apples."),
    _q("arithmetic", "A pizza is cut into 8 slices and I eat 3 of them. How many slices are left?",
       (r"(?<![\d.])5(?!\d)", r"\bfive\b"), "8 - 3 = 5, so 5 slices are left."),
    _q("arithmetic", "What is 12 times 12?", r"(?<![\d.])144(?!\d)", "12 times 12 is 144."),
    _q("arithmetic", "How many minutes are there in two hours?",
       (r"(?<![\d.])120(?!\d)", r"\bone hundred (and )?twenty\b"),
       "Two hours have 2 x 60 = 120 minutes."),
    _q("arithmetic", "A shirt costs $20 and is on sale for 50% off. What is the sale price?",
       (r"(?<![\d.])10(\.0+)?(?!\d|\.\d|\s*%)", r"\bten dollars\b"),  # "$10", "10 dollars", "\boxed{10}"; not "10%"
       "50% of $20 is $10, so the sale price is $10."),
    _q("history", "In which year did World War II end?", r"\b1945\b", "World War II lasted from 1939 to 1945.",
       _other_years("1945", "1939")),
    _q("history", "Who was the first president of the United States?", r"\bwashington\b",
       "George Washington was the first president of the United States."),
    _q("history", "Who painted the Mona Lisa?", (r"\bleonardo\b", r"\bda vinci\b"),
       "The Mona Lisa was painted by Leonardo da Vinci."),
    _q("history", "In which year did people first land on the Moon?", r"\b1969\b",
       "Apollo 11 landed on the Moon in July 1969.", _other_years("1969")),
    _q("everyday", "How many sides does a triangle have?", (r"(?<![\d.])3(?!\d)", r"\bthree\b"),
       "A triangle has three sides."),
    _q("everyday", "What is a baby cat called?", r"\bkit(ten|ty|tens)\b", "A baby cat is called a kitten."),
    _q("everyday", "What color do you get when you mix blue and yellow paint?", r"\bgreen\b",
       "Mixing blue and yellow gives green."),
    _q("everyday", "How many continents are there on Earth?", (r"(?<![\d.])7(?!\d)", r"\bseven\b"),
       "There are seven continents."),
]

# Korean questions: the fact must be right AND the answer mostly Hangul (tools.evaluate_answers.hangul_share).
KOREAN = [
    _q("korean", "한국의 수도는 어디인가요?", r"서울", "한국의 수도는 서울입니다."),
    _q("korean", "지구에서 가장 큰 바다는 무엇인가요?", r"태평양", "지구에서 가장 큰 바다는 태평양입니다."),
    _q("korean", "물은 섭씨 몇 도에서 끓나요?", (r"(?<![\d.])100(?!\d)", r"백\s*도"), "물은 섭씨 100도에서 끓습니다."),
    _q("korean", "세종대왕이 만든 글자는 무엇인가요?", (r"한글", r"훈민정음"), "세종대왕은 한글(훈민정음)을 만들었습니다."),
    _q("korean", "일주일은 며칠인가요?", (r"(?<![\d.])7\s*일", r"칠\s*일", r"일곱"), "일주일은 7일입니다."),
]

# A small product table: the model is handed its computed statistics (assistant.documents.table_facts) and rows.
TABLE_CSV = """product,category,price
notebook,stationery,3.25
desk lamp,home,24.9
coffee mug,kitchen,8.75
headphones,electronics,97.5
backpack,travel,45
water bottle,travel,12.4
keyboard,electronics,39.99
plant pot,home,15.6
umbrella,travel,19.95
frying pan,kitchen,31.2
"""
# Statistics of the price column above: 10 rows, smallest 3.25, largest 97.5, average 29.854 (table_facts: 29.85),
# total 298.5. An answer that states another of these first is wrong ("The lowest price is $29.85 ... 3.25").
_PRICES = [line.rsplit(",", 1)[1] for line in TABLE_CSV.splitlines()[1:]] + ["29.85", "298.5"]
TABLE = [
    _q("table", "What is the highest price?", r"(?<![\d.])97\.50?(?!\d)", "The highest price is 97.5 (headphones).",
       _other_values("97.5", _PRICES)),
    _q("table", "What is the lowest price?", r"(?<![\d.])3\.25(?!\d)", "The lowest price is 3.25, for the notebook.",
       _other_values("3.25", _PRICES)),
    _q("table", "How many products are in the table?", (r"(?<![\d.])10(?!\d|\.\d)", r"\bten\b"),
       "The table lists 10 products."),
    _q("table", "What is the average price?", r"(?<![\d.])29\.85", "The average price is 29.85, from a total of 298.5.",
       _other_values("29.85", _PRICES)),
]

# Twelve user turns of small talk and questions in one conversation; the last answers should still be English.
SMALL_TALK = [
    "Hi! How are you today?",
    "I'm planning a picnic this weekend. What food should I bring?",
    "Good ideas. What drinks go well with that?",
    "What games can we play at a picnic?",
    "What should I do if it starts to rain?",
    "Can you suggest a good book to read in the park?",
    "Why do people enjoy reading outdoors?",
    "How can I keep insects away from the food?",
    "What is a simple recipe for lemonade?",
    "How much sugar should I use for one litre?",
    "Thanks. Any tips for taking nice photos outdoors?",
    "Great, thank you. Can you summarise your advice in two sentences?",
]
