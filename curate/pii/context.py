"""Words that say a number nearby is a phone number, per language (ISO 639-1).

The nouns are CLDR's short names and keywords of the emoji ☎ (telephone), 📞 (telephone receiver), 📱 (mobile phone)
and 📠 (fax machine) in each language, with the abbreviations and verbs ("Tel.", "call", "appelez") that go in
front of a number in that language. A trailing `*` marks a stem that may be continued ("Telefonnummer",
"téléphonez"); other words must stand alone ("tel" must not match "tell"). Words in scripts without spaces, and in
Arabic and Hebrew, where prefixes attach to the word, are matched anywhere.
"""

from __future__ import annotations

import re
from functools import lru_cache

# fmt: off
PHONE_WORDS: dict[str, tuple[str, ...]] = {
    "": ("tel", "tel.", "phone*", "mobile", "fax", "sms", "whatsapp", "viber", "gsm", "hotline"),  # in every language
    "en": ("telephone*", "phone*", "ph", "mob", "cell", "cellphone*", "call", "calls", "called", "calling", "ring",
           "text me", "reach me", "reach us", "dial", "landline*", "helpline*", "contact"),
    "fr": ("téléphone*", "tél", "portable", "appel*", "appelez", "appeler", "joindre", "télécopie*", "cellulaire",
           "contact*"),
    "de": ("telefon*", "handy*", "mobil*", "rufnummer*", "anruf*", "rufen", "erreichbar*", "durchwahl*", "festnetz*",
           "kontakt*"),
    "es": ("teléfono*", "telefono*", "tlf", "tfno", "móvil*", "movil*", "celular*", "llam*", "lláma*", "contacto*"),
    "pt": ("telefone*", "telemóvel*", "celular*", "ligar", "ligue", "liga", "contato*", "contacto*"),
    "it": ("telefono*", "cellulare*", "cell", "chiam*", "contatt*", "recapito*"),
    "nl": ("telefoon*", "mobiel*", "bellen", "bel", "contact*"),
    "sv": ("telefon*", "mobil*", "ring", "ringa", "kontakt*"),
    "da": ("telefon*", "tlf", "mobil*", "ring", "ringe", "kontakt*"),
    "nb": ("telefon*", "tlf", "mobil*", "ring", "ringe", "kontakt*"),
    "nn": ("telefon*", "tlf", "mobil*", "ring", "ringje", "kontakt*"),
    "fi": ("puhelin*", "puh", "matkapuhelin*", "soita", "faksi*", "yhteystie*"),
    "is": ("sími*", "símanúmer*", "farsími*", "hringdu", "hringja"),
    "pl": ("telefon*", "kom", "komórk*", "zadzwoń", "dzwoń", "faks*", "kontakt*"),
    "cs": ("telefon*", "mobil*", "volejte", "zavolejte", "kontakt*"),
    "sk": ("telefón*", "mobil*", "volajte", "zavolajte", "kontakt*"),
    "sl": ("telefon*", "mobi*", "pokličite", "pokliči"),
    "hr": ("telefon*", "mob", "mobitel*", "nazovite", "nazovi", "faks*"),
    "bs": ("telefon*", "mob", "mobitel*", "nazovite", "nazovi", "faks*"),
    "sr": ("телефон*", "тел", "моб", "мобилни", "позовите", "telefon*", "mobilni", "pozovite"),
    "hu": ("telefon*", "mobil*", "hívj*", "hívjon", "hívás*"),
    "ro": ("telefon*", "mobil*", "sunați", "sună", "contact*"),
    "bg": ("телефон*", "тел", "мобилен*", "обадете"),
    "mk": ("телефон*", "тел", "мобилен*", "јавете"),
    "ru": ("телефон*", "тел", "моб", "мобильн*", "сотов*", "звоните", "позвоните", "звонить", "факс*"),
    "uk": ("телефон*", "тел", "моб", "мобільн*", "телефонуйте", "дзвоніть", "зателефонуйте", "факс*"),
    "be": ("тэлефон*", "тэл", "моб", "мабільн*", "тэлефануйце"),
    "el": ("τηλέφωνο*", "τηλ", "κινητό*", "καλέστε", "φαξ"),
    "tr": ("telefon*", "cep", "ara", "arayın", "arayin", "faks*"),
    "lt": ("telefon*", "mob", "skambink*"),
    "lv": ("tālrun*", "mob", "zvaniet", "zvani"),
    "et": ("telefon*", "mob", "helista*"),
    "ca": ("telèfon*", "mòbil*", "truca*"),
    "eu": ("telefono*", "deitu"),
    "gl": ("teléfono*", "móbil*", "chama*"),
    "ga": ("guthán*", "fón*"),
    "cy": ("ffôn", "ffonio", "rhif ffôn"),
    "af": ("telefoon*", "selfoon*", "sel", "bel"),
    "sq": ("telefon*", "cel", "celular*"),
    "az": ("telefon*", "mob", "zəng"),
    "kk": ("телефон*", "тел", "ұялы"),
    "uz": ("telefon*", "qo'ng'iroq"),
    "ka": ("ტელეფონ*", "ტელ", "მობილურ*"),
    "hy": ("հեռախոս*", "հեռ"),
    "mn": ("утас*",),
    "ar": ("هاتف", "تلفون", "تليفون", "جوال", "موبايل", "اتصل", "فاكس"),
    "fa": ("تلفن", "تماس", "موبایل", "همراه", "فکس"),
    "ur": ("فون", "موبائل", "ٹیلیفون", "رابطہ"),
    "he": ("טלפון", "טל", "נייד", "פקס", "התקשר"),
    "hi": ("फ़ोन", "फोन", "टेलीफोन", "मोबाइल", "कॉल", "संपर्क", "दूरभाष"),
    "mr": ("फोन", "दूरध्वनी", "मोबाईल", "संपर्क"),
    "ne": ("फोन", "फ़ोन", "मोबाइल", "सम्पर्क"),
    "bn": ("ফোন", "মোবাইল", "টেলিফোন", "যোগাযোগ"),
    "pa": ("ਫ਼ੋਨ", "ਫੋਨ", "ਮੋਬਾਈਲ"),
    "gu": ("ફોન", "મોબાઇલ"),
    "ta": ("தொலைபேசி", "கைபேசி", "அலைபேசி"),
    "te": ("ఫోన్", "ఫోను", "మొబైల్"),
    "kn": ("ಫೋನ್", "ದೂರವಾಣಿ", "ಮೊಬೈಲ್"),
    "ml": ("ഫോൺ", "മൊബൈൽ", "ടെലിഫോൺ"),
    "si": ("දුරකථන",),
    "th": ("โทร", "มือถือ", "แฟกซ์"),
    "lo": ("ໂທ",),
    "km": ("ទូរស័ព្ទ",),
    "my": ("ဖုန်း",),
    "vi": ("điện thoại", "đt", "sđt", "di động", "gọi", "liên hệ"),
    "id": ("telepon", "telp", "hp", "ponsel", "hubungi", "faks*"),
    "ms": ("telefon*", "tel", "h/p", "hubungi", "panggil", "faks*"),
    "fil": ("telepono*", "cp", "tawag*", "tumawag"),
    "sw": ("simu", "rununu"),
    "am": ("ስልክ",),
    "zh": ("电话", "電話", "手机", "手機", "联系", "聯繫", "致电", "致電", "传真", "傳真", "座机", "热线", "熱線"),
    "ja": ("電話", "携帯", "連絡", "ファックス", "ＴＥＬ", "ＦＡＸ"),
    "ko": ("전화", "휴대폰", "핸드폰", "연락처", "팩스"),
}
# fmt: on

# Scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, kana, Han, Hangul, full-width forms): a
# word in them is found inside longer runs of letters. So are Hebrew and Arabic phone words, to which prepositions
# and articles attach ("بالهاتف").
_UNSPACED = re.compile(r"[\u0E00-\u0EFF\u1000-\u109F\u1780-\u17FF\u2E80-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF\uFF00-\uFFEF]")
_CLITICS = re.compile(r"[\u0590-\u06FF]")


def unspaced(word: str) -> bool:
    """Is the word written in a script without spaces between words?"""
    return _UNSPACED.search(word) is not None


def _word_pattern(word: str) -> str:
    if unspaced(word) or _CLITICS.search(word):
        return re.escape(word)
    stem = word.endswith("*")
    body = re.escape(word.rstrip("*")).replace(r"\ ", r"\s+")
    return rf"(?<!\w){body}" + ("" if stem else r"(?!\w)")


@lru_cache(maxsize=256)
def phone_context(language: str | None) -> re.Pattern[str]:
    """The context words of a language (ISO 639-1), plus those used in every language; every language's words
    when the language is unknown or has no list."""
    words = PHONE_WORDS.get(language or "")
    chosen = PHONE_WORDS[""] + words if words and language else tuple(w for ws in PHONE_WORDS.values() for w in ws)
    return re.compile("|".join(_word_pattern(w) for w in dict.fromkeys(chosen)), re.IGNORECASE)
