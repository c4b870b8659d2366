-- Run by the harness before every trial on PostgreSQL: no users, ids from 1 again, and the same
-- 10,000 world rows for every target (a fixed seed for random(), whose generator is the same
-- since PostgreSQL 15). ANALYZE so that every trial starts with the same planner statistics.
TRUNCATE users RESTART IDENTITY;
TRUNCATE world;
SELECT setseed(0.5);
INSERT INTO world (id, randomnumber)
SELECT i, 1 + floor(random() * 10000)::integer FROM generate_series(1, 10000) AS i;
ANALYZE users;
ANALYZE world;
