-- Every statement the apps send with STORE=postgres, one per line after its name. Both apps keep
-- a copy in their store (targets/fastapi_app/store_pg.py, targets/express_app/store-pg.js: the
-- Docker images hold only their own folder); tests/test_store_sql.py checks that both copies are
-- these, character for character. Both drivers prepare each statement once per connection
-- (asyncpg's statement cache; node-postgres's named queries) and send the values as parameters.
-- name: insert_user
INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id, name, email
-- name: select_user
SELECT id, name, email FROM users WHERE id = $1
-- name: update_user
UPDATE users SET name = $2, email = $3 WHERE id = $1 RETURNING id, name, email
-- name: delete_user
DELETE FROM users WHERE id = $1 RETURNING id
-- name: page_users
SELECT id, name, email FROM users ORDER BY id LIMIT $1 OFFSET $2
-- name: count_users
SELECT count(*)::integer AS total FROM users
-- name: select_world
SELECT id, randomnumber FROM world WHERE id = $1
-- name: update_world
UPDATE world SET randomnumber = $2 WHERE id = $1
-- name: begin_page
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY
