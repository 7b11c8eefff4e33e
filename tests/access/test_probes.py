"""Guessing what a mask hides, one try at a time (look-ups, subjects, lists over several runs), is refused."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from stdnum.cn import ric

from access import audit, grants, lookups, probes
from access.users import Refused
from tests.access.conftest import CASE, COLLEAGUE, INVESTIGATOR, listed
from xgate.settings import Settings


def behind_one_mask(count: int, area: str = "510421", year: int = 1980, tail: str = "123") -> list[str]:
    """``count`` valid IDs that the mask shows alike (same area code, sequence and check character), as an
    attacker lists the birth dates of one masked person's year."""
    found, wanted = [], None
    for day in range(366):
        body = f"{area}{(date(year, 1, 1) + timedelta(days=day)):%Y%m%d}{tail}"
        check = ric.calc_check_digit(body + "0")
        wanted = wanted or check
        if check == wanted:
            found.append(body + check)
    assert len(found) >= count
    return found[:count]


def test_written_forms_are_one_number() -> None:
    [legacy] = behind_one_mask(1)  # born 1980: it has a 15-digit twin
    assert probes.normalised(legacy[:6] + legacy[8:17]) == legacy  # the 15-digit twin
    assert probes.normalised("５１０４２１ " + legacy[6:]) == legacy  # full-width, a space
    assert probes.masked_as(legacy) == legacy[:6] + "*" * 8 + legacy[-4:] + "/1980"  # with the year shown beside it


def test_a_few_numbers_behind_one_mask_then_refused_whatever_the_form(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first, second, third, fourth = behind_one_mask(4)
    probes.tried(settings, "alice", [first])
    probes.tried(settings, "alice", [second, first[:6] + first[8:17]])  # the legacy form of a number tried
    probes.tried(settings, "alice", [third])
    with pytest.raises(Refused, match="guessing"):
        probes.tried(settings, "alice", [fourth])
    probes.tried(settings, "alice", [first, behind_one_mask(1, area="510402")[0]])  # tried before; another mask
    probes.tried(settings, "bob", [fourth])  # each user's own tries
    assert all(first not in p.read_text() for p in (tmp_path / "access" / "probes").glob("*.json"))


def test_every_written_form_is_one_number_and_phones_get_more_tries(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first, second, third, fourth = behind_one_mask(4)
    dashed = [f"{n[:6]}-{n[6:14]}-{n[14:]}" for n in (first, second, third)]
    probes.tried(settings, "alice", [*dashed, f"{first[:6]}--{first[6:]}", first.lower(), f"{second}\t"])
    with pytest.raises(Refused, match="guessing"):
        probes.tried(settings, "alice", [f"{fourth[:9]}-{fourth[9:]}"])
    probes.tried(settings, "alice", behind_one_mask(1, year=1981))  # another year of birth: another person
    phones = [f"199-{n:04d}-5427" for n in range(11)]
    probes.tried(settings, "alice", [*phones[:9], "+86 19900005427", "(199)0009-5427"])
    with pytest.raises(Refused, match="guessing"):
        probes.tried(settings, "alice", [phones[10]])


def test_a_list_guessing_birth_dates_for_a_name_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    dates = ["1944-04-08", "1944/4/9", "19440410", "1944年4月11日"]
    guesses = pa.table({"name": ["余鹏利"] * 4, "birth_date": dates, "id_number": [None] * 4})
    with pytest.raises(Refused, match="guessing"):
        listed(settings, "alice", guesses)
    split = pa.table({"family_name": ["余"] * 2, "given_name": ["鹏利"] * 2, "birth_date": dates[:2]})
    listed(settings, "alice", split)  # refused lists count nothing: two dates so far
    with pytest.raises(Refused, match="guessing"):
        listed(settings, "alice", pa.table({"name": ["余 鹏利"] * 2, "birth_date": dates[2:]}))
    people = pa.table({"name": ["余鹏利", "王伟", "王伟"], "birth_date": ["1944-04-08", "1980-01-01", "1990-01-01"]})
    listed(settings, "bob", people)


def test_a_name_is_counted_as_the_linker_reads_it(tmp_path: Path) -> None:
    """A column the matcher ignores (a family name beside the full name) makes no new count, a homophone is
    the same name, and searches by name and birth date draw on the same allowance as lists."""
    settings = Settings(data_dir=tmp_path)
    for day, junk in ((1, "zz1"), (2, "zz2")):
        row = {"name": ["郑燕琳"], "family_name": [junk], "birth_date": [f"1986-02-0{day}"]}
        listed(settings, "alice", pa.table(row))
    probes.searched(settings, "alice", "郑艳琳", "1986-02-03", lookups.GUESSES, 100)  # a homophone, searched
    with pytest.raises(Refused, match="guessing"):
        listed(settings, "alice", pa.table({"name": ["正燕林"], "family_name": ["zz4"], "birth_date": ["1986-02-10"]}))
    with pytest.raises(Refused, match="guessing"):
        probes.searched(settings, "alice", "郑燕琳", "1986-02-10", lookups.GUESSES, 100)
    listed(settings, "alice", pa.table({"name": ["郑燕琳"], "id_number": [behind_one_mask(1, year=1986)[0]]}))
    # names behind one masked family name on one date, each written with a leading dot (read as nothing by
    # the matcher): one family name still, so the fourth is refused (attack 5)
    names = ["·陈明斌", ".陈明华", "ch恩明军", "陈明伟"]  # however the first syllable is written, one family
    for name in names[:3]:
        listed(settings, "bob", pa.table({"name": [name], "birth_date": ["1950-08-21"]}))
    with pytest.raises(Refused, match="guessing"):
        listed(settings, "bob", pa.table({"name": [names[3]], "birth_date": ["1950-08-21"]}))


def test_a_damaged_record_vouches_for_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    probes.tried(settings, "alice", behind_one_mask(1))
    [kept] = (tmp_path / "access" / "probes").glob("*.json")
    kept.write_text("{")
    with pytest.raises(Refused):
        probes.tried(settings, "alice", behind_one_mask(2)[1:])


def test_look_ups_one_candidate_at_a_time_are_refused_and_audited(access_settings, read) -> None:
    candidates = behind_one_mask(4)
    for number in candidates[:3]:
        read(lookups.person(INVESTIGATOR, number, CASE, "who is this"))
    with pytest.raises(Refused, match="guessing"):
        read(lookups.person(INVESTIGATOR, candidates[3], CASE, "who is this"))
    last = audit.records(access_settings)[-1]
    assert last["outcome"] == "refused" and "guessing" in last["reason"]
    assert audit.subject_hash(access_settings, candidates[3]) in last["subjects"]
    read(lookups.person(COLLEAGUE, candidates[3], CASE, "who is this"))  # a colleague's first try


def test_subjects_and_lists_count_with_the_same_tries(access_settings) -> None:
    candidates = behind_one_mask(8)
    for number in candidates[:3]:
        grants.add_subject(access_settings, INVESTIGATOR, CASE, number, "suspect")
    with pytest.raises(Refused, match="guessing"):
        grants.add_subject(access_settings, INVESTIGATOR, CASE, candidates[3], "suspect")
    # lists, run after run: each list of 3 passes alone, the second is refused with the first counted
    listed(access_settings, "colleague", pa.table({"id_number": candidates[4:7]}))
    with pytest.raises(Refused, match="guessing"):
        listed(access_settings, "colleague", pa.table({"id_number": candidates[:3]}))
