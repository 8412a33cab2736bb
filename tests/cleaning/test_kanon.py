from collections import Counter

from listings.cleaning.kanon import KAnonymity


def _rows():
    # 6 records (1990, 男, 100***), 4 records (1991, 男, 100***), 1 record (1972, 女, 200***)
    return (
        [("1990", "男", "100***")] * 6 + [("1991", "男", "100***")] * 4 + [("1972", "女", "200***")]
    )


def test_known_answer_generalisation_then_suppression():
    ka = KAnonymity(
        ["birth", "gender", "zip"], ["birth_date", "gender", "postcode"], k=5, max_suppression=0.1
    )
    ka.observe(_rows())
    stats = ka.plan()
    assert stats["before"] == {"min_k": 1, "share_below_k": round(5 / 11, 6), "groups": 3}
    # One step on the birth date (5-year bands) merges 1990 and 1991 into 1990-1994 (10 records);
    # the lone 1972 record (1/11 < 10%) is then suppressed.
    assert stats["generalisation_levels"] == {"birth": 1, "gender": 0, "zip": 0}
    assert stats["suppressed_records"] == 1
    assert ka.apply(("1991", "男", "100***")) == ("1990-1994", "男", "100***")
    assert ka.apply(("1972", "女", "200***")) == ("*", "*", "*")
    assert stats["after"]["share_below_k"] == round(1 / 11, 6)  # the suppressed group of one


def test_already_k_anonymous_table_is_untouched():
    ka = KAnonymity(["g"], ["gender"], k=2, max_suppression=0.0)
    ka.observe([("男",)] * 3 + [("女",)] * 2)
    stats = ka.plan()
    assert stats["before"]["min_k"] == 2 and stats["suppressed_records"] == 0
    assert ka.levels == [0] and ka.apply(("女",)) == ("女",)


def test_counts_are_streaming_aggregates():
    ka = KAnonymity(["g"], ["gender"], k=2, max_suppression=0.0)
    ka.observe([("男",)])
    ka.observe([("男",), ("女",)])
    assert ka.counts == Counter({("男",): 2, ("女",): 1})
