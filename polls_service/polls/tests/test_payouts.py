"""The split of a fund among causes: exact, within a lovelace of each share, deterministic."""

import random
import uuid
from decimal import Decimal
from fractions import Fraction

import pytest

from polls.payouts import share_of, split_fund


def test_an_even_split_needs_no_rounding():
    assert split_fund(1_000, {"a": 1, "b": 1}) == {"a": 500, "b": 500}


def test_proportional_to_points():
    assert split_fund(1_000_000, {"a": 600, "b": 300, "c": 100}) == {
        "a": 600_000,
        "b": 300_000,
        "c": 100_000,
    }


def test_leftover_lovelace_go_to_the_largest_remainders():
    # Exact shares 3.333..., 3.333..., 3.333...: one lovelace left, ties by id.
    assert split_fund(10, {"b": 1, "a": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    # Exact shares 1.6 (a), 5.6 (b), 2.8 (c): floors 1, 5, 2 leave 2 lovelace, for the
    # remainders .8 (c) and .6 (a, b: a wins the tie by id).
    assert split_fund(10, {"a": 4, "b": 14, "c": 7}) == {"a": 2, "b": 5, "c": 3}


def test_ties_are_broken_by_the_cause_id_as_a_string():
    low, high = uuid.UUID(int=1), uuid.UUID(int=2)
    assert split_fund(1, {high: 1, low: 1}) == {low: 1, high: 0}
    # The string order, not the integer order of the UUID.
    a = uuid.UUID("0a000000-0000-0000-0000-000000000000")
    b = uuid.UUID("a0000000-0000-0000-0000-000000000000")
    assert str(a) < str(b)
    assert split_fund(1, {b: 5, a: 5}) == {a: 1, b: 0}


def test_causes_without_points_get_nothing_even_with_leftovers():
    assert split_fund(10, {"a": 1, "b": 1, "c": 1, "z": 0}) == {"a": 4, "b": 3, "c": 3, "z": 0}


def test_no_points_at_all_means_no_payouts():
    assert split_fund(1_000_000, {"a": 0, "b": 0}) == {"a": 0, "b": 0}
    assert split_fund(1_000_000, {}) == {}


def test_one_cause_with_points_gets_the_whole_fund():
    assert split_fund(999_999_999, {"a": 0, "b": 17}) == {"a": 0, "b": 999_999_999}


def test_large_funds_and_points_are_exact():
    fund = 45_000_000_000 * 1_000_000
    points = {"a": 10**15 + 1, "b": 10**15, "c": 3}
    payouts = split_fund(fund, points)
    assert sum(payouts.values()) == fund
    total = sum(points.values())
    for key, value in points.items():
        assert abs(payouts[key] - Fraction(fund * value, total)) < 1


@pytest.mark.parametrize(
    "fund, points",
    [
        (-1, {"a": 1}),
        (1.5, {"a": 1}),
        (True, {"a": 1}),
        (10, {"a": -1}),
        (10, {"a": 1.0}),
        (10, {"a": True}),
        (10, {uuid.UUID(int=1): 1, str(uuid.UUID(int=1)): 1}),
    ],
)
def test_bad_input_is_refused(fund, points):
    with pytest.raises(ValueError):
        split_fund(fund, points)


def test_properties_hold_for_random_rounds():
    for seed in range(2_000):
        try:
            _check_random_round(random.Random(seed))
        except AssertionError as exc:
            raise AssertionError(f"random round with seed {seed}: {exc}") from exc


def _check_random_round(rng: random.Random) -> None:
    causes = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(rng.randint(1, 12))]
    fund = rng.choice([1, 2, 7, 1_000, rng.randint(1, 10**12), rng.randint(1, 45 * 10**15)])
    points = {c: rng.choice([0, 1, rng.randint(0, 100), rng.randint(0, 10**9)]) for c in causes}
    if rng.random() < 0.3:  # many ties
        same = rng.randint(1, 5)
        points = {c: same for c in causes}
    total = sum(points.values())

    payouts = split_fund(fund, points)

    assert set(payouts) == set(points)
    if total == 0:
        assert all(p == 0 for p in payouts.values())
        return
    assert sum(payouts.values()) == fund
    for cause in causes:
        exact = Fraction(fund * points[cause], total)
        assert exact - 1 < payouts[cause] < exact + 1
        assert payouts[cause] in (int(exact), int(exact) + 1)  # floor, or one more
        if points[cause] == 0:
            assert payouts[cause] == 0
    # Whoever got the extra lovelace had a remainder at least as large as anyone who did not,
    # and among equal remainders the lower id string won.
    rank = {c: (-(fund * points[c] % total), str(c)) for c in causes}
    extra = [c for c in causes if payouts[c] > fund * points[c] // total]
    rest = [c for c in causes if c not in extra and fund * points[c] % total]
    assert all(rank[e] < rank[r] for e in extra for r in rest)
    # Deterministic: the same inputs in any order give the same split.
    shuffled = list(points.items())
    rng.shuffle(shuffled)
    assert split_fund(fund, dict(shuffled)) == payouts
    # Keys as strings give the same split as UUIDs (ties use the string either way).
    assert split_fund(fund, {str(c): p for c, p in points.items()}) == {
        str(c): p for c, p in payouts.items()
    }


def test_share_has_six_decimals():
    assert share_of(1, 3) == Decimal("0.333333")
    assert share_of(2, 3) == Decimal("0.666667")
    assert share_of(0, 0) == Decimal("0.000000")
    assert share_of(5, 5) == Decimal("1.000000")
