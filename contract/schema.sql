-- The database both apps use with STORE=postgres: part of the contract, since both apps send the
-- same SQL against it. The harness (harness/database.py) loads it once into a fresh database and
-- runs reset.sql before every trial; the apps never change the schema.

-- `integer` ids, not bigint: node-postgres returns int8 as a string, int4 as a number, and both
-- apps treat an id above 2^31 - 1 as a missing user without asking the database.
CREATE TABLE users (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE  -- a second user with the same email is a 409
);

-- TechEmpower's World table: 10,000 rows, random numbers in 1..10,000.
CREATE TABLE world (
    id integer PRIMARY KEY,
    randomnumber integer NOT NULL
);
