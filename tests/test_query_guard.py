"""Issue 9, items 5 and 6, and issue 8's known crashers: the read-only guard reads SQL the way MonetDB
does (one pass over strings, quoted names and comments) and lets through only what may be read."""
import pytest

from dfanalyzer.errors import QueryRejected
from dfanalyzer.query_guard import check_read_only, select_list

READS = [
    "SELECT epoch, loss FROM alexnet.otrainingmodel ORDER BY epoch",
    "SELECT 'DROP TABLE task; --' AS text -- DELETE",
    "SELECT /* a /* nested ; */ still comment */ 1",
    "SELECT 1 # MonetDB's line comment ; DELETE",
    "SELECT 'it''s', E'tab\\t', R'back\\slash' FROM dataflow",
    'SELECT "start", "set", "comment", "delete" FROM "keras-alexnet-df".otrain',
    "SELECT start, comment, release, execute FROM df.t",
    "WITH RECURSIVE r(n) AS (SELECT 1) SELECT n FROM r",
    "SELECT extract(year FROM created_at), substring(tag FROM 1 FOR 2) FROM dataflow",
    "SELECT CAST(1 AS DECIMAL(9, 2)), count(*) OVER (PARTITION BY df_id ORDER BY id) FROM task",
    "SELECT t.id FROM task t LEFT JOIN dataflow d ON t.df_id = d.id, performance p WHERE t.id IN (SELECT 1)",
    "SELECT name FROM sys.columns WHERE table_id IN (SELECT id FROM sys.tables)",
    "SELECT * FROM (SELECT 1 AS a) AS x(b);",
    "SELECT repeat('x', 900000), lpad(tag, 20), rpad(tag, 20, '.'), repeat(tag, epoch) FROM dataflow",
    "SELECT repeat('ab', 500000), repeat('x', -5000000000)",
]
REFUSED = {
    "SELECT '--'; COMMIT; DELETE FROM task": "one statement",
    "SELECT 1 # x\n; DELETE FROM task": "one statement",
    "SELECT /* ; */ 1; DROP TABLE task": "one statement",
    "SELECT 'a\\'; DELETE FROM task --'": "two single quotes",
    "WITH x AS (SELECT 1) DELETE FROM task": "DELETE",
    "SELECT * FROM sys.copyfrom(NULL,'a','b','c','d','e',1,1,1,'x',1,1)": "sys.copyfrom()",
    "SELECT \"copyfrom\"(1)": "copyfrom()",
    "SELECT * FROM sys.queue": "internal table",
    "SELECT * FROM sessions": "no table 'sessions'",
    "SELECT * FROM tmp._tables": "internal table",
    "SELECT " + "+".join(["1"] * 25000): "tokens",
    "SELECT " + "(" * 150 + "1" + ")" * 150: "nests",
    "SELECT 'x" + " " * 100_001: "characters long",
    "SELECT 'unclosed": "not closed",
    "SELECT 1 /* unclosed": "not closed",
    "DELETE FROM task": "only SELECT and WITH",
    "SELECT length(repeat('x', 2000000000))": "2,000,000,000 characters",
    "SELECT repeat('x', 1e999)": "repeat, lpad, rpad",
    "SELECT repeat(repeat('x', 2000), 2000)": "4,000,000 characters",
    "SELECT \"repeat\"('abc', 500000)": "1,500,000 characters",
    "SELECT lpad('a', (2000000)), 1": "2,000,000 characters",
    "SELECT repeat('x', 600000) || rpad('y', 600000)": "1,200,000 characters",
    "(T\u00a2EG\u00a4\u00b2I": "only SELECT and WITH",  # '²' is a digit to Python, not a number to SQL
    "": "empty",
}


@pytest.mark.parametrize("sql", READS)
def test_reading_queries_pass(sql):
    assert check_read_only(sql) == sql.strip().rstrip(";")


@pytest.mark.parametrize("sql, reason", REFUSED.items())
def test_refused_queries_say_why(sql, reason):
    with pytest.raises(QueryRejected) as refused:
        check_read_only(sql)
    assert reason in str(refused.value)


def test_unnamed_columns_are_named_after_their_text():
    assert select_list("SELECT count(*), max(x) AS m FROM t WHERE a = 1") == ["count(*)", "max(x) AS m"]
    assert select_list("WITH w AS (SELECT 1 AS a) SELECT DISTINCT a + 1 FROM w") == ["a + 1"]
    assert select_list("SELECT * FROM t") is None
