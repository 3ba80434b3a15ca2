"""Accounts (issue #33): one's own password, an owner's users and its API tokens.

Everyone changes their own password (the current one first). An owner's admins invite
users (a one-time password shown once, to be changed at the first sign-in) and remove them,
and create (the token shown once), list and revoke API tokens, each with a role
(``inbound/roles.py``). Every change is audited with the user who made it.
"""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
from aiohttp import web

from inbound import roles, sqlfile
from inbound.api import admin
from inbound.api import auth as api_auth
from inbound.api.params import EMAIL
from inbound.api.problems import Problem
from inbound.api.state import POOL
from inbound.web import auth, formats
from inbound.web.catalogue import add, code
from inbound.web.html import Html, esc, table, tr
from inbound.web.pages_brands import page
from inbound.web.state import LANG, SESSION

SQL = sqlfile.load("inbound.web", "sql/accounts.sql")
routes = web.RouteTableDef()

add({
    "acc.role": ("Rol", "Role"),
    "role.viewer": ("görüntüleyici", "viewer"),
    "role.agent": ("temsilci", "agent"),
    "role.admin": ("yönetici", "admin"),
    "acc.roles_hint": ("Görüntüleyici yalnızca okur; temsilci ayrıca izin kaydeder ve "
                       "incelemeleri karara bağlar; yönetici her şeyi yapar (kelimeler, "
                       "yanıtlar, anahtarlar, kullanıcılar).",
                       "A viewer reads; an agent also records consents and decides review "
                       "items; an admin does everything (words, replies, tokens, users)."),
    "acc.current": ("Şu anki parola", "Current password"),
    "acc.new": ("Yeni parola", "New password"),
    "acc.again": ("Yeni parola (tekrar)", "New password (again)"),
    "acc.change": ("Parolayı değiştir", "Change password"),
    "acc.changed": ("Parolanız değiştirildi.", "Your password was changed."),
    "acc.wrong": ("Şu anki parola hatalı.", "The current password is wrong."),
    "acc.mismatch": ("Yeni parolalar aynı değil.", "The new passwords differ."),
    "acc.short": ("Parola en az {n} karakter olmalı.", "A password needs at least {n} "
                                                       "characters."),
    "acc.invite": ("Kullanıcı davet et", "Invite a user"),
    "acc.invited": ("Kullanıcı eklendi. Geçici parolası (yalnızca şimdi gösterilir; ilk "
                    "girişte değiştirmesini söyleyin):", "User added. Their one-time password "
                    "(shown only now; ask them to change it at the first sign-in):"),
    "acc.remove": ("Kaldır", "Remove"),
    "acc.removed": ("Kaldırıldı.", "Removed."),
    "acc.email_used": ("Bu e-posta adresi zaten kullanılıyor.", "This e-mail is already used."),
    "acc.bad_email": ("Geçerli bir e-posta adresi girin.", "Enter a valid e-mail address."),
    "acc.not_self": ("Kendinizi kaldıramazsınız.", "You cannot remove yourself."),
    "acc.you": ("siz", "you"),
    "acc.token_new": ("Yeni API anahtarı", "New API token"),
    "acc.token_made": ("Anahtar oluşturuldu. Şimdi kopyalayın: bir daha gösterilmez.",
                       "Token created. Copy it now: it is not shown again."),
    "acc.revoke": ("İptal et", "Revoke"),
    "acc.revoked": ("İptal edildi", "Revoked"),
    "acc.active": ("Etkin", "Active"),
    "acc.last_used": ("Son kullanım", "Last used"),
    "acc.no_tokens": ("API anahtarı yok.", "No API token."),
    "acc.admin_only": ("Bu sayfa yöneticiler içindir.", "This page is for admins."),
})


def _admin(request: web.Request) -> auth.Session:
    session = request[SESSION]
    if not roles.allows(session.role, "admin"):
        raise Problem(403, tr(request[LANG], "acc.admin_only"))
    return session


async def _audit(conn: asyncpg.Connection, session: auth.Session, action: str, resource: str,
                 resource_id: Any, before: Any, after: Any) -> None:
    await admin.audit(conn, actor_token_id=None, actor_owner_id=session.owner_id,
                      actor_admin=False, action=action, resource=resource,
                      resource_id=str(resource_id), owner_ids=[session.owner_id],
                      before=before, after=after)


def _csrf(request: web.Request) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(request[SESSION].csrf)}">'


def _role_select(lang: str, field_id: str, current: str = "viewer") -> str:
    options = "".join(f'<option value="{r}"{" selected" if r == current else ""}>'
                      f'{esc(code("role", r, lang))}</option>' for r in roles.ROLES)
    return (f'<label for="{field_id}">{esc(tr(lang, "acc.role"))}</label>'
            f'<select id="{field_id}" name="role">{options}</select>'
            f'<p class="hint">{esc(tr(lang, "acc.roles_hint"))}</p>')


def _button(request: web.Request, action: str, label: str, what: str) -> str:
    return (f'<form method="post" action="{esc(action)}" class="inline">{_csrf(request)}'
            f'<button type="submit" class="secondary" aria-label="{esc(label)} {esc(what)}">'
            f"{esc(label)}</button></form>")


# -- one's own account -------------------------------------------------------------------

def _account_body(request: web.Request, message: str = "", ok: bool = False) -> str:
    lang, s = request[LANG], request[SESSION]
    note = (f'<p class="{"ok" if ok else "err"}" role="{"status" if ok else "alert"}">'
            f"{esc(message)}</p>" if message else "")

    def field(name: str, key: str, auto: str) -> str:
        return (f'<label for="p-{name}">{esc(tr(lang, key))}</label><input id="p-{name}" '
                f'name="{name}" type="password" autocomplete="{auto}" required>')
    return (f'<dl><dt>{esc(tr(lang, "email"))}</dt><dd>{esc(s.email)}</dd>'
            f'<dt>{esc(tr(lang, "acc.role"))}</dt><dd>{esc(code("role", s.role, lang))}</dd>'
            f'<dt>{esc(tr(lang, "brands"))}</dt><dd>{esc(s.name)}</dd></dl>{note}'
            f'<form method="post" action="/ui/account/password" class="box">{_csrf(request)}'
            f'<h2>{esc(tr(lang, "acc.change"))}</h2>'
            + field("current", "acc.current", "current-password")
            + field("new", "acc.new", "new-password")
            + field("again", "acc.again", "new-password")
            + f'<button class="primary" type="submit">{esc(tr(lang, "acc.change"))}</button>'
            "</form>")


@routes.get("/account")
async def account_page(request: web.Request) -> web.Response:
    lang = request[LANG]
    changed = tr(lang, "acc.changed") if request.query.get("changed") else ""
    return page(request, tr(lang, "account"), _account_body(request, changed, ok=True))


@routes.post("/account/password")
async def change_password(request: web.Request) -> web.StreamResponse:
    lang, session, pool = request[LANG], request[SESSION], request.app[POOL]
    form = await request.post()
    current, new = str(form.get("current", "")), str(form.get("new", ""))
    stored = await pool.fetchval(SQL.user_password, session.user_id)
    problem = None
    if not await auth.verify_async(current, stored):
        problem = tr(lang, "acc.wrong")
    elif new != str(form.get("again", "")):
        problem = tr(lang, "acc.mismatch")
    elif len(new) < auth.MIN_PASSWORD or len(new) > 1024:
        problem = tr(lang, "acc.short").format(n=auth.MIN_PASSWORD)
    if problem:
        return page(request, tr(lang, "account"), _account_body(request, problem), status=422)
    hashed = await auth.hash_async(new)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(auth.queries.SQL.set_user_password, session.user_id, hashed)
        # other browsers signed in as this user sign in again; this one stays
        await conn.execute(auth.queries.SQL.delete_user_sessions, session.user_id,
                           session.token_hash)
        await _audit(conn, session, "update", "user", session.user_id, None,
                     {"password": "changed"})
    raise web.HTTPSeeOther("/ui/account?changed=1")


# -- users -------------------------------------------------------------------------------

async def _users_page(request: web.Request, notice: str = "", status: int = 200) -> web.Response:
    lang, session = request[LANG], _admin(request)
    rows = await request.app[POOL].fetch(SQL.list_users, session.owner_id)
    body = [(r["email"], r["name"], code("role", r["role"], lang),
             formats.show_time(r["created_at"]),
             tr(lang, "acc.you") if r["id"] == session.user_id else Html(_button(
                 request, f"/ui/users/{r['id']}/remove", tr(lang, "acc.remove"), r["email"])))
            for r in rows]
    heads = (tr(lang, "email"), tr(lang, "name"), tr(lang, "acc.role"), tr(lang, "created"),
             "")
    invite = (f'<form method="post" action="/ui/users" class="box">{_csrf(request)}'
              f'<h2>{esc(tr(lang, "acc.invite"))}</h2>'
              f'<label for="u-email">{esc(tr(lang, "email"))}</label>'
              '<input id="u-email" name="email" type="email" required maxlength="254">'
              f'<label for="u-name">{esc(tr(lang, "name"))}</label>'
              '<input id="u-name" name="name" type="text" maxlength="200">'
              + _role_select(lang, "u-role")
              + f'<button class="primary" type="submit">{esc(tr(lang, "acc.invite"))}</button>'
              "</form>")
    return page(request, tr(lang, "users"), notice + table(heads, body, tr(lang, "users"))
                + invite, status=status)


@routes.get("/users")
async def users_page(request: web.Request) -> web.Response:
    notice = ""
    if request.query.get("removed"):
        notice = f'<p class="ok" role="status">{esc(tr(request[LANG], "acc.removed"))}</p>'
    return await _users_page(request, notice)


@routes.post("/users")
async def invite_user(request: web.Request) -> web.Response:
    lang, session, pool = request[LANG], _admin(request), request.app[POOL]
    form = await request.post()
    email, name = str(form.get("email", "")).strip(), str(form.get("name", "")).strip()[:200]
    role = str(form.get("role", ""))
    if role not in roles.ROLES or not email_ok(email):
        return await _users_page(request, f'<p class="err" role="alert">'
                                 f'{esc(tr(lang, "acc.bad_email"))}</p>', status=422)
    password = secrets.token_urlsafe(12)
    hashed = await auth.hash_async(password)
    try:
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(SQL.insert_user, session.owner_id, email, name, role,
                                      hashed, session.user_id)
            await _audit(conn, session, "create", "user", row["id"], None,
                         {"email": email, "name": name, "role": role})
    except asyncpg.UniqueViolationError:
        return await _users_page(request, f'<p class="err" role="alert">'
                                 f'{esc(tr(lang, "acc.email_used"))}</p>', status=409)
    shown = (f'<div class="box" role="status"><p class="ok">{esc(tr(lang, "acc.invited"))}</p>'
             f'<p><code id="one-time">{esc(password)}</code></p></div>')
    return await _users_page(request, shown, status=201)


def email_ok(email: str) -> bool:
    return 3 <= len(email) <= 254 and bool(EMAIL.fullmatch(email))


@routes.post("/users/{user_id}/remove")
async def remove_user(request: web.Request) -> web.StreamResponse:
    session, pool = _admin(request), request.app[POOL]
    user_id = _path_id(request, "user_id")
    if user_id == session.user_id:
        raise Problem(409, tr(request[LANG], "acc.not_self"))
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(SQL.delete_user, session.owner_id, user_id)
        if row is None:
            raise Problem(404, "user not found")
        await _audit(conn, session, "delete", "user", user_id,
                     {"email": row["email"], "role": row["role"]}, None)
    raise web.HTTPSeeOther("/ui/users?removed=1")


def _path_id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise Problem(404, "not found")
    return int(raw)


# -- API tokens ----------------------------------------------------------------------------

async def _tokens_page(request: web.Request, notice: str = "", status: int = 200
                       ) -> web.Response:
    lang, session = request[LANG], _admin(request)
    rows = await request.app[POOL].fetch(SQL.list_owner_tokens, session.owner_id)
    body = [(r["id"], r["name"], code("role", r["role"], lang),
             formats.show_time(r["created_at"]), formats.show_time(r["last_used_at"]),
             f'{tr(lang, "acc.revoked")} {formats.show_time(r["revoked_at"])}'
             if r["revoked_at"] else Html(_button(request, f"/ui/tokens/{r['id']}/revoke",
                                                  tr(lang, "acc.revoke"), r["name"])))
            for r in rows]
    heads = ("ID", tr(lang, "name"), tr(lang, "acc.role"), tr(lang, "created"),
             tr(lang, "acc.last_used"), tr(lang, "status"))
    listing = (table(heads, body, tr(lang, "tokens")) if body
               else f'<p>{esc(tr(lang, "acc.no_tokens"))}</p>')
    create = (f'<form method="post" action="/ui/tokens" class="box">{_csrf(request)}'
              f'<h2>{esc(tr(lang, "acc.token_new"))}</h2>'
              f'<label for="t-name">{esc(tr(lang, "name"))}</label>'
              '<input id="t-name" name="name" type="text" required maxlength="100">'
              + _role_select(lang, "t-role")
              + f'<button class="primary" type="submit">{esc(tr(lang, "acc.token_new"))}'
              "</button></form>")
    return page(request, tr(lang, "tokens"), notice + listing + create, status=status)


@routes.get("/tokens")
async def tokens_page(request: web.Request) -> web.Response:
    return await _tokens_page(request)


@routes.post("/tokens")
async def create_token(request: web.Request) -> web.Response:
    lang, session, pool = request[LANG], _admin(request), request.app[POOL]
    form = await request.post()
    name = str(form.get("name", "")).strip()[:100] or "api"
    role = str(form.get("role", ""))
    if role not in roles.ROLES or any(ord(c) < 32 for c in name):
        raise Problem(422, tr(lang, "error"))
    token = api_auth.new_token()
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(SQL.insert_owner_token, session.owner_id, name,
                                  api_auth.token_digest(token), role)
        await _audit(conn, session, "create", "token", row["id"], None,
                     {"name": name, "role": role})
    shown = (f'<div class="box" role="status"><p class="ok">{esc(tr(lang, "acc.token_made"))}'
             f'</p><p><code id="new-token">{esc(token)}</code></p></div>')
    return await _tokens_page(request, shown, status=201)


@routes.post("/tokens/{token_id}/revoke")
async def revoke_token(request: web.Request) -> web.StreamResponse:
    session = _admin(request)
    done = await admin.revoke_token(request.app[POOL], _path_id(request, "token_id"),
                                    scope=session.owner_id, actor_owner_id=session.owner_id)
    if not done:
        raise Problem(404, "token not found")
    raise web.HTTPSeeOther("/ui/tokens")
