import math

import numpy as np
import polars as pl
import pytest

pytest.importorskip("langcodes")
pytest.importorskip("language_data")

from curate.langid.detectors import (
    IDENTITY,
    Cld2Detector,
    LangidDetector,
    calibration_of,
    calibrations,
    load_detector,
)

# Real sentences (lingua-py's Leipzig test sentences and Tatoeba, as in shared/eval/lid).
FRENCH = "Il n'écrit plus que des histoires brèves, comme un coureur qui ne tiendrait plus la distance."
YORUBA = "Ẹ̀wẹ̀, ọ̀pọ̀lọpọ̀ àwọn ènìyàn ni wọ́n ti kú nínú ìjàǹbá ọkọ̀ òfurufú náà."
SWAHILI = "Watoto wengi walihudhuria sherehe hiyo katika kijiji chetu jana jioni."
RUSSIAN = "Впервые ДИЗ я увидел в 1996 году в Бордо во Франции и понял, как здорово, что такое место существует."
CHINESE = "他们说他是一个很能干的人。"
GOTHIC = '"𐍄𐍂𐌰𐌿𐌰𐌹 𐌳𐌿 𐌼𐌹𐍃," 𐌵𐌰𐌸 𐌹𐍃.'
TEXTS = [FRENCH, YORUBA, SWAHILI, RUSSIAN, CHINESE, "ÉCOLE ET ÉTÉ", "a", ""]


def top(detection):
    return detection.candidates.filter(pl.col("rank") == 0).sort("unit").select("unit", "code").rows()


def test_langid_batch_scores_equal_the_package_per_text():
    pytest.importorskip("py3langid")
    from py3langid import langid as langid_py

    reference = langid_py.LanguageIdentifier.from_model_file(langid_py.MODEL_FILE, norm_probs=True)
    detector = LangidDetector()
    ours = detector.probabilities(TEXTS)
    theirs = np.array([reference._decide(t) for t in TEXTS])
    # "a" and "" hold no feature of the model: the package gives them a uniform distribution, the detector says nothing
    silent = np.isnan(ours).all(axis=1)
    assert silent.tolist() == [False] * 6 + [True, True]
    assert theirs[silent].max() <= 2 / len(detector.classes) + 1e-6  # uniform (a label listed twice counts double)
    np.testing.assert_allclose(ours[~silent], theirs[~silent], atol=1e-5)
    assert [reference.classify(t)[0] for t in TEXTS[:6]] == [detector.classes[i] for i in ours[:6].argmax(axis=1)]


def test_langid_detector_candidates_and_silence():
    detection = LangidDetector(k=3).detect([FRENCH, "", "a", SWAHILI])
    assert top(detection) == [(0, "fra"), (3, "swa")]
    assert detection.signal.is_null().to_list() == [False, True, True, False]
    assert detection.candidates["rank"].to_list()[:1] == [0]
    assert detection.candidates.filter(pl.col("unit") == 0)["weight"].is_sorted(descending=True)


def test_cld2_detector():
    detection = Cld2Detector().detect([YORUBA, SWAHILI, "a \ud800 b", GOTHIC, ""])
    assert top(detection) == [(0, "yor"), (1, "swa"), (3, "got")]
    signal = detection.signal.to_list()
    assert signal[0] > math.log(300) and signal[2] is None and signal[4] is None
    assert detection.candidates.filter(pl.col("unit") == 3)["script"].to_list() == ["Goth"]


def test_fasttext_detector_reads_labels_as_iso_639_3():
    detector = load_detector("fasttext")
    detection = detector.detect([FRENCH, RUSSIAN, CHINESE])
    assert top(detection) == [(0, "fra"), (1, "rus"), (2, "zho")]
    assert detector.calibration_key == "fasttext:lid.176"
    assert "yor" in detector.languages and "zul" not in detector.languages  # lid.176 has no Zulu
    p = detection.candidates.filter((pl.col("unit") == 0) & (pl.col("rank") == 0))["weight"][0]
    assert detection.signal[0] == pytest.approx(math.log(p / (1 - p)), abs=1e-3)


def test_calibrations_are_measured_for_the_default_detectors():
    fitted = calibrations()
    for key in ("fasttext:lid.176", "cld2", "langid"):
        a, b = fitted[key]
        assert b > 0  # confidence grows with the signal
    assert calibration_of(load_detector("cld2")) == fitted["cld2"]


def test_another_fasttext_model_takes_its_probabilities_as_they_are():
    from pathlib import Path

    from curate.langid.detectors import load_fasttext

    model = Path(__file__).resolve().parent / "data" / "tiny-glotlid-style.ftz"
    detector = load_fasttext(str(model))
    assert detector.calibration_key == "fasttext" and calibration_of(detector) == IDENTITY
    assert ("srp", "Cyrl") in detector.labels.values() or ("ydd", "Hebr") in detector.labels.values()


def test_lingua_detector():
    pytest.importorskip("lingua")
    zulu = (
        "“Abesifazane abaningi bake baziyekelele imizimba yabo abanye bakhale ngokungabi naso isikhathi esanele "
        "sokuzivocavoca."
    )
    assert top(load_detector("lingua").detect([zulu, FRENCH])) == [(0, "zul"), (1, "fra")]


def test_heliport_detector():
    pytest.importorskip("heliport")  # GPL-3.0: never installed by curate, measured when a user installs it
    detection = load_detector("heliport").detect([YORUBA, FRENCH])
    assert top(detection) == [(0, "yor"), (1, "fra")]
    assert detection.signal.min() > 0  # the gap to the runner-up


def test_unknown_detector_name():
    with pytest.raises(ValueError, match="unknown detector 'cld3'"):
        load_detector("cld3")
