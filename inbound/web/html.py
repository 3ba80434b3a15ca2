"""HTML building: escaping, the page layout, the two languages.

Every value that comes from data goes through :func:`esc`; :class:`Html` marks text that is
already safe markup, so a page is assembled from escaped pieces only.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

LANGS = ("tr", "en")

T: dict[str, tuple[str, str]] = {
    "title": ("İYS Gelen SMS", "İYS Inbound SMS"),
    "skip": ("İçeriğe geç", "Skip to content"),
    "signin": ("Giriş yap", "Sign in"),
    "signout": ("Çıkış yap", "Sign out"),
    "email": ("E-posta", "E-mail"),
    "password": ("Parola", "Password"),
    "bad_login": ("E-posta veya parola hatalı.", "Wrong e-mail or password."),
    "locked": ("Çok fazla hatalı deneme: hesap geçici olarak kilitlendi. Lütfen daha sonra "
               "deneyin.", "Too many failed attempts: the account is locked for a while. "
               "Please try again later."),
    "address_limited": ("Bu adresten çok fazla başarısız giriş denemesi: lütfen birkaç dakika "
                        "sonra tekrar deneyin.", "Too many failed sign-ins from this address: "
                        "please try again in a few minutes."),
    "csrf": ("Form süresi doldu veya geçersiz; lütfen sayfayı yenileyip tekrar deneyin.",
             "The form expired or is invalid; please reload the page and try again."),
    "brands": ("Markalar", "Brands"),
    "brand": ("Marka", "Brand"),
    "numbers": ("Numaralar", "Numbers"),
    "number": ("Numara", "Number"),
    "shared": ("ortak", "shared"),
    "dedicated": ("markaya özel", "dedicated"),
    "name": ("Ad", "Name"),
    "aliases": ("Diğer adlar", "Aliases"),
    "one_per_line": ("her satıra bir tane", "one per line"),
    "vocabulary": ("Kelime ayarları", "Vocabulary overrides"),
    "extra_opt_out": ("Ek ret kelimeleri", "Extra opt-out words"),
    "removed_opt_out": ("Kaldırılan ret kelimeleri", "Removed opt-out words"),
    "extra_opt_in": ("Ek izin kelimeleri", "Extra opt-in words"),
    "removed_opt_in": ("Kaldırılan izin kelimeleri", "Removed opt-in words"),
    "replies": ("Yanıt şablonları", "Reply templates"),
    "reply_hint": ("Boş: varsayılan yanıt; «yanıt yok» işaretliyse gönderilmez. {brand} "
                   "marka adıdır.", "Empty: the default reply; with «no reply» ticked none is "
                   "sent. {brand} is the brand name."),
    "all_brands": ("tüm markalar", "every brand"),
    "save": ("Kaydet", "Save"),
    "saved": ("Kaydedildi.", "Saved."),
    "not_saved": ("Kaydedilmedi; aşağıdaki hataları düzeltin.",
                  "Not saved; please correct the errors below."),
    "explain": ("Mesaj dene", "Try a message"),
    "explain_hint": ("Bir numara seçip metni yazın: sonuç yazdıkça görünür.",
                     "Pick a number and type the text: the outcome shows as you type."),
    "text": ("Metin", "Text"),
    "try": ("Dene", "Try"),
    "outcome": ("Sonuç", "Outcome"),
    "events": ("Olaylar", "Events"),
    "reason": ("Neden", "Why"),
    "normalized": ("Okunan", "Read as"),
    "no_events": ("Olay yok.", "No events."),
    "recipient": ("Alıcı", "Recipient"),
    "status": ("İzin durumu", "Status"),
    "state": ("İYS durumu", "İYS state"),
    "type": ("Tür", "Type"),
    "since": ("Başlangıç", "From"),
    "until": ("Bitiş", "To"),
    "any": ("hepsi", "any"),
    "filter": ("Filtrele", "Filter"),
    "received": ("Alındı", "Received"),
    "deadline": ("Son gün", "Deadline"),
    "time_left": ("kalan", "left"),
    "overdue": ("süresi geçti", "overdue"),
    "transaction": ("İYS işlem no", "İYS transaction id"),
    "next_page": ("Sonraki sayfa", "Next page"),
    "first_page": ("İlk sayfa", "First page"),
    "csv": ("CSV indir (bu filtre)", "Download CSV (this filter)"),
    "chart": ("Günlük olaylar", "Events per day"),
    "evidence": ("Kanıt", "Evidence"),
    "history": ("Alıcı geçmişi", "Recipient history"),
    "print": ("Yazdır", "Print"),
    "messages": ("Mesajlar", "Messages"),
    "raw": ("Ham PDU (base64)", "Raw PDU (base64)"),
    "decoded": ("Çözülmüş metin", "Decoded text"),
    "attempts": ("İYS denemeleri", "İYS attempts"),
    "request": ("İstek", "Request"),
    "response": ("Yanıt", "Response"),
    "iys_changes": ("İYS'den gelen değişiklikler", "Changes reported by İYS"),
    "not_found": ("Bulunamadı.", "Not found."),
    "server_error": ("Beklenmeyen bir hata oldu; kaydedildi. İstek numarası:",
                     "An unexpected error occurred; it has been logged. Request id:"),
    "error": ("Hata", "Error"),
    "language": ("English", "Türkçe"),
    "field_error": ("Hata", "Error"),
    "days": ("g", "d"),
    "hours": ("sa", "h"),
    "minutes": ("dk", "min"),
    "created": ("Oluşturuldu", "Created"),
    "updated": ("Güncellendi", "Updated"),
    "consent_date": ("İzin tarihi", "Consent date"),
    "completed": ("Tamamlandı", "Completed"),
    "iys_created": ("İYS kayıt tarihi", "İYS creation date"),
    "last_error": ("Son hata", "Last error"),
    "link": ("Bağlantı", "Link"),
    "sender": ("Gönderen", "Sender"),
    "to": ("Alıcı numara", "To"),
    "reviews": ("İnceleme bekleyenler", "Waiting for review"),
    "reviews_hint": ("Ret isteğine benzeyen ama komut olmayan mesajlar. Onaylarsanız alındığı "
                     "andaki tarihle RET olarak İYS'ye gider; reddederseniz hiçbir şey "
                     "gönderilmez. Süresinin %90'ında incelenmemiş bir mesaj kendiliğinden RET "
                     "olur (marka ayarı review_auto_ret).",
                     "Messages that look like an opt-out but are not a command. Confirmed, one "
                     "goes to İYS as a RET dated when it was received; dismissed, nothing is "
                     "sent. Unreviewed at 90 % of its window, one becomes a RET by itself "
                     "(brand setting review_auto_ret)."),
    "no_reviews": ("İnceleme bekleyen mesaj yok.", "No message waits for review."),
    "review_confirm": ("RET olarak onayla", "Confirm as RET"),
    "review_dismiss": ("Reddet", "Dismiss"),
    "review_action": ("Karar", "Decision"),
    "review_auto_at": ("Kendiliğinden RET", "Automatic RET at"),
    "review_no_auto": ("kapalı: karar sizde", "off: yours to decide"),
    "review_confirmed": ("onaylandı", "confirmed"),
    "review_dismissed": ("reddedildi", "dismissed"),
    "review_automatic": ("otomatik RET", "automatic RET"),
    "reviewed": ("Kaydedildi.", "Saved."),
}


class Html(str):
    """Markup that is already safe."""


def esc(value: Any) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Any]) -> Html:
    return Html("".join(esc(p) for p in parts))


def tr(lang: str, key: str) -> str:
    pair = T.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def url(path: str, **query: Any) -> str:
    items = {k: v for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(items) if items else "")


def seg(value: str) -> str:
    return quote(value, safe="")


STYLE = """
:root{--fg:#1b1b1b;--bg:#fff;--muted:#4a4a4a;--accent:#0b4f9c;--err:#a4001d;--ok:#1a5e20;
--line:#c8c8c8}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #ffbf47;
outline-offset:1px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}
header{background:#0b3a6e;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;
gap:.5rem 1rem;align-items:center}
header a,header button{color:#fff}
header nav{display:flex;gap:1rem;flex-wrap:wrap;flex:1}
header form{margin:0}
header button{background:none;border:1px solid #fff;border-radius:4px;padding:.2rem .6rem;
font:inherit;cursor:pointer}
main{padding:1rem;max-width:70rem;margin:0 auto}
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2rem}
label{display:block;font-weight:600;margin-top:.75rem}
.hint{font-weight:400;color:var(--muted);font-size:.9rem}
input,select,textarea{font:inherit;padding:.35rem;border:1px solid #6b6b6b;border-radius:4px;
max-width:100%}
input[type=text],input[type=email],input[type=password],textarea{width:100%}
textarea{min-height:4.5rem}
form.inline{display:inline;margin:0}
.box>h2:first-child{margin-top:0}
button.secondary{background:#fff;color:var(--accent);border:1px solid var(--accent);
border-radius:4px;padding:.5rem 1rem;font:inherit;margin-top:1rem;cursor:pointer}
button.primary{background:var(--accent);color:#fff;border:0;border-radius:4px;
padding:.5rem 1rem;font:inherit;margin-top:1rem;cursor:pointer}
.err{color:var(--err);font-weight:600}.ok{color:var(--ok);font-weight:600}
.box{border:1px solid var(--line);border-radius:6px;padding:1rem;margin:1rem 0}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}
.filters label{margin-top:0}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;
vertical-align:top}
th{background:#f1f1f1}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:.5rem;
font-size:.85rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
dd{margin:0;word-break:break-word}
svg text{font-size:11px;fill:#1b1b1b}
@media (max-width:40rem){main{padding:.5rem}dl{grid-template-columns:1fr}}
@media print{header,.noprint,form{display:none}main{max-width:none}}
"""


WEBHOOKS_LINK = ("Webhook'lar", "Webhooks")  # issue #32 (to fold into the catalogue)


def layout(lang: str, title: str, body: Html, *, csrf: str | None = None,
           owner: str | None = None, path: str = "/ui/") -> str:
    other = "en" if lang == "tr" else "tr"
    nav = Html("")
    if owner is not None:
        nav = Html(
            f'<nav aria-label="{esc(tr(lang, "title"))}"><a href="/ui/brands">'
            f'{esc(tr(lang, "brands"))}</a><a href="/ui/webhooks">'
            f'{esc(WEBHOOKS_LINK[lang == "en"])}</a></nav><span>{esc(owner)}</span>'
            f'<form method="post" action="/ui/logout"><input type="hidden" name="csrf" '
            f'value="{esc(csrf)}"><button type="submit">{esc(tr(lang, "signout"))}</button>'
            "</form>")
    switch = url("/ui/lang", to=other, next=path)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · {esc(tr(lang, 'title'))}</title>"
        f"<style>{STYLE}</style></head><body>"
        f'<a class="skip" href="#main">{esc(tr(lang, "skip"))}</a>'
        f'<header><strong>{esc(tr(lang, "title"))}</strong>{nav}'
        f'<a href="{esc(switch)}" lang="{other}">{esc(tr(lang, "language"))}</a></header>'
        f'<main id="main" tabindex="-1"><h1>{esc(title)}</h1>{body}</main>'
        '<script src="/ui/static/app.js" defer></script></body></html>'
    )
