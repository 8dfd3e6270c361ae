"""The check that user SQL only reads. The query also runs in a transaction that is rolled back,
so a statement that slipped past this check still changes nothing."""
import re

from dfanalyzer.errors import QueryRejected

_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_STRINGS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_WRITING = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|TRUNCATE|GRANT|REVOKE|COPY|CALL|SET|COMMIT|ROLLBACK|"
    r"START|SAVEPOINT|RELEASE|PREPARE|EXECUTE|DECLARE|COMMENT)\b",
    re.IGNORECASE,
)


def check_read_only(sql):
    """Returns the statement without a trailing ';' if it is one SELECT or WITH query, else raises
    QueryRejected saying why."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryRejected("the query is empty; send one SELECT or WITH statement")
    code = _STRINGS.sub("''", _COMMENTS.sub(" ", sql)).strip()
    if code.endswith(";"):
        code = code[:-1].rstrip()
        sql = sql.rstrip().rstrip(";")
    if ";" in code:
        raise QueryRejected("only one statement per query is allowed; remove the ';' between statements")
    first_word = code.split(None, 1)[0].upper() if code else ""
    if first_word not in ("SELECT", "WITH"):
        raise QueryRejected(f"only SELECT and WITH queries are allowed here, not {first_word or 'an empty statement'}")
    writing = _WRITING.search(code)
    if writing:
        raise QueryRejected(f"the query contains {writing.group(1).upper()}, which changes data; only reading is allowed")
    return sql.strip()
