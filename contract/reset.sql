-- Run by the harness before every trial on PostgreSQL: no users, ids from 1 again, and the same
-- 10,000 world rows for every target (a fixed seed for random(), whose generator is the same
-- since PostgreSQL 15). ANALYZE world so that every trial starts with the same planner statistics.
--
-- `users` is left unanalyzed: TRUNCATE marks its size unknown, and the planner then assumes at
-- least 10 pages, so a lookup by id is an index scan from the first request. Analyzed empty
-- (PostgreSQL 14 and later trust that), a prepared lookup's generic plan, made at its sixth run
-- on each connection, is a sequential scan while the table holds a few hundred rows, and stays
-- so as the table grows: about 70 µs more database CPU per request, on the server's cores, for a
-- target whose load starts on the empty table (with paired slices, the one the warm-up serves
-- first), not for the other. Autovacuum is off for `users` for the same reason: its ANALYZE at
-- a random moment of a trial, the table still small, would bring those plans back.
TRUNCATE users RESTART IDENTITY;
ALTER TABLE users SET (autovacuum_enabled = off);
TRUNCATE world;
SELECT setseed(0.5);
INSERT INTO world (id, randomnumber)
SELECT i, 1 + floor(random() * 10000)::integer FROM generate_series(1, 10000) AS i;
ANALYZE world;
