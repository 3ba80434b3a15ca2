"""The API's and the matcher's English sentences with their Turkish (see ``catalogue.say``).

``TEMPLATES`` are whole messages (a problem's detail, a field's reason, one sentence of an
explain reason); ``FRAGMENTS`` are values inside their holes (a number's description, a
brand list, a word kind). ``{name}`` is a hole; a hole's value is itself looked up in
``FRAGMENTS``. Order matters where two templates could match: the longer first.
"""

from __future__ import annotations

from iys_push.consent_rules import HS_2015_EXPLAINED

TEMPLATES: list[tuple[str, str]] = [
    # -- the matcher's reasons (keywords/match.py) ---------------------------------------
    ("Number {number} is not configured", "{number} numarası tanımlı değil"),
    ("Opt-out and opt-in words, or a negated one, in one message on {where}: not a command",
     "Aynı mesajda hem ret hem izin kelimesi ya da olumsuzlanmış bir kelime var ({where}): "
     "komut değil"),
    ("Looks like an opt-out request or a refusal ({words}) but names no brand on {where}: "
     "no one to ask", "Ret isteğine ya da bir reddedişe benziyor ({words}) ama hiçbir marka "
     "adı yok ({where}): sorulacak kimse yok"),
    ("Looks like an opt-out request or a refusal ({words}), not a command, on {where}: a "
     "person confirms or dismisses a RET for {brands}",
     "Ret isteğine ya da bir reddedişe benziyor ({words}) ama komut değil ({where}): "
     "{brands} için RET'i bir kişi onaylar ya da reddeder"),
    ("No opt-out or opt-in word on {where}", "Ret ya da izin kelimesi yok ({where})"),
    ("Both opt-out and opt-in words ({both}) on {where}",
     "Hem ret hem izin kelimesi var ({both}; {where})"),
    ("{kind} word {word} names {others}, not the brand of {where}",
     "{kind} kelimesi {word}, {others} adını anıyor; bu numara o markanın değil ({where})"),
    ("{kind} word {word} with words that name no brand ({words}) on {where}",
     "{kind} kelimesi {word} ve hiçbir markayı anmayan kelimeler ({words}; {where})"),
    ("{kind} word {word} but no brand named on {where}",
     "{kind} kelimesi {word} var ama marka adı yok ({where})"),
    ("{kind} word {word} among words outside the grammar ({words}) on {where}: not a command",
     "{kind} kelimesi {word}, komut dışı kelimelerle birlikte ({words}; {where}): komut "
     "değil"),
    ("a negated opt-in word is never a consent",
     "olumsuzlanmış bir izin kelimesi hiçbir zaman izin sayılmaz"),
    ("{kind} word {word} and {brands} on {where}: {status} for {types}, {rtype}",
     "{kind} kelimesi {word} ve {brands} ({where}): {types} için {status}, {rtype}"),
    ("read {typos}", "düzeltilerek okundu: {typos}"),
    ("the canonical RET with the brand is a RET whatever else the message holds ({words})",
     "markayla yazılan RET, mesajda başka ne olursa olsun RET'tir ({words})"),
    ("the message is binary or could not be decoded",
     "mesaj ikili (binary) ya da çözülemedi"),
    ("malformed PDU: {error}", "bozuk PDU: {error}"),
    # -- keyword conflicts (inbound/api/changes.py, keywords/rules.py) -------------------
    ("{word} is already used by another brand on {number}",
     "{word} başka bir markada kullanılıyor (numara {number})"),
    ("{word} is already used by another brand", "{word} başka bir markada kullanılıyor"),
    ("{word} is too close to a word of another brand on {number}",
     "{word} başka bir markanın kelimesine çok yakın (numara {number})"),
    ("{word} is too close to a word of another brand",
     "{word} başka bir markanın kelimesine çok yakın"),
    ("on {number}, {word} names several brands: {ids}",
     "numara {number}: {word} birden çok markayı anıyor: {ids}"),
    ("on {number}, brand word {word} of {brand} is also an {kind} word",
     "numara {number}: {brand} markasının kelimesi {word} aynı zamanda bir {kind} kelimesi"),
    ("on {number}, brand word {word} of {brand} is also a {kind} word",
     "numara {number}: {brand} markasının kelimesi {word} aynı zamanda bir {kind} kelimesi"),
    ("on {number}, {mine} of {brand} is too close to {theirs} of {other} (one typo from it, "
     "or extending it)", "numara {number}: {brand} markasının {mine} kelimesi, {other} "
     "markasının {theirs} kelimesine çok yakın (bir harf farkı ya da onun uzantısı)"),
    ("on {number}, {word} is both {what} word",
     "numara {number}: {word} iki ayrı anlamda kullanılıyor ({what})"),
    ("the rules are not valid", "kurallar geçerli değil"),
    # -- field reasons (inbound/api/params.py, inputs.py, consents.py) -------------------
    ("required", "zorunlu"),
    ("must not be null", "boş olamaz"),
    ("must not be empty", "boş olamaz"),
    ("unknown field", "bilinmeyen alan"),
    ("expected a string", "metin bekleniyor"),
    ("expected true or false", "evet ya da hayır bekleniyor"),
    ("at most {n} characters", "en çok {n} karakter"),
    ("expected a list of at most {n} strings", "en çok {n} satırlık bir liste bekleniyor"),
    ("must not contain control characters or bidirectional marks",
     "denetim karakteri ya da yön işareti içeremez"),
    ("must not contain NUL characters", "NUL karakteri içeremez"),
    ("expected an E.164 phone number such as +905321234567",
     "bir telefon numarası bekleniyor (ör. 0532 123 45 67)"),
    ("expected a phone number such as 0532 123 45 67",
     "bir telefon numarası bekleniyor (ör. 0532 123 45 67)"),
    ("expected a date such as {example}", "GG.AA.YYYY biçiminde bir tarih bekleniyor "
                                          "(ör. 01.05.2024)"),
    ("the year must be between {a} and {b}", "yıl {a} ile {b} arasında olmalı"),
    ("not a cursor this API returned", "geçersiz sayfa işareti"),
    ("expected an RFC 3339 date-time string", "tarih ve saat bekleniyor"),
    ("required: the moment the person gave the consent (RFC 3339 with its offset), never the "
     "moment it was typed in", "zorunlu: kişinin izni verdiği an (girildiği an değil)"),
    ("one of MESAJ, ARAMA, EPOSTA, or a list of MESAJ and ARAMA without repeats",
     "MESAJ, ARAMA, EPOSTA ya da tekrarsız MESAJ ve ARAMA listesi"),
    ("EPOSTA needs an e-mail address and MESAJ/ARAMA a phone number: give EPOSTA alone "
     "(\"type\": \"EPOSTA\"), as a consent of its own",
     "EPOSTA bir e-posta adresi, MESAJ/ARAMA bir telefon numarası ister: EPOSTA'yı ayrı bir "
     "izin olarak kaydedin"),
    ("an integer from {a} to {b}, in ASCII digits", "{a} ile {b} arasında bir tam sayı"),
    ("an integer from {a} to {b}", "{a} ile {b} arasında bir tam sayı"),
    ("expected an integer", "tam sayı bekleniyor"),
    ("must be between {a} and {b}", "{a} ile {b} arasında olmalı"),
    ("one of {values}", "şunlardan biri: {values}"),
    ("a password needs at least {n} characters", "parola en az {n} karakter olmalı"),
    ("a password may have at most {n} characters", "parola en çok {n} karakter olabilir"),
    # -- İYS's refusals (iys_push/consent_rules.py) --------------------------------------
    ("type {type} needs {what} (0532 123 45 67, +905321234567 …) that exists in the "
     "national numbering plan (H121)", "{type} türü, ulusal numaralandırma planında var olan "
     "{what} ister (0532 123 45 67, +905321234567 …) (H121)"),
    ("not an e-mail address İYS accepts (ASCII, no spaces or special characters, 6 to 265 "
     "characters; H120)", "İYS'nin kabul ettiği bir e-posta adresi değil (ASCII, boşluksuz, "
     "özel karaktersiz, 6-265 karakter; H120)"),
    ("source must be one of the HS_* values (H119)",
     "kaynak HS_* değerlerinden biri olmalı (H119)"),
    ("HS_KARAR (the brand's own decision) needs status RET (H408)",
     "HS_KARAR (markanın kendi kararı) yalnızca RET olabilir (H408)"),
    (HS_2015_EXPLAINED,
     "HS_2015, '1 Mayıs 2015'ten önce onaylanmış' demektir ve İYS onu yalnızca 2015-05-01 "
     "00:00:00 tarihiyle alır (H155); üç iş günü kuralı (H467) bunu artık hep reddeder: "
     "böyle bir izin kaydedilemez"),
    ("İYS takes no consent dated before 2015-05-01 (H156)",
     "İYS 01.05.2015'ten önceki tarihli izin almaz (H156)"),
    ("the consent date is in the future: it must be the moment the person gave it (H162)",
     "izin tarihi gelecekte: kişinin izni verdiği an olmalı (H162)"),
    ("older than three business days: İYS refuses it for ever (H467; the last moment was "
     "{at})", "üç iş gününden eski: İYS bunu hiçbir zaman almaz (H467; son an {at} idi)"),
    ("HS_KARAR cannot be the first movement of {type} for this recipient: nothing of it is "
     "known here or in İYS (refresh the state first if İYS may hold a consent given "
     "elsewhere; H175/H408)", "HS_KARAR bu alıcının {type} için ilk hareketi olamaz: ne "
     "burada ne İYS'de bilinen bir kaydı var (İYS'de başka yerde verilmiş bir izin olabilirse "
     "önce durumu yenileyin; H175/H408)"),
    # -- the review queue (inbound/api/routes_reviews.py) --------------------------------
    ("review item {id} was already decided: {decision} at {at} by {by} (state {state}); "
     "nothing was changed", "{id} numaralı inceleme zaten karara bağlanmış: {decision}, "
     "{at}, {by} (durum: {state}); hiçbir şey değiştirilmedi"),
    ("already {decision}", "zaten {decision}"),
    ("review item {id} not found for brand {brand}",
     "{brand} markasında {id} numaralı inceleme yok"),
    ("{what} not found", "bulunamadı: {what}"),
    # -- webhooks (inbound/webhooks/safety.py, endpoints.py) -----------------------------
    ("{host} resolves to a {kind} address ({ip}); refused (webhooks.allow_private)",
     "{host} bir {kind} adrese çıkıyor ({ip}): reddedildi (ayar: webhooks.allow_private)"),
    ("must be an https:// URL with a host", "https:// ile başlayan, sunucusu olan bir adres "
     "olmalı"),
    ("must not carry a user name or password", "kullanıcı adı ya da parola içermemeli"),
    ("must be https:// (http:// only where private targets are allowed, or to loopback where "
     "loopback is)", "https:// olmalı (http:// yalnızca özel ağ adreslerine izin verildiğinde"
     " ya da yerel makineye)"),
    ("at least one of {kinds}", "en az biri seçilmeli: {kinds}"),
    ("one of {kinds}", "şunlardan biri olmalı: {kinds}"),
    ("each kind once", "her tür bir kez"),
    ("not one of the owner's brands", "hesabın markalarından biri değil"),
    # -- the brand's privacy notice (inbound/api/resources.py) ---------------------------
    ("exactly one of url or text", "ya adres ya metin: yalnızca biri"),
    ("must match {pattern}", "biçimi uygun değil ({pattern})"),
    # -- the mirror's reconciliation (inbound/api/routes_mirror.py) ----------------------
    ("İYS is not configured in this process: nothing was run",
     "Bu süreçte İYS bağlantısı tanımlı değil: hiçbir şey çalıştırılmadı"),
    ("the agreement hash does not match the file as served",
     "mutabakat özeti İYS'nin verdiği dosyayla uyuşmuyor"),
    ("İYS gave no agreement hash", "İYS mutabakat özeti vermedi"),
    ("İYS counts {a} movements, the file has {b}",
     "İYS {a} hareket sayıyor, dosyada {b} var"),
    ("{n} accepted event(s) of ours missing from İYS's file: {r} sent again",
     "kabul edilmiş {n} kaydımız İYS'nin dosyasında yok: {r} kayıt yeniden gönderildi"),
    ("{n} accepted event(s) of ours missing from İYS's file: {r} sent again, {m} past İYS's "
     "three business days: a person must check",
     "kabul edilmiş {n} kaydımız İYS'nin dosyasında yok: {r} kayıt yeniden gönderildi, {m} "
     "kayıt üç iş gününü geçti: bir kişinin bakması gerekir"),
    ("{n} accepted event(s) of ours missing from İYS's file: {r} sent again, {m} not, as the "
     "file is not confirmed: a person must check",
     "kabul edilmiş {n} kaydımız İYS'nin dosyasında yok: {r} kayıt yeniden gönderildi, {m} "
     "kayıt dosya doğrulanmadığı için gönderilmedi: bir kişinin bakması gerekir"),
    ("the agreement was not recorded: HTTP {status}",
     "mutabakat kaydedilmedi: HTTP {status}"),
    ("İYS keeps daily files {n} days (Turkey time)",
     "İYS günlük dosyaları {n} gün saklar (Türkiye saati)"),
    # -- roles (inbound/web/roles.py, inbound/api/roles.py) ------------------------------
    ("this action needs the role {role}", "bu işlem için {role} rolü gerekir"),
]

FRAGMENTS: list[tuple[str, str]] = [
    ("shared number {n}", "ortak numara {n}"),
    ("number {n}, dedicated to {owner}", "{owner} markasına özel numara {n}"),
    ("Opt-out", "Ret"),
    ("Opt-in", "İzin"),
    ("brand {name} ({how})", "{name} markası ({how})"),
    ("brands {names}", "markalar: {names}"),
    ("implied by the number", "numaradan anlaşılıyor"),
    ("name", "adıyla"),
    ("alias {a}", "diğer adı {a} ile"),
    ("brand code {c}", "marka kodu {c} ile"),
    ("{a} and {b}", "{a} ve {b}"),
    ("{a} as {b}", "{a} → {b}"),
    ("a Turkish mobile number", "bir cep telefonu numarası"),
    ("a Turkish phone number", "bir Türkiye telefon numarası"),
    ("opt-out", "ret"),
    ("opt-in", "izin"),
    ("channel", "kanal"),
    ("an {a} and an {b}", "{a} ve {b}"),
    ("an {a} and a {b}", "{a} ve {b}"),
    ("a {a} and an {b}", "{a} ve {b}"),
    ("a {a} and a {b}", "{a} ve {b}"),
    ("confirmed", "onaylandı"),
    ("dismissed", "reddedildi"),
    ("automatic", "otomatik RET"),
    ("pending", "gönderilecek"),
    ("accepted", "İYS'ye kaydedildi"),
    ("review", "inceleme bekliyor"),
    ("owner:{n}", "hesap {n}"),
    ("user:{n}", "kullanıcı {n}"),
    ("viewer", "görüntüleyici"),
    ("agent", "temsilci"),
    ("admin", "yönetici"),
    ("user", "kullanıcı"),
    ("token", "API anahtarı"),
    ("private", "özel ağ"),
    ("loopback", "yerel makine"),
    ("link-local", "yerel bağlantı"),
    ("multicast", "çoklu yayın"),
    ("reserved", "ayrılmış"),
    ("unspecified", "belirsiz"),
    ("not public", "genel olmayan"),
]
