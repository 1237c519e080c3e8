"""Personal-data guard: each kind is masked, near-misses are left alone, and streaming never leaks a piece."""

import random

import pytest

from assistant.privacy import StreamMasker, mask

SECRETS = [
    ("Write to jane.doe+work@example.co.uk today.", "jane.doe+work@example.co.uk", "[e-mail hidden]"),
    ("Call 010-1234-5678 after six.", "010-1234-5678", "[phone number hidden]"),
    ("Call 01012345678 after six.", "01012345678", "[phone number hidden]"),
    ("Office: +82 2-312-3456.", "+82 2-312-3456", "[phone number hidden]"),
    ("US office (415) 555-0132 or +1 415 555 0132.", "555-0132", "[phone number hidden]"),
    ("Card 4111 1111 1111 1111 expires soon.", "4111 1111 1111 1111", "[card number hidden]"),
    ("Card 5500-0000-0000-0004.", "5500-0000-0000-0004", "[card number hidden]"),
    ("My RRN is 900101-1234567.", "900101-1234567", "[ID number hidden]"),
    ("주민등록번호 850315-2345678 입니다", "850315-2345678", "[ID number hidden]"),
    ("SSN 123-45-6789 on file.", "123-45-6789", "[ID number hidden]"),
]


@pytest.mark.parametrize("text,secret,label", SECRETS)
def test_each_kind_is_masked(text, secret, label):
    out = mask(text)
    assert secret not in out and label in out


@pytest.mark.parametrize("text", [
    "The year 2024 had 366 days.", "Version 3.11.4 is out.", "Order 1234567890123 shipped.",  # fails Luhn
    "Meet at 10:30 on 2025-01-15.", "pi is 3.14159265", "user at example dot com"])
def test_ordinary_numbers_and_words_are_left_alone(text):
    assert mask(text) == text


@pytest.mark.parametrize("seed", range(200))
def test_streaming_in_random_pieces_equals_masking_the_whole(seed):
    rng = random.Random(seed)
    text = " ".join(t for t, _, _ in rng.sample(SECRETS, 4)) + " The end."
    masker, shown = StreamMasker(), []
    i = 0
    while i < len(text):
        n = rng.randint(1, 6)
        shown.append(masker.feed(text[i : i + n]))
        i += n
        assert not any(s in "".join(shown) for _, s, _ in SECRETS)  # never visible, even for a moment
    shown.append(masker.flush())
    assert "".join(shown) == mask(text)


def test_streaming_does_not_hold_plain_prose_back():
    masker = StreamMasker()
    out = masker.feed("Hello there, how are ")
    assert out == "Hello there, how are "
    assert masker.feed("you") == "" and masker.feed(" today") == "you "
