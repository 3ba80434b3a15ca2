-- The page's accounts (inbound/web/pages_accounts.py): an owner's users and API tokens.
-- Every statement is scoped to the signed-in user's owner ($1 or named).

-- name: list_users
SELECT id, email, name, role, created_at FROM web_user WHERE owner_id = $1 ORDER BY id

-- name: insert_user
-- $1 owner, $2 e-mail, $3 name, $4 role, $5 password hash, $6 the admin who invited
INSERT INTO web_user (owner_id, email, name, role, password_hash, created_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, email, name, role, created_at

-- name: delete_user
DELETE FROM web_user WHERE id = $2 AND owner_id = $1
RETURNING id, email, name, role, created_at

-- name: user_password
SELECT password_hash FROM web_user WHERE id = $1

-- name: list_owner_tokens
SELECT id, name, role, created_at, revoked_at, last_used_at
  FROM api_token WHERE owner_id = $1 AND NOT is_admin ORDER BY id DESC

-- name: insert_owner_token
INSERT INTO api_token (owner_id, is_admin, name, token_hash, role)
VALUES ($1, false, $2, $3, $4)
RETURNING id, name, role, created_at
