import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from exchange.participants.models import validate_uscc
from exchange.participants.uscc import ALPHABET, check_character, is_valid_uscc, uscc_problem

bodies = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@pytest.mark.parametrize("first", ["1", "5", "9", "A", "N", "Y"])
def test_codes_from_every_registration_authority_are_valid(first: str) -> None:
    body = first + "1110108MA01XY2Q3"
    code = body + check_character(body)
    assert is_valid_uscc(code), code


def test_a_published_example_code_checks_out() -> None:
    # The worked example in GB 32100-2015 Appendix: 91350100M000100Y43 (check character 3).
    assert check_character("91350100M000100Y4") == "3"
    assert is_valid_uscc("91350100M000100Y43")


@given(bodies)
def test_any_body_with_its_check_character_is_valid(body: str) -> None:
    assert is_valid_uscc(body + check_character(body))


@given(bodies, st.sampled_from(ALPHABET))
def test_a_wrong_check_character_is_refused(body: str, wrong: str) -> None:
    if wrong == check_character(body):
        return
    assert uscc_problem(body + wrong) == "the check character (the 18th) does not match"


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_forbidden_letters_are_refused_by_name(letter: str) -> None:
    valid = "91350100M000100Y43"
    problem = uscc_problem(valid[:10] + letter + valid[11:])
    assert problem is not None and letter in problem and "outside" in problem


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_wrong_length_is_refused(code: str) -> None:
    assert "18 characters" in (uscc_problem(code) or "")


def test_lowercase_is_not_silently_accepted() -> None:
    assert not is_valid_uscc("91350100m000100y43")


def test_model_validator_names_the_reason() -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc("91350100M000100Y44")
    assert "check character" in str(excinfo.value)
