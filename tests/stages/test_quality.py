"""The `quality` step: every rule with its exact reason, on real text (XQuAD paragraphs, Tatoeba and Leipzig
sentences from shared/eval, copied here) in several scripts, and bad cases built from it."""

import polars as pl
import pytest

from curate.stages.quality import Quality, reasons

pytest.importorskip("stopwordsiso")
pytest.importorskip("langcodes")

# One XQuAD paragraph (shared/eval/dedup/xquad_paragraphs.jsonl, parallel group xquad:25) in eight languages.
PARAGRAPHS = {
    "en": (
        "In past times, corporal punishment (spanking or paddling or caning or strapping or birching the student "
        "in order to cause physical pain) was one of the most common forms of school discipline throughout much "
        "of the world. Most Western countries, and some others, have now banned it, but it remains lawful in the "
        "United States following a US Supreme Court decision in 1977 which held that paddling did not violate "
        "the US Constitution."
    ),
    "ar": (
        "في الماضي، كان العقاب البدني (أي صفعِ الطالب أو ضربه بالعصا أو تكبيله أو جَلدِه لإيلامه) أحد أكثر أشكال "
        "التهذيب المدرسي شيوعا في كثير من أنحاء العالم. وقد قامت أكثر البلدان الغربية اليوم بتحجيره، لكنه بقي "
        "قانونيًا في الولايات المتحدة استنادا على المحكمة العليا الأمريكية سنة 1977 جاء فيه أن الضرب بالعصا لا "
        "يخالف الدستور الأمريكي."
    ),
    "el": (
        "Σε προηγούμενες εποχές, η σωματική τιμωρία (χτυπώντας ή δέρνοντας ή το χτύπημα με βίτσα ή με βούρδουλα "
        "ή με βέργα, τον μαθητή για να προκληθεί σωματικός πόνος) ήταν ένας από τους πιο κοινούς τρόπους "
        "σχολικής πειθαρχίας σε ολόκληρο τον κόσμο. Οι περισσότερες δυτικές χώρες, και μερικές άλλες, έχουν τώρα "
        "πια απαγορεύσει αυτή τη μέθοδο, η οποία όμως συνεχίζει να είναι νόμιμη στις Ηνωμένες Πολιτείες "
        "ακολουθώντας μία απόφαση του Ανώτατου Δικαστηρίου των ΗΠΑ από το 1977, το οποίο έκρινε ότι το ξύλο δεν "
        "παραβιάζει το Σύνταγμα των ΗΠΑ."
    ),
    "hi": (
        "प्राचीन काल में शारीरिक दंड (पिटाई या डंडे से पिटाई या बेंत से पिटाई या चाबुक से पिटाई या संटी से पिटाई "
        "जिससे विद्यार्थियों को शारीरिक पीड़ा हो) पूरे विश्व के अधिकांश भागों में विद्यालयी अनुशासन का सर्वाधिक "
        "प्रचलित रूप था। अधिकांश पश्चिमी देशों, और कुछ अन्य देशों ने, अब इसे प्रतिबंधित कर दिया है, लेकिन यह, "
        "अमेरिकी सर्वोच्च न्यायालय के 1977 के एक निर्णय अनुसार डंडे से पिटाई अमेरिकी संविधान का उल्लंघन नहीं "
        "करता है, के अनुपालन में अमेरिका में अभी भी विधिक रूप से वैध है।"
    ),
    "ru": (
        "В прошлые времена телесные наказания (шлепки, шлепки лопаткой, удары тростью, сечение розгами с целью "
        "причинить физическую боль) были одной из самых распространенных форм дисциплинарного взыскания в "
        "большинстве школ мира. В большинстве западных стран и в некоторых других телесные наказания теперь "
        "запрещены, однако они остаются законными в США, согласно решению Верховного суда США от 1977 года, в "
        "соответствии с которым шлепанье лопаткой не нарушает конституцию США."
    ),
    "th": (
        "ในอดีต การลงโทษทางร่างกาย (การตีหรือฟาดหรือตีด้วยไม้เท้าหรือตีด้วยเข็มขัดหรือการเฆี่ยนด้วยไม้เรียวใส่นัก"
        "เรียนเพื่อทำให้เกิด ความเจ็บปวดทางร่างกาย) เคย เป็นหนึ่งในรูปแบบการฝึกของโรงเรียนที่พบได้บ่อยที่สุด "
        "เกือบทั่วโลก ประเทศตะวันตกเกือบทุกประเทศ และบางประเทศในตอนนี้ได้แบนการกระทำนี้ แต่ยังคงถูกกฏหมายใน "
        "สหรัฐ ตามการตัดสินของ ศาลฎีกาของสหรัฐอเมริกา ในปี 1977 ซึ่งถือว่าการตีไม่ได้ละเมิดรัฐธรรมนูญสหรัฐ"
    ),
    "vi": (
        "Trong thời gian qua, trừng phạt thân thể (đánh vào mông bằng gỗ dẹt hoặc roi mây hoặc roi da hoặc roi "
        "bạch đàn để gây ra nỗi đau thể xác) là một trong những hình thức kỷ luật phổ biến nhất của nhà trường ở "
        "phần lớn trên thế giới. Hầu hết các nước phương Tây và một số quốc gia khác hiện đã cấm trừng phạt thân "
        "thể, nhưng điều này vẫn còn hợp pháp ở Hoa Kỳ sau phán quyết của Tòa án Tối cao Hoa Kỳ năm 1977, tuyên "
        "bố rằng đánh vào mông bằng gỗ dẹt không vi phạm Hiến pháp Hoa Kỳ."
    ),
    "zh": (
        "过去，体罚（对学生打屁股、拍打、鞭打、捆扎或者抽打学生以造成 生理疼痛）是世界上很多地区 最常见 "
        "的课堂纪律之一。 大部分西方国家，以及其他一些国家现在已经禁止了这种行为，但是在1977年 美国最高法院 "
        "做出一项裁决认为拍打并不违反美国宪法之后，在 美国 这种行为依然是合法的。"
    ),
}

# Real short sentences (Tatoeba and Leipzig, shared/eval/lid/lid.jsonl and parallel/), some of which would break a
# document rule if those applied to sentences: a trailing ellipsis, a bullet, a repeated phrase, no stop word.
SENTENCES = [
    ("eng", "A disciple can be forgiven if he does not have great mental ability."),
    ("eng", "I don't know what to say..."),
    ("ara", "• ابتكار طرق جديدة: لكُلّ شحنة من زيت الزيتون يكتب عليها آلياً عن العناصر المعيّنة التي تُعيين نوعيتها."),
    ("cmn", "他不喜欢我们。"),
    ("tha", "ฯ เป็นประธานเปิด การฝึกอบรมการรักษาความปลอดภัยขั้นพื้นฐาน รอง ผอ."),
    ("rus", "Но поля боя мы не сдали, А только крепче зубы сжали, Надеясь на первач."),
    ("hin", "November 20, 2008 at 11:10 PM सर,आप चिंता ना करें,कालूसिद्ध बाबा सब ठीक करेंगे."),
    ("kor", "자산을 불리는 것도 중요하지만 30대에 모은 자산을 지키기 위해서도 노력해야 하기 때문이다."),
    ("ell", "«Αστεράτος» στις μεταγραφές!"),
    (
        "khm",
        "សិស្ស\u200bនៅ\u200bតែ\u200b\u200bអាច\u200bទទួល\u200bបាន\u200bនូវ\u200bការ\u200bអត់ទោស\u200b\u200b\u200bបើ\u200bទោះ\u200bជា\u200bគេ\u200bមិន\u200bមាន\u200bសមត្ថភាព\u200bខ្លាំង\u200bក្លា\u200bខាង\u200bប្រាជ្ញា\u200bក៏\u200bដោយ។",
    ),
    ("mya", "ခါလီဖာ မိုးမျှော်တိုက် အဆောက်အဦသည် ယခုအချိန်တွင် ကမ္ဘာ့အမြင့်ဆုံးမိုးမျော်တိုက်ဖြစ်သည်။"),
    ("swh", "Tom alisema kwamba hakuwa na uhakika."),
]


def _frame(rows: list[tuple[str | None, str]], field: str = "text") -> pl.DataFrame:
    return pl.DataFrame(
        {field: [t for _, t in rows], f"{field}_lang": [lang for lang, _ in rows]},
        schema={field: pl.String, f"{field}_lang": pl.String},
    )


def _reasons(rows: list[tuple[str | None, str]], **config) -> list[str | None]:
    """The reason each row gets (None: kept), in input order."""
    frame = _frame(rows).with_row_index("i")
    result = Quality.from_dict(config).process(frame)
    got = dict(zip(result.rejected["i"].to_list(), result.rejected["_reason"].to_list()))
    return [got.get(i) for i in range(frame.height)]


def _sentences(text: str) -> list[str]:
    """A paragraph's sentences (split after . । 。)."""
    import re

    return [s.strip() for s in re.split(r"(?<=[.।。])\s*", text) if s.strip()]


# clean text ---------------------------------------------------------------------------------------------------------
def test_clean_paragraphs_pass_with_and_without_language():
    rows = list(PARAGRAPHS.items())
    assert _reasons(rows) == [None] * len(rows)
    assert _reasons([(None, t) for _, t in rows]) == [None] * len(rows)


def test_short_sentences_are_not_judged_as_documents():
    assert _reasons(SENTENCES) == [None] * len(SENTENCES)


def test_reasons_are_listed_in_rule_order():
    assert reasons() == [
        "quality:short_doc",
        "quality:long_doc",
        "quality:mean_word_length",
        "quality:symbol_ratio",
        "quality:digit_ratio",
        "quality:duplicate_paragraphs",
        "quality:duplicate_lines",
        "quality:repetition",
        "quality:punctuation_endings",
        "quality:stop_words",
        "quality:bullets",
        "quality:ellipsis",
    ]


# each rule, with its exact reason -----------------------------------------------------------------------------------
def test_short_and_long_documents():
    rows = [("eng", SENTENCES[0][1]), ("cmn", "他不喜欢我们。"), ("en", PARAGRAPHS["en"]), ("zh", PARAGRAPHS["zh"])]
    # 13 words; 6 words (one per Han character); 73 words; 117 words
    assert _reasons(rows, min_words=50, max_words=100) == [
        "quality:short_doc",
        "quality:short_doc",
        None,
        "quality:long_doc",
    ]


def test_mean_word_length():
    words = PARAGRAPHS["en"].split()
    clipped = " ".join(w[:2] for w in words)  # "In pa ti, co pu (s..."
    glued = " ".join("".join(words[i : i + 3]) for i in range(0, len(words), 3)) * 3  # words glued in threes
    ru_glued = " ".join("".join(p) for p in zip(*[iter(PARAGRAPHS["ru"].split())] * 3)) * 3
    rows = [("en", clipped), ("en", glued), ("ru", ru_glued), ("th", PARAGRAPHS["th"]), ("zh", PARAGRAPHS["zh"])]
    # Thai and Chinese have no space-delimited words to measure
    assert _reasons(rows) == ["quality:mean_word_length"] * 3 + [None, None]


def test_symbol_and_digit_ratios():
    rows = [
        ("rus", "Отличный товар ★★★★★ ♥♥♥ #лучший #скидки"),
        ("ara", "السلطات الليبية استطاعت مواجهة جميع هذه الحركات والقضاء عليها. 🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥"),
        ("kor", "입력: 2007년 12월 24일 18:45:50"),  # a news dateline (lid.jsonl): 14 of 22 characters are digits
        ("ell", "2.700 άνθρωποι αμείβονταν όσο 10.000 στον ιδιωτικό τομέα και απέδιδαν όσο 200."),
        ("eng", "★★★★★"),  # too short to judge by a ratio
    ]
    assert _reasons(rows) == ["quality:symbol_ratio", "quality:symbol_ratio", "quality:digit_ratio", None, None]


def test_duplicate_lines_and_paragraphs():
    ar = _sentences(PARAGRAPHS["ar"])
    hi = _sentences(PARAGRAPHS["hi"])
    repeated_lines = "\n".join(ar + ar[:1] * 2)  # a line that comes back twice
    repeated_paragraph = "\n\n".join([PARAGRAPHS["ru"], PARAGRAPHS["en"], PARAGRAPHS["ru"]])
    two_line_paragraphs = "\n\n".join(["\n".join(hi), PARAGRAPHS["en"], "\n".join(hi)])
    rows = [("ar", repeated_lines), ("ru", repeated_paragraph), ("hi", two_line_paragraphs), ("ar", "\n".join(ar))]
    assert _reasons(rows) == [
        "quality:duplicate_lines",
        "quality:duplicate_paragraphs",
        "quality:duplicate_paragraphs",
        None,
    ]


def test_repetition_of_ngrams():
    zh_phrase = "但是在1977年美国最高法院做出一项裁决认为拍打并不违反美国宪法之后"
    rows = [
        ("en", PARAGRAPHS["en"] + " " + " ".join(["the US Supreme Court decision in 1977"] * 4)),
        ("zh", PARAGRAPHS["zh"] + zh_phrase * 2),
        ("hi", " ".join(["शारीरिक दंड"] * 40)),
        ("th", PARAGRAPHS["th"] + " " + " ".join(["ศาลฎีกาของสหรัฐอเมริกา ในปี 1977"] * 8)),
        ("zh", PARAGRAPHS["zh"]),
    ]
    assert _reasons(rows) == ["quality:repetition"] * 4 + [None]


def test_punctuation_endings():
    words = PARAGRAPHS["ru"].replace(".", "").replace(",", "").split()
    menu = "\n".join(" ".join(words[i : i + 5]) for i in range(0, len(words), 5))  # lines without an end
    thai = "\n".join(PARAGRAPHS["th"].split(" "))  # Thai lines end without a mark: that is not a missing end
    hindi = "\n".join(_sentences(PARAGRAPHS["hi"]))  # lines ending in a danda
    assert _reasons([("ru", menu), ("th", thai), ("hi", hindi)]) == ["quality:punctuation_endings", None, None]
    # Armenian is typed with `:` for its full stop and Greek asks with `;`: ends of sentences in those scripts only
    armenian = "Ես սիրում եմ քեզ:\nՆա գնաց տուն:\nԱյսօր եղանակը լավ է:"
    greek = "Τι κάνεις;\nΠού πας;\nΕίμαι καλά."
    latin = "What is this;\nSee below;\nAnd so on;"
    assert _reasons([(None, armenian), (None, greek), (None, latin)]) == [None, None, "quality:punctuation_endings"]
    # Line shares apply to any text of 3 lines or more, however short: a web page's menu around one sentence
    page = (
        "Home\nAbout us\nContact\nMenu\nThe museum opens at nine.\nShare on Facebook\nLogin | Register\nTweet\n"
        "Back to top"
    )  # 1 line of 9 ends a sentence: 0.11 < 0.12
    assert _reasons([(None, page), (None, page.replace("\n", " "))]) == ["quality:punctuation_endings", None]
    # Lojban marks sentences with `.i` at their start: no end marks to count, once its language is known
    lojban = "ko cliva lo zdani be mi\nmi pu cirko lo mi ckiku\nko ze'i denpa\nle dinju cu barda"
    assert _reasons([("jbo", lojban), (None, lojban)]) == [None, "quality:punctuation_endings"]


def test_stop_words_need_the_language():
    rows = [
        ("fi", PARAGRAPHS["en"]),
        (None, PARAGRAPHS["ru"]),
        ("en", PARAGRAPHS["ru"]),
        ("gd", PARAGRAPHS["en"]),
        ("el", PARAGRAPHS["el"]),
        ("ku", PARAGRAPHS["en"]),
        ("fa", PARAGRAPHS["ar"]),
    ]
    # English labelled Finnish has none of Finnish's stop words. No language, or no list (Scottish Gaelic): no rule.
    # A list is evidence only about text in its own script: the Latin English list says nothing about Russian, and
    # stopwords-iso's Kurdish list (Sorani, Arabic script) nothing about Latin text (Kurmanji is written in Latin).
    # The Persian list (Arabic script) does judge Arabic text labelled Persian, and finds too few of its words.
    assert _reasons(rows) == ["quality:stop_words", None, None, None, None, None, "quality:stop_words"]


def test_language_rules_need_a_language_known_well_enough():
    """With `{lang}_support` from langid, language-specific rules judge only rows whose language every detector that
    knows it confirmed (support >= 0.5); the others are judged by the universal rules, and the card says which."""
    frame = pl.DataFrame(
        {
            "text": [PARAGRAPHS["en"]] * 3,
            "text_lang": ["fin", "fin", "und"],
            "text_lang_support": [0.9, 0.3, 0.0],
        }
    )
    step = Quality.from_dict({})
    result = step.process(frame)
    assert result.rejected["_reason"].to_list() == ["quality:stop_words"]
    assert result.kept["text_lang_support"].to_list() == [0.3, 0.0]
    assert result.stats["unsure_language:fin"] == 1
    # the same row, the limit lowered: 0.3 is enough
    assert Quality.from_dict({"language_min_support": 0.2}).process(frame).rejected.height == 2
    section = Quality.card_section({"language_min_support": 0.5}, result.stats)
    assert "| `fin` | 1 | 0 |" in section


def test_bullets_and_ellipsis():
    en = _sentences(PARAGRAPHS["en"])
    ru = _sentences(PARAGRAPHS["ru"])
    bullets = "\n".join(f"• {s}" for s in en + ru)
    dashes = "\n".join(f"- {s}" for s in en + ru)
    dialogue = "\n".join(f"— {s}" for s in ru + en)  # dialogue dashes are not bullets
    trailing = "\n".join(s.rstrip(".") + "..." for s in en + ru)
    rows = [("en", bullets), ("en", dashes), ("ru", dialogue), ("en", trailing)]
    assert _reasons(rows, max_duplicate_lines=None, max_duplicate_line_chars=None) == [
        "quality:bullets",
        "quality:bullets",
        None,
        "quality:ellipsis",
    ]


def test_first_rule_wins_and_detail_names_the_score():
    text = "\n".join([PARAGRAPHS["en"]] * 3)  # duplicate lines and repeated n-grams
    result = Quality.from_dict({}).process(_frame([("en", text)]))
    assert result.rejected.select("_reason", "_detail").row(0) == (
        "quality:duplicate_lines",
        "duplicate_lines=0.6667 (max 0.3)",
    )
    assert result.kept.height == 0


# tag mode ---------------------------------------------------------------------------------------------------------
def test_tag_keeps_every_row_and_writes_scores_and_flags():
    text = "\n".join([PARAGRAPHS["en"]] * 3)
    rows = [("en", text), ("ru", PARAGRAPHS["ru"]), ("eng", "I don't know what to say...")]
    step = Quality.from_dict({"action": "tag"})
    result = step.process(_frame(rows))
    kept = result.kept
    assert kept.height == 3 and result.rejected.height == 0
    assert kept["text_quality_flags"].to_list() == [["quality:duplicate_lines", "quality:repetition"], [], []]
    assert set(step.produces()) <= set(kept.columns)
    assert kept["text_quality_duplicate_lines"].to_list() == pytest.approx([2 / 3, 0, 0])
    assert kept["text_quality_words"].to_list() == [219, 65, 6]
    assert kept["text_quality_ellipsis"].to_list() == [0, 0, 1.0]  # scored, though too short for the rule
    assert result.stats == {"flagged:quality:duplicate_lines": 1, "flagged:quality:repetition": 1}


def test_tag_scores_allow_rethresholding_without_recomputing():
    rows = [(lang, text) for lang, text in PARAGRAPHS.items()]
    tagged = Quality.from_dict({"action": "tag"}).process(_frame(rows)).kept
    stricter = tagged.filter(pl.col("text_quality_top_2gram") <= 0.05)["text_lang"].to_list()
    dropped = _reasons(rows, max_top_ngram={2: 0.05, 3: None, 4: None}, max_duplicate_ngram={})
    assert stricter == [lang for (lang, _), reason in zip(rows, dropped) if reason is None]
    assert 0 < len(stricter) < len(rows)


def test_tag_of_a_field_missing_from_the_batch():
    frame = pl.DataFrame({"text": ["Tom alisema kwamba hakuwa na uhakika."]})
    kept = Quality.from_dict({"field": "target", "action": "tag"}).process(frame).kept
    assert kept["target_quality_words"].to_list() == [None] and kept["target_quality_flags"].to_list() == [[]]


# languages ----------------------------------------------------------------------------------------------------------
def test_per_language_overrides_accept_iso_639_1_and_3():
    repeated = " ".join(["अमेरिका में अभी भी वैध है"] * 10)
    rows = [("hin", repeated), ("hi", repeated), ("rus", " ".join(["телесные наказания"] * 40)), (None, repeated)]
    config = {"per_language": {"hin": {"max_top_ngram": None, "max_duplicate_ngram": None}}}
    # the Hindi override applies to `hin` and `hi` rows; Russian and rows without a language keep the defaults
    assert _reasons(rows, **config) == [None, None, "quality:repetition", "quality:repetition"]


def test_per_language_override_of_one_limit_and_of_a_gate():
    sentences = [("fra", "Tout ce que tu dois faire est d'appuyer sur ce bouton rouge."), ("eng", SENTENCES[0][1])]
    # French sentences judged as documents from 5 words, with 20 stop words required
    config = {"per_language": {"fr": {"doc_min_words": 5, "min_stop_words": 20}}}
    assert _reasons(sentences, **config) == ["quality:stop_words", None]


def test_built_in_defaults_for_syllable_languages():
    # Vietnamese and Chinese tokens are syllables and characters: the recipe's own limit, when set, wins
    vi = (
        "Các đội thể thao chuyên nghiệp ở Nam California bao gồm các đội từ NFL (Los Angeles Rams, San Diego "
        "Chargeers); NBA (Los Angeles Lakers, Los Angeles Clippers); MLB (Los Angeles Dodgers, Los Angeles Angels of "
        "Anaheim, San Diego Padres); NHL (Los Angeles Kings, Anaheim Ducks); và MLS (LA Galaxy)."
    )
    assert _reasons([("vi", vi), (None, vi)]) == [None, "quality:repetition"]
    assert _reasons([("vi", vi)], max_top_ngram={2: 0.2}) == ["quality:repetition"]
    # Chinese tokens are characters because of the script: Han text gets Chinese's limits even with no language
    # (an XQuAD paragraph: 机场, 最繁忙的 and 按客流量 repeat, which Gopher's word limits would count as junk)
    zh = (
        "南加州是 洛杉矶国际机场 的所在地，按 客流量 它是美国第二繁忙的机场（见“按客流量全球最繁忙的机场”），按国际客流量它则"
        "排 第三 （见“按国际客流量计算美国最繁忙的机场”）； 圣迭戈国际机场 ，世界上最繁忙的单跑道机场； 范内斯机场 ，世界上最繁忙的"
        "通用航空机场；橙县、贝克斯菲尔德、安大略、伯班克和长滩的主要商业机场；以及许多较小的商业和通用航空机场。"
    )
    assert _reasons([("zh", zh), (None, zh)]) == [None, None]
    gopher = {"zh": {"max_top_ngram": {2: 0.2, 3: 0.18, 4: 0.16}, "max_duplicate_ngram": {5: 0.15, 6: 0.14}}}
    assert _reasons([(None, zh)], per_language=gopher) == ["quality:repetition"]


def test_invalid_language_keys_are_config_errors():
    with pytest.raises(ValueError, match="unknown language code 'xx1'"):
        Quality.from_dict({"per_language": {"xx1": {"min_stop_words": 1}}})
    with pytest.raises(ValueError, match="'fra' names the same language as another key"):
        Quality.from_dict({"per_language": {"fr": {}, "fra": {}}})
    with pytest.raises(ValueError, match="n-gram sizes must be between 2 and 20"):
        Quality.from_dict({"max_top_ngram": {1: 0.2}})
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        Quality.from_dict({"per_language": {"fr": {"min_stopwords": 1}}})


# through the CLI ----------------------------------------------------------------------------------------------------
def test_recipe_run_writes_rejects_with_reasons_and_tags(tmp_path, cli):
    from tests.conftest import write_jsonl, write_recipe

    records = [{"src": s, "tgt": PARAGRAPHS["ru"], "tgt_lang": "rus"} for _, s in SENTENCES[:3]]
    records.append({"src": "\n".join([PARAGRAPHS["en"]] * 3), "tgt": PARAGRAPHS["ru"], "tgt_lang": "rus"})
    write_jsonl(tmp_path / "data" / "pairs.jsonl", records)
    recipe = write_recipe(
        tmp_path / "r.yaml",
        f"""
name: q
sources:
  - path: {tmp_path}/data/pairs.jsonl
    columns: {{text: src, target: tgt, target_lang: tgt_lang}}
steps:
  - quality: {{field: text}}
  - quality: {{field: target, action: tag, per_language: {{rus: {{min_stop_words: 100}}}}}}
output:
  dir: {tmp_path}/out
  splits: {{train: 1.0}}
""",
    )
    result = cli("run", str(recipe))
    assert result.code == 0, result
    rejects = pl.read_parquet(tmp_path / "out" / "rejects" / "*.parquet")
    assert rejects.select("_step", "_reason").rows() == [("quality", "quality:duplicate_lines")]
    data = pl.read_parquet(tmp_path / "out" / "data" / "*.parquet").sort("_row")
    assert data["target_quality_flags"].to_list() == [["quality:stop_words"]] * 3


def test_recipe_with_an_unknown_language_is_rejected_before_work(tmp_path, cli):
    from tests.conftest import write_jsonl, write_recipe

    write_jsonl(tmp_path / "a.jsonl", [{"text": "Hello there."}])
    recipe = write_recipe(
        tmp_path / "r.yaml",
        f"""
name: q
sources:
  - path: {tmp_path}/a.jsonl
steps:
  - quality: {{per_language: {{xx1: {{min_stop_words: 1}}}}}}
output:
  dir: {tmp_path}/out
""",
    )
    result = cli("run", str(recipe))
    assert result.code == 2
    assert "unknown language code 'xx1'" in result.err + result.out


def test_limits_broadcast_to_the_batch_without_a_language_column():
    """With no language column every limit is the same for all rows: it must still apply to each of them."""
    frame = pl.DataFrame({"_id": ["a", "b", "c"], "text": ["one two three four", "x y", "hello there friend"]})
    result = Quality.from_dict({"field": "text"}).process(frame)
    assert result.kept["_id"].to_list() == ["a", "b", "c"] and result.rejected.height == 0
