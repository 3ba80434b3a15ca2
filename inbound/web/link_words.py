"""The words of the consent-link page (issue #30), Turkish first, English second; folded
into the message catalogue (``inbound/web/catalogue.py``) under ``link.`` (the SMS text,
Turkish only, stays here)."""

from __future__ import annotations

from inbound.web import catalogue

WORDS: dict[str, tuple[str, str]] = {
    "title": ("İleti tercihiniz", "Your message preference"),
    "lang_switch": ("English", "Türkçe"),
    "number": ("Numara", "Number"),
    "ret_lead": ("{brand} markasından {types} yoluyla ticari ileti almak istemiyorsanız "
                 "aşağıdaki düğmeye dokunun.",
                 "If you no longer want commercial messages from {brand} by {types}, tap "
                 "the button below."),
    "onay_lead": ("{brand} markasından {types} yoluyla kampanya ve bilgilendirme iletileri "
                  "almayı kabul ediyorsanız aşağıdaki düğmeye dokunun.",
                  "If you agree to receive campaign and information messages from {brand} "
                  "by {types}, tap the button below."),
    "choice_lead": ("{brand} markasından {types} yoluyla ticari ileti almak istiyor musunuz?",
                    "Do you want commercial messages from {brand} by {types}?"),
    "button_ret": ("İleti almak istemiyorum", "Stop these messages"),
    "button_onay": ("İleti almayı kabul ediyorum", "I agree to receive messages"),
    "MESAJ": ("SMS", "SMS"),
    "ARAMA": ("telefon araması", "phone call"),
    "and": (" ve ", " and "),
    "nothing_yet": ("Bu sayfayı açmak hiçbir şeyi değiştirmez; yalnızca düğmeye dokunduğunuzda "
                    "tercihiniz kaydedilir.",
                    "Opening this page changes nothing; your choice is recorded only when you "
                    "tap the button."),
    "done_title": ("Tercihiniz kaydedildi", "Your choice is recorded"),
    "again_title": ("Tercihiniz daha önce kaydedildi", "Your choice was already recorded"),
    "done_ret": ("{brand} size {types} yoluyla ticari ileti göndermeyecek. Ret bildiriminiz "
                 "İleti Yönetim Sistemi'ne (İYS) iletilir.",
                 "{brand} will send you no commercial messages by {types}. Your opt-out is "
                 "passed to the Message Management System (İYS)."),
    "done_onay": ("{brand} markasının {types} yoluyla ileti göndermesine onay verdiniz. "
                  "Onayınız İYS'ye iletilir; dilediğiniz zaman geri alabilirsiniz.",
                  "You agreed to messages from {brand} by {types}. Your consent is passed to "
                  "İYS; you can withdraw it at any time."),
    "recorded_at": ("Kayıt zamanı", "Recorded at"),
    "invalid_title": ("Bu bağlantı artık geçerli değil", "This link is no longer valid"),
    "invalid_text": ("Bağlantının süresi dolmuş, iptal edilmiş ya da hatalı olabilir. İleti "
                     "tercihinizi İYS üzerinden (iys.org.tr veya 3338 kısa numarası) de "
                     "yönetebilirsiniz.",
                     "The link may have expired, been revoked or be mistyped. You can also "
                     "manage your message preferences through İYS (iys.org.tr or the short "
                     "number 3338)."),
    "expired_form": ("Sayfanın süresi doldu; lütfen düğmeye yeniden dokunun.",
                     "This page expired; please tap the button again."),
    "limited_title": ("Çok fazla istek", "Too many requests"),
    "limited_text": ("Bu adresten çok fazla istek geldi; lütfen birkaç dakika sonra yeniden "
                     "deneyin.", "Too many requests from this address; please try again in "
                     "a few minutes."),
    "error_title": ("Kaydedilemedi", "Could not be recorded"),
    "error_text": ("Beklenmeyen bir hata oldu ve kaydedildi; lütfen daha sonra yeniden "
                   "deneyin. İstek numarası:", "An unexpected error occurred and was logged; "
                   "please try again later. Request id:"),
    "privacy": ("Aydınlatma metni (KVKK)", "Privacy notice (KVKK)"),
    "privacy_link": ("Kişisel verilerin işlenmesine ilişkin aydınlatma metni",
                     "How your personal data is processed"),
    "privacy_default": ("Telefon numaranız ve bu sayfadaki tercihiniz, tercihinizin "
                        "kaydedilmesi ve İleti Yönetim Sistemi'ne bildirilmesi amacıyla, "
                        "6698 sayılı KVKK ve 6563 sayılı Kanun uyarınca işlenir.",
                        "Your phone number and your choice on this page are processed to "
                        "record your choice and report it to İYS, under Turkish laws 6698 "
                        "(KVKK) and 6563."),
    # brand-wide links: the number is asked and checked with a one-time code
    "phone_label": ("Cep telefonu numaranız", "Your mobile number"),
    "phone_hint": ("Örnek: 0532 123 45 67. Bu numaraya 6 haneli bir doğrulama kodu "
                   "gönderilir.", "Example: 0532 123 45 67. A 6-digit code is sent to this "
                   "number."),
    "send_code": ("Kodu gönder", "Send the code"),
    "bad_phone": ("Geçerli bir Türkiye cep telefonu numarası girin (ör. 0532 123 45 67).",
                  "Enter a valid Turkish mobile number (e.g. 0532 123 45 67)."),
    "code_label": ("Doğrulama kodu", "Verification code"),
    "code_hint": ("{number} numarasına gönderilen 6 haneli kod (5 dakika geçerli).",
                  "The 6-digit code sent to {number} (valid for 5 minutes)."),
    "bad_code": ("Kod hatalı; kalan deneme: {left}.", "Wrong code; tries left: {left}."),
    "code_spent": ("Kodun süresi doldu veya deneme hakkı bitti; yeni bir kod isteyin.",
                   "The code expired or has no tries left; ask for a new one."),
    "otp_limited": ("Bu numaraya veya bu adresten çok fazla kod istendi; lütfen daha sonra "
                    "yeniden deneyin.", "Too many codes were asked for this number or from "
                    "this address; please try again later."),
    "otp_unavailable": ("Bu bağlantı şu anda kullanılamıyor: doğrulama kodu gönderilemiyor. "
                        "Tercihinizi İYS üzerinden (iys.org.tr veya 3338) bildirebilirsiniz.",
                        "This link cannot be used now: no verification code can be sent. You "
                        "can give your choice through İYS (iys.org.tr or 3338)."),
    "otp_sms": ("{brand} ileti tercihi dogrulama kodunuz: {code} (5 dakika gecerli). Kimseyle "
                "paylasmayin.", ""),
}


catalogue.add({f"link.{k}": pair for k, pair in WORDS.items() if pair[0] and pair[1]})


def word(lang: str, key: str, **values: str) -> str:
    pair = WORDS[key]
    text = pair[1] if lang == "en" and pair[1] else pair[0]
    return text.format(**values) if values else text


def types_in_words(lang: str, types: tuple[str, ...]) -> str:
    return word(lang, "and").join(word(lang, t) for t in types)
