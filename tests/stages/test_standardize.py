import polars as pl
import pytest
from pydantic import ValidationError

from curate.stages.standardize import Standardize


def run(texts, langs=None, support=None, **params):
    frame = {"text": texts}
    if langs is not None:
        frame["text_lang"] = langs
        frame["text_lang_support"] = support or [0.9] * len(texts)
    return Standardize.from_dict(params).process(pl.DataFrame(frame, schema_overrides={"text": pl.String}))


def texts(result):
    return result.kept["text"].to_list()


# Sentences in 14 languages, the Greek, Chinese, Thai, Vietnamese, Russian and Hindi ones cut from XQuAD's Wikipedia
# paragraphs (shared/eval/dedup); bench/standardize.py measures the step on all of them.
REAL_DATES = {
    "deu": (
        "Das Musikinstrumente-Museum wurde am 25. Februar 2010 geschlossen.",
        "Das Musikinstrumente-Museum wurde am 2010-02-25 geschlossen.",
    ),
    "spa": (
        "La galería cerró el 25 de febrero de 2010, una decisión polémica.",
        "La galería cerró el 2010-02-25, una decisión polémica.",
    ),
    "rus": ("Тесла умер 7 января 1943 года. После его смерти", "Тесла умер 1943-01-07. После его смерти"),
    "ell": ("την 1η Αυγούστου 1963 για να αποτελέσει", "την 1963-08-01 για να αποτελέσει"),
    "arb": ("في 7 مارس 2024 بلغ عدد السكان", "في 2024-03-07 بلغ عدد السكان"),
    "heb": ("ב-7 במרץ 2024 נפתח המוזיאון", "ב-2024-03-07 נפתח המוזיאון"),
    "cmn": ("特斯拉于 1943 年 1 月 7 日去世。", "特斯拉于 1943-01-07去世。"),
    "jpn": ("2024年3月7日に開館した。", "2024-03-07に開館した。"),
    "tha": ("เทสลา เสียชีวิตในวันที่ 7 มกราคม ปี 1943  หลังจากที่", "เทสลา เสียชีวิตในวันที่ 1943-01-07  หลังจากที่"),
    "vie": ("Tesla qua đời vào ngày 7 tháng 1 năm 1943. Công trình", "Tesla qua đời vào ngày 1943-01-07. Công trình"),
    "kor": ("2024년 3월 7일에 문을 열었다.", "2024-03-07에 문을 열었다."),
    "hin": ("28 मई, 2012 को जैक्सनविल", "2012-05-28 को जैक्सनविल"),
    "tur": ("7 Mart 2024 tarihinde açıldı.", "2024-03-07 tarihinde açıldı."),
    "eng": (
        "On February 7, 2016, the game was played; on 7 February 2016 it ended.",
        "On 2016-02-07, the game was played; on 2016-02-07 it ended.",
    ),
}


@pytest.mark.parametrize("lang", sorted(REAL_DATES))
def test_dates_in_the_rows_language_become_iso(lang):
    text, expected = REAL_DATES[lang]
    result = run([text], [lang])
    assert texts(result) == [expected]
    assert result.stats[f"date:{lang}"] >= 1


def test_every_change_is_listed_with_offsets_into_the_new_text():
    result = run(["Am 7. März 2024 kostete es 1.234,50 Euro."], ["deu"], numbers="plain")
    assert texts(result) == ["Am 2024-03-07 kostete es 1234.50 Euro."]
    assert result.kept["text_standardized"].to_list() == [
        [
            {"kind": "date", "start": 3, "end": 13, "before": "7. März 2024", "after": "2024-03-07"},
            {"kind": "number", "start": 25, "end": 32, "before": "1.234,50", "after": "1234.50"},
        ]
    ]
    assert result.stats == {"date:deu": 1, "number:deu": 1, "rows_changed:text": 1}


def test_tag_only_lists_what_it_would_change():
    text = "Am 7. März 2024 kostete es 1.234,50 Euro."
    result = run([text, "nichts"], ["deu", "deu"], numbers="plain", action="tag")
    assert texts(result) == [text, "nichts"]
    assert result.kept["text_standardized"].to_list() == [
        [
            {"kind": "date", "start": 3, "end": 15, "before": "7. März 2024", "after": "2024-03-07"},
            {"kind": "number", "start": 27, "end": 35, "before": "1.234,50", "after": "1234.50"},
        ],
        [],
    ]


def test_ambiguous_numeric_dates_follow_the_locale_or_day_first_else_are_left_and_counted():
    text = "Signed 03/07/2024, filed 25/12/2024."
    assert texts(run([text], ["eng"])) == ["Signed 03/07/2024, filed 2024-12-25."]  # en_US and en_GB disagree
    assert run([text], ["eng"]).stats["left:date:ambiguous:eng"] == 1
    assert texts(run([text], ["eng"], locale="en_US")) == ["Signed 2024-03-07, filed 2024-12-25."]
    assert texts(run([text], ["eng"], locale="en_GB")) == ["Signed 2024-07-03, filed 2024-12-25."]
    assert texts(run([text], ["eng"], day_first=True)) == ["Signed 2024-07-03, filed 2024-12-25."]
    assert texts(run(["Am 03.07.2024"], ["deu"])) == ["Am 2024-07-03"]  # every German locale puts the day first
    assert texts(run(["2024/03/07 and 03/07/24"])) == ["2024-03-07 and 03/07/24"]  # year first; two-digit years stay


def test_a_language_not_known_well_enough_gets_only_what_needs_no_locale():
    result = run(["Le 7 mars 2024, 1 234,5 habitants, 03/07/2024"], ["fra"], support=[0.3], numbers="plain")
    assert texts(result) == ["Le 7 mars 2024, 1 234,5 habitants, 03/07/2024"]
    assert result.stats == {"left:number:no_locale:fra": 1, "left:date:ambiguous:fra": 1}


def test_output_pattern_and_years_outside_the_range():
    result = run(["7 มีนาคม 2567 และ 7 มีนาคม ค.ศ. 2024"], ["tha"], dates="DD/MM/YYYY")
    assert texts(result) == ["7 มีนาคม 2567 และ 07/03/2024"]  # 2567 is the Buddhist era: left
    assert result.stats["left:date:out_of_range:tha"] == 1
    assert texts(run(["March 7, 2024"], ["eng"], dates="M/D/YYYY")) == ["3/7/2024"]


@pytest.mark.parametrize(
    ("lang", "text", "plain", "english"),
    [
        ("deu", "1.234,5 Euro und 3,5 %", "1234.5 Euro und 3.5 %", "1,234.5 Euro und 3.5 %"),
        (
            "fra",
            "1 234,5 habitants et 3\u202f000 euros",
            "1234.5 habitants et 3000 euros",
            "1,234.5 habitants et 3,000 euros",
        ),
        ("eng", "1,234.5 people", "1234.5 people", "1,234.5 people"),
        ("hin", "12,34,567.89 रुपये", "1234567.89 रुपये", "1,234,567.89 रुपये"),
        ("rus", "1 234,5 и 3,14", "1234.5 и 3.14", "1,234.5 и 3.14"),
    ],
)
def test_numbers_are_read_in_the_rows_locale(lang, text, plain, english):
    assert texts(run([text], [lang], dates=None, numbers="plain")) == [plain]
    assert texts(run([text], [lang], dates=None, numbers="en")) == [english]


def test_indian_grouping_can_be_the_target():
    assert texts(run(["1,234,567.5 rupees"], ["eng"], dates=None, numbers="hi")) == ["12,34,567.5 rupees"]


def test_numbers_the_locale_does_not_read_are_left():
    result = run(["3,5 apples and 01,234"], ["eng"], dates=None, numbers="plain")
    assert texts(result) == ["3,5 apples and 01,234"]
    assert result.stats == {"left:number:unreadable:eng": 2}
    assert texts(run(["Python 3.10 ist da"], ["deu"], dates=None, numbers="plain")) == ["Python 3.10 ist da"]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("eng", "The Moon landing was in 1969 and 2024 is a leap year."),  # years
        ("eng", "Call +1 202-555-0143 or (202) 555-0143."),  # phone numbers
        ("fra", "Appelez le 01 23 45 67 89 ou le 06 12 34 56 78."),  # phone numbers in groups
        ("deu", "Rufnummer 030 123 456 789"),  # a valid German number
        ("eng", "Upgrade from v1.2.3 to 2.10.1 (Python 3.10, build 1.234.5)."),  # version strings
        ("spa", "DNI 12.345.678-Z y CPF 123.456.789-09"),  # IDs
        ("eng", "ISBN 978-3-16-148410-0, ICD-10 J45.909, ISO 9001:2015, A4, #1,234."),  # codes
        ("eng", "Server 192.168.1.1 at 12:30:45"),  # addresses and times
    ],
)
def test_codes_years_phones_versions_and_ids_are_never_touched(lang, text):
    result = run([text], [lang], numbers="en", units="metric")
    assert texts(result) == [text]
    assert result.kept["text_standardized"].to_list() == [[]]


def test_units_to_metric_keep_the_precision_of_the_original():
    text = "She is 5 ft 2 in (5'2\") tall, 98.6 °F, 150 lbs, 6 ft, 2.5 lb, -40 °F, 60 mph, 3 miles, 100 sq ft."
    expected = "She is 157 cm (157 cm) tall, 37.0 °C, 68 kg, 1.8 m, 1.1 kg, -40 °C, 97 km/h, 5 km, 9.3 m²."
    assert texts(run([text], ["eng"], dates=None, units="metric")) == [expected]


def test_units_are_left_in_words_in_ranges_and_when_their_size_depends_on_the_country():
    text = "five feet, 5-10 ft, 5 to 10 ft, 3 gallons, 2 pints, 5 pounds, 5 in the morning"
    result = run([text], ["eng"], dates=None, units="metric")
    assert texts(result) == [text]
    assert result.stats == {"left:unit:range:eng": 2}


def test_units_to_imperial_written_in_the_rows_decimal_convention():
    result = run(["Sie ist 1,57 m groß, bei 37,0 °C und 100 km/h."], ["deu"], dates=None, units="imperial")
    assert texts(result) == ["Sie ist 5,2 ft groß, bei 98,6 °F und 62 mph."]
    result = run(["Sie ist 1,57 m groß."], ["deu"], dates=None, units="imperial", numbers="plain")
    assert texts(result) == ["Sie ist 5.2 ft groß."]


def test_a_fixed_locale_and_a_language_column_of_your_own():
    frame = pl.DataFrame({"target": ["Le 7 mars 2024", "El 7 de marzo de 2024"], "tgt_lang": ["fra", "spa"]})
    step = Standardize.from_dict({"fields": ["target"], "lang_column": "tgt_lang"})
    assert step.process(frame).kept["target"].to_list() == ["Le 2024-03-07", "El 2024-03-07"]
    step = Standardize.from_dict({"fields": ["target"], "locale": "fr"})
    assert step.process(frame).kept["target"].to_list() == ["Le 2024-03-07", "El 7 de marzo de 2024"]


def test_nulls_and_rows_without_candidates_pass_unchanged():
    result = run([None, "no dates here", "12 apples"], ["eng", "eng", "eng"], numbers="plain", units="metric")
    assert texts(result) == [None, "no dates here", "12 apples"]
    assert result.kept["text_standardized"].to_list() == [None, [], []]
    assert result.rejected.height == 0


def test_card_and_notes_report_per_kind_and_language():
    stats = run(["Signed 03/07/2024 on March 7, 2024"], ["eng"]).stats
    params = {"dates": "iso", "action": "rewrite"}
    card = Standardize.card_section(params, stats)
    assert "| `eng` | 1 | 0 | 0 | 1 |" in card
    assert Standardize.notes(params, stats) == [
        "1 numeric dates were left as written because their order (day or month first) is not settled by the row's "
        "locale (`eng` 1); set `day_first`, or a regional `locale` such as en_GB or en_US, if you know it"
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dates": "YYYY/DD"}, "use `iso` or a pattern with YYYY"),
        ({"numbers": "xx_YY"}, "unknown locale 'xx_YY'"),
        ({"dates": None}, "nothing to standardise"),
        ({"units": "nautical"}, "Input should be 'metric' or 'imperial'"),
    ],
)
def test_config_errors(params, message):
    with pytest.raises(ValidationError, match=message):
        Standardize.from_dict(params)
