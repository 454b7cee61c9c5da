COPY (SELECT 1) TO 'pwned.csv'
COPY runs TO 'pwned.parquet' (FORMAT parquet)
EXPORT DATABASE 'pwned_dir'
ATTACH 'pwned.duckdb' AS x
ATTACH ':memory:' AS m
DETACH index
SELECT * FROM read_csv('/etc/passwd')
SELECT * FROM read_text('/etc/passwd')
SELECT * FROM read_blob('/etc/hostname')
SELECT * FROM glob('/*')
SELECT * FROM '/etc/passwd'
SELECT * FROM read_json_auto('.git/config')
SELECT * FROM parquet_scan('x.parquet')
INSTALL httpfs
LOAD httpfs
FORCE INSTALL json
PRAGMA enable_external_access
SET enable_external_access = true
RESET enable_external_access
SET lock_configuration = false
CREATE TABLE pwned AS SELECT 1
CREATE MACRO pwned(x) AS x
INSERT INTO runs VALUES (1)
DELETE FROM runs
DROP TABLE runs
UPDATE runs SET status = 'x'
CHECKPOINT
VACUUM
SELECT 1; SELECT 2
SELECT 1; COPY (SELECT 1) TO 'pwned.csv'
CALL enable_logging()
SELECT * FROM duckdb_secrets()
USE memory
