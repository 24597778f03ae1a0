"""A farmer's credit statement (the renderer; the route: tests/unit/functions/farmers/test_statement_route.py): one page in the
farmer's language, labels as data, the numbers and serials that went in, how to verify."""

from __future__ import annotations

import json

import pytest

from functions.farmers import statement as st
from tests.unit import pdfread

SERIES = "AGM-prj_00000001-2025-prj_00000001_2025_kharif"


def make(language: str, credits: bool = True, plots: int = 3) -> st.Statement:
    regimes = [
        ("continuously_flooded", "multiple_drainage"),
        ("continuously_flooded", "continuously_flooded"),
        ("continuously_flooded", "single_drainage"),
    ]
    return st.Statement(
        statement_id="stm-1",
        generated_at="2026-11-27T09:00:00Z",
        language=language,
        farmer_id="frm-0123456789abcdef0123",
        farmer_name="रामेश्वर प्रसाद",
        village="रामपुर",
        fpo_id="FPO-1",
        project_id="prj_00000001",
        project_name="Rampur AWD रामपुर",
        run_id="prj_00000001_2025_kharif",
        period="2025-kharif",
        approved_at="2026-11-20T10:00:00Z",
        tonnes=3.4567,
        plots=[
            st.StatementPlot(
                plot_id=f"plt-{i}",
                name="नदी वाला खेत" if i == 0 else None,
                season_key="2025-kharif",
                area_ha=0.8 + i,
                crop="rice",
                baseline_regime=regimes[i % 3][0],
                project_regime=regimes[i % 3][1],
                net_t=1.25 * (i + 1),
            )
            for i in range(plots)
        ],
        credits=[st.CreditRange(f"{SERIES}-000000001", f"{SERIES}-000000003", 3)] if credits else [],
    )


@pytest.mark.parametrize(
    "language, words",
    [
        (
            "hi",
            [
                "कार्बन क्रेडिट विवरण",
                "आपके खेत",
                "कई बार पानी निकाला (AWD)",
                "पूरे मौसम पानी भरा",
                "धान",
                "3.457 टन CO2e",
                "3 क्रेडिट",
                "कोई भी इन क्रेडिट की जाँच कैसे करे",
            ],
        ),
        (
            "en",
            [
                "Carbon credit statement",
                "Your plots",
                "drained several times (AWD)",
                "flooded all season",
                "rice",
                "3.457 tonnes CO2e",
                "3 credits",
                "How anyone can check these credits",
            ],
        ),
    ],
)
def test_the_statement_is_one_page_in_the_farmers_language_with_the_numbers_that_went_in(language, words):
    data = st.render(make(language))
    text = pdfread.text(data)
    assert pdfread.page_count(data) == 1
    for word in [*words, "रामेश्वर प्रसाद", "रामपुर", "नदी वाला खेत (plt-0)", "1.250", "2.500", "3.750"]:
        assert word in text, word
    compact = "".join(text.split())
    assert f"{SERIES}-000000001…000000003(3)" in compact  # the serial range, whole
    assert f"--serial{SERIES}-000000001" in compact  # how to check the first credit
    fonts = pdfread.fonts(data)
    assert fonts and all(fonts.values())


def test_no_credits_yet_says_so_and_unknown_languages_fall_back_to_english():
    text = pdfread.text(st.render(make("xx", credits=False)))
    assert "none yet: credits are issued after the auditor approves the run" in text
    assert "Once credits are issued" in text and "--serial" not in text


def test_every_language_file_has_every_label_of_english():
    """A language is one file: it must carry every key (and every vocabulary value) English has."""

    def keys(d: dict, prefix: str = "") -> set[str]:
        return {f"{prefix}{k}" for k in d} | {x for k, v in d.items() if isinstance(v, dict) for x in keys(v, f"{k}.")}

    english = keys(st.labels("en"))
    assert st.languages() == sorted(["en", "hi"]) or set(st.languages()) >= {"en", "hi"}
    for language in st.languages():
        raw = json.loads((st.LABELS / f"{language}.json").read_text(encoding="utf-8"))
        assert keys(raw) == english, language


def test_the_regime_labels_cover_the_vocabulary():
    from agri_common.season_vocab import WATER_REGIMES

    for language in st.languages():
        assert set(st.labels(language)["regimes"]) == set(WATER_REGIMES), language
