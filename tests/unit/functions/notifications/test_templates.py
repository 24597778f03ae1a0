"""Templates are data: every language file complete, same placeholders; rendering is plain text."""

import pytest

from agri_common.notify import EVENT_KINDS
from functions.notifications import templates as t


def test_english_and_hindi_exist_and_english_covers_every_event_kind():
    assert {"en", "hi"} <= set(t.languages())
    assert set(t.load("en")) == set(EVENT_KINDS)


@pytest.mark.parametrize("language", [lang for lang in t.languages() if lang != "en"])
def test_every_language_has_the_same_kinds_parts_and_placeholders_as_english(language):
    en, other = t.load("en"), t.load(language)
    assert set(other) == set(en), language
    for kind, parts in en.items():
        assert set(other[kind]) == set(t.PARTS), (language, kind)
        for part in t.PARTS:
            assert t.placeholders(other[kind][part]) == t.placeholders(parts[part]), (language, kind, part)


def test_hindi_rendering_fills_the_placeholders():
    r = t.render(
        "run_awaiting_auditor", "hi", {"run_id": "prj_0000abcd_2025_kharif", "task_id": "T1", "project_id": "P"}
    )
    assert r.language == "hi"
    assert "सत्यापन" in r.title and "prj_0000abcd_2025_kharif" in r.title
    assert "T1" in r.sms and "{" not in r.body


def test_a_language_without_a_file_falls_back_to_english():
    r = t.render("membership_approved", "ta", {"fpo_id": "FPO-1"})
    assert r.language == "en" and r.title == "Welcome to FPO FPO-1"


def test_a_missing_value_renders_a_dash_not_an_error():
    assert t.render("membership_approved", "en", {}).title == "Welcome to FPO -"


def test_values_are_plain_single_line_text_and_bounded():
    evil = "Ravi\u202e\u0007\nKumar" + "x" * 500
    r = t.render("run_sent_back", "en", {"reason": evil, "run_id": "R1", "project_id": "P1", "decision": "reject"})
    assert "\u202e" not in r.body and "\u0007" not in r.body and "\n" not in r.body
    assert "Ravi Kumar" in r.body
    assert len(t.plain(evil)) == t.MAX_VALUE_CHARS


@pytest.mark.parametrize("language,limit", [("en", t.MAX_SMS_GSM), ("hi", t.MAX_SMS_UNICODE)])
def test_sms_text_is_bounded_per_encoding(language, limit):
    long = "y" * 400
    for kind in t.load("en"):
        sms = t.render(kind, language, {k: long for k in ("run_id", "task_id", "project_id", "fpo_id", "serial")}).sms
        assert len(sms) <= limit, kind
    assert t.bound_sms("a" * 1000).endswith(t.ELLIPSIS)


def test_every_sms_text_has_a_dlt_template_name_per_language():
    """One DLT template per exact text (agri_common.sms): every kind of every language file, by
    ``<kind>.<language>``; prod's cdk.json must register each (tests/infra/test_operations.py)."""
    from functions.notifications.templates import languages, load, sms_template_names

    names = sms_template_names()
    assert len(names) == len(set(names)) == sum(len(load(lang)) for lang in languages())
    assert {n.rsplit(".", 1)[1] for n in names} == set(languages()) >= {"en", "hi"}
    assert "run_awaiting_auditor.hi" in names and "credits_issued.en" in names
