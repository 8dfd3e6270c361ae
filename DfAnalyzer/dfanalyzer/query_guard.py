"""The check that user SQL only reads, and only touches what it may.

The statement is split into tokens in one pass (strings, quoted identifiers and comments are
recognised where they start, so `'--'` is a string and `-- '` a comment), then checked:

- one statement, starting with SELECT or WITH, without words that change data;
- bounded size (characters, tokens, nesting): very long expressions crash the embedded engine;
- text built from constants (`repeat`, `lpad`, `rpad`) bounded by MAX_BUILT_CHARACTERS;
- an allow-list of what it may touch: functions from `ALLOWED_FUNCTIONS`, tables of the PROV-Df
  catalog, a few catalog views of MonetDB, the dataflows' tables (`<dataflow>.<set>`) and its own
  WITH names. The engine's internal table functions (e.g. `sys.copyfrom`) can take the process
  down, so they are unreachable.

The query also runs in a transaction that is rolled back, so a statement that slipped past this
check still changes nothing.
"""
import re
from dataclasses import dataclass

from dfanalyzer.errors import QueryRejected
from dfanalyzer.identifiers import RESERVED_SCHEMAS
from dfanalyzer.store.base import catalog_statements

MAX_SQL_CHARACTERS = 100_000
MAX_TOKENS = 5_000  # a 25,000-term sum kills embedded MonetDB; 2,500 terms are far from that
MAX_NESTING = 100
# Text a query may build from constants (repeat, lpad, rpad): the engine builds such a value in
# one step, which neither the time limit nor a cancel interrupts (repeat('x', 2000000000) grew
# the worker to 4 GB in 91 s). A million characters is 1 MB per value, per row.
MAX_BUILT_CHARACTERS = 1_000_000
# function -> position of the argument that gives the length of what it builds
STRING_BUILDERS = {"repeat": 1, "lpad": 1, "rpad": 1}

WRITING_WORDS = {"INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT", "REVOKE",
                 "COPY", "CALL", "COMMIT", "ROLLBACK"}
# Words that may stand before '(' without calling a function.
NOT_CALLS = {"in", "exists", "as", "values", "over", "filter", "using", "on", "and", "or", "not", "from", "join",
             "select", "where", "by", "having", "union", "intersect", "except", "all", "any", "some", "when",
             "then", "else", "case", "lateral", "with", "recursive", "is", "between", "like", "ilike", "escape",
             "distinct", "group", "window", "partition", "rows", "range", "limit", "offset", "within", "end",
             "lateral", "into", "set", "interval", "array", "row", "returns", "sample", "top"}
ALLOWED_FUNCTIONS = set("""
count sum avg min max median quantile quantile_avg median_avg stddev_samp stddev_pop var_samp var_pop
corr covar_samp covar_pop group_concat listagg string_agg every bool_and bool_or
row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
abs sign round floor ceil ceiling sqrt cbrt power pow exp ln log log10 log2 mod pi sin cos tan asin acos atan
atan2 sinh cosh tanh cot degrees radians greatest least sql_min sql_max rand
coalesce nullif ifthenelse isnull isnan cast convert extract
lower upper lcase ucase length char_length character_length octet_length substring substr left right
trim ltrim rtrim lpad rpad replace concat position locate insert_str repeat reverse ascii code splitpart
split_part strings difference soundex qgramnormalize levenshtein like_escape contains startswith endswith
now current_date current_time current_timestamp localtime localtimestamp curdate curtime
year month day hour minute second week weekofyear dayofweek dayofmonth dayofyear quarter epoch epoch_ms
date_trunc date_part str_to_date str_to_time str_to_timestamp date_to_str time_to_str timestamp_to_str
sys_epoch timestampadd timestampdiff datediff date_add date_sub
json_length json_keyarray json_valuearray json_filter json_text json_number json_isvalid
varchar char character decimal numeric float double real int integer bigint smallint tinyint
boolean clob text blob timestamp time date
""".split())
# MonetDB catalog views that are plain tables to read (schema discovery).
ALLOWED_SYSTEM_TABLES = {"tables", "columns", "schemas", "keywords"}
CATALOG_TABLES = {re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", statement).group(1).lower()
                  for statement in catalog_statements() if "CREATE TABLE" in statement}
ENDS_FROM_LIST = {"where", "group", "order", "having", "limit", "offset", "union", "except", "intersect",
                  "window", "sample", "fetch", "select", "qualify"}
STRING_PREFIXES = {"e", "r", "x", "u&"}
DIGITS = "0123456789"  # not str.isdigit(): "²" is a digit to Python, not to SQL
NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class UnknownTable(QueryRejected):
    """The query reads a table that is neither in the catalog nor named <dataflow>.<set>."""


@dataclass
class Token:
    kind: str  # word, quoted, string, number, symbol
    text: str  # the source text
    position: int

    @property
    def name(self):
        """What the engine names an identifier token: unquoted words are lower-cased."""
        if self.kind == "quoted":
            return self.text[1:-1].replace('""', '"')
        return self.text.lower()

    def is_word(self, *words):
        return self.kind == "word" and self.text.upper() in words


def tokenize(sql):
    """The tokens of `sql` without comments and whitespace; QueryRejected when a string, quoted
    identifier or comment is not closed."""
    tokens = []
    index, length = 0, len(sql)
    while index < length:
        char = sql[index]
        if char.isspace():
            index += 1
        elif sql.startswith("--", index) or char == "#":  # MonetDB also takes '#' as a line comment
            end = sql.find("\n", index)
            index = length if end < 0 else end + 1
        elif sql.startswith("/*", index):
            index = _comment_end(sql, index)
        elif char == "'":
            end = _string_end(sql, index, backslash_escapes=True)
            tokens.append(Token("string", sql[index:end], index))
            index = end
        elif char == '"':
            end = _string_end(sql, index, backslash_escapes=False, quote='"')
            tokens.append(Token("quoted", sql[index:end], index))
            index = end
        elif char.isalpha() or char == "_":
            end = index + 1
            while end < length and (sql[end].isalnum() or sql[end] in "_$"):
                end += 1
            word = sql[index:end]
            if word.lower() == "u" and sql.startswith("&'", end):
                end += 1
                word += "&"
            if word.lower() in STRING_PREFIXES and end < length and sql[end] == "'":
                close = _string_end(sql, end, backslash_escapes=word.lower() != "r")
                tokens.append(Token("string", sql[index:close], index))
                index = close
            else:
                tokens.append(Token("word", word, index))
                index = end
        elif char in DIGITS or (char == "." and index + 1 < length and sql[index + 1] in DIGITS):
            match = NUMBER.match(sql, index)
            tokens.append(Token("number", match.group(0), index))
            index = match.end()
        else:
            two = sql[index:index + 2]
            text = two if two in ("<=", ">=", "<>", "!=", "||", "::") else char
            tokens.append(Token("symbol", text, index))
            index += len(text)
        if len(tokens) > MAX_TOKENS:
            raise QueryRejected(f"the query has more than {MAX_TOKENS} tokens; that size can crash the engine. "
                                "Shorten it (e.g. compute long expressions in several queries)")
    return tokens


def _comment_end(sql, start):
    """The end of a /* */ comment; MonetDB nests them."""
    depth, index = 0, start
    while index < len(sql):
        if sql.startswith("/*", index):
            depth += 1
            index += 2
        elif sql.startswith("*/", index):
            depth -= 1
            index += 2
            if depth == 0:
                return index
        else:
            index += 1
    raise QueryRejected(f"the comment opened at character {start + 1} is not closed; add '*/'")


def _string_end(sql, start, backslash_escapes, quote="'"):
    """The end of the string literal (or, with quote='"', quoted name) whose quote is at `start`;
    a doubled quote stands for one. MonetDB's plain strings take backslash escapes; whether a
    backslash escapes a quote differs between MonetDB versions, so that form is refused and '' is
    the one way to put a quote in a string."""
    what = "string" if quote == "'" else "quoted name"
    index = start + 1
    while index < len(sql):
        char = sql[index]
        if char == "\\" and backslash_escapes:
            if sql.startswith(quote, index + 1):
                raise QueryRejected(f"the string at character {start + 1} holds \\' ; write a quote inside a "
                                    "string as '' (two single quotes)")
            index += 2
        elif char == quote:
            if sql.startswith(quote, index + 1):
                index += 2
            else:
                return index + 1
        else:
            index += 1
    raise QueryRejected(f"the {what} opened at character {start + 1} is not closed; add its closing quote ({quote})")


def check_read_only(sql):
    """Returns the statement without a trailing ';' if it is one SELECT or WITH query that only
    touches what user SQL may, else raises QueryRejected saying why."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryRejected("the query is empty; send one SELECT or WITH statement")
    if len(sql) > MAX_SQL_CHARACTERS:
        raise QueryRejected(f"the query is {len(sql)} characters long; the limit is {MAX_SQL_CHARACTERS}")
    if "\x00" in sql:
        raise QueryRejected("the query contains a NUL character; remove it")
    tokens = tokenize(sql)
    if tokens and tokens[-1].text == ";":
        sql = sql[:tokens[-1].position]
        tokens = tokens[:-1]
    if any(token.text == ";" for token in tokens):
        raise QueryRejected("only one statement per query is allowed; remove the ';' between statements")
    first = next((token for token in tokens if token.text != "("), None)
    if first is None or not first.is_word("SELECT", "WITH"):
        raise QueryRejected("only SELECT and WITH queries are allowed here, not "
                            f"{first.text.upper() if first else 'an empty statement'}")
    for token in tokens:
        if token.kind == "word" and token.text.upper() in WRITING_WORDS:
            raise QueryRejected(f"the query contains {token.text.upper()}, which changes data; only reading is "
                                f"allowed (a column named {token.text.lower()} is written in double quotes: "
                                f"\"{token.text.lower()}\")")
    _check_touched(tokens)
    _check_built_text(tokens)
    return sql.strip()


def _check_built_text(tokens):
    """Refuses queries whose repeat/lpad/rpad calls with constant lengths build more than
    MAX_BUILT_CHARACTERS in all (nested repeats multiply). Lengths computed from columns are
    bounded by the engine's memory limit instead (`store/engine.py`)."""
    total, index = 0, 0
    while index < len(tokens):
        if _builder_at(tokens, index):
            size, index = _built_size(tokens, index)
            total += size
            if total > MAX_BUILT_CHARACTERS:
                raise QueryRejected(f"the query builds text of {total:,} characters or more from constants "
                                    f"(repeat, lpad, rpad); the limit is {MAX_BUILT_CHARACTERS:,} characters")
        else:
            index += 1


def _builder_at(tokens, index):
    return (tokens[index].kind in ("word", "quoted") and tokens[index].name in STRING_BUILDERS
            and index + 1 < len(tokens) and tokens[index + 1].text == "(")


def _arguments(tokens, open_index):
    """[(start, end)] token spans of the arguments of the call whose '(' is at `open_index`,
    and the index after its ')'."""
    spans, depth, start = [], 0, open_index + 1
    for index in range(open_index, len(tokens)):
        text = tokens[index].text
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            if depth == 0:
                spans.append((start, index))
                return spans, index + 1
        elif text == "," and depth == 1:
            spans.append((start, index))
            start = index + 1
    spans.append((start, len(tokens)))
    return spans, len(tokens)


def _built_size(tokens, index):
    """(characters the call at `index` builds at most, or 0 when a length is not a constant;
    the index after the call)."""
    spans, after = _arguments(tokens, index + 1)
    position = STRING_BUILDERS[tokens[index].name]
    if position >= len(spans):
        return 0, after
    length = _constant_number(tokens[slice(*spans[position])])
    if length is None:
        return 0, after
    if tokens[index].name != "repeat":
        return length, after  # lpad and rpad answer exactly `length` characters
    return length * max(1, _text_size(tokens, *spans[0])), after


def _text_size(tokens, start, end):
    """Characters of the text argument tokens[start:end] when known: a string constant or a
    builder call; otherwise 1 (a column's value is bounded by the engine's memory limit)."""
    if end - start == 1 and tokens[start].kind == "string":
        text = tokens[start].text
        return len(text) - text.index("'") - 2  # without its quotes and prefix (e'...')
    if start < end and _builder_at(tokens, start):
        size, after = _built_size(tokens, start)
        if after == end:
            return size
    return 1


def _constant_number(tokens):
    """The value of a number constant (in parentheses or after a '+' too), else None."""
    numbers = [token for token in tokens if token.text not in ("(", ")", "+")]
    if len(numbers) != 1 or numbers[0].kind != "number":
        return None
    try:
        return max(0, int(float(numbers[0].text)))
    except OverflowError:  # 1e999
        return MAX_BUILT_CHARACTERS + 1


def _check_touched(tokens):
    """Functions called and tables read must be on the allow-lists (see the module docstring)."""
    with_names = _with_names(tokens)
    opened_by_call = []  # per open parenthesis: whether a function call opened it
    from_list = [False]  # per nesting level: whether we are in a FROM list
    expect_table = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.text == "(":
            opened_by_call.append(_is_call(tokens, index - 1))
            from_list.append(False)
            if len(opened_by_call) > MAX_NESTING:
                raise QueryRejected(f"the query nests parentheses deeper than {MAX_NESTING}; simplify it")
            expect_table = False
        elif token.text == ")":
            if not opened_by_call:
                raise QueryRejected(f"unbalanced ')' at character {token.position + 1}")
            opened_by_call.pop()
            from_list.pop()
        elif token.is_word("FROM", "JOIN") and not (opened_by_call and opened_by_call[-1]):
            from_list[-1] = True
            expect_table = True
        elif token.text == "," and from_list[-1]:
            expect_table = True
        elif token.kind == "word" and token.text.lower() in ENDS_FROM_LIST:
            from_list[-1] = False
            expect_table = False
        elif expect_table and token.kind in ("word", "quoted") and not token.is_word("LATERAL"):
            index = _check_table(tokens, index, with_names)
            expect_table = False
            continue
        if token.kind in ("word", "quoted") and following is not None and following.text == "(":
            if _is_call(tokens, index):
                _check_function(tokens, index)
        index += 1
    if opened_by_call:
        raise QueryRejected("unbalanced parentheses: a '(' is not closed")


def _is_call(tokens, index):
    """Whether the identifier at `index`, followed by '(', calls a function."""
    if index < 0 or tokens[index].kind not in ("word", "quoted"):
        return False
    token = tokens[index]
    if token.kind == "word" and token.text.lower() in NOT_CALLS:
        return False
    if index > 0 and tokens[index - 1].is_word("AS"):  # an alias with columns, or a type: CAST(x AS DECIMAL(9, 2))
        return False
    close = _matching_close(tokens, index + 1)
    if close + 1 < len(tokens) and tokens[close + 1].is_word("AS"):  # WITH name(a, b) AS (...)
        return False
    return True


def _matching_close(tokens, open_index):
    depth = 0
    for index in range(open_index, len(tokens)):
        if tokens[index].text == "(":
            depth += 1
        elif tokens[index].text == ")":
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


def _check_function(tokens, index):
    name = tokens[index].name
    qualified = index >= 2 and tokens[index - 1].text == "." and tokens[index - 2].kind in ("word", "quoted")
    schema = tokens[index - 2].name if qualified else None
    if name not in ALLOWED_FUNCTIONS or schema not in (None, "sys"):
        shown = f"{schema}.{name}" if schema else name
        raise QueryRejected(f"the function {shown}() may not be called from a query; allowed are the usual "
                            "aggregate, window, numeric, text and time functions (count, avg, round, lower, "
                            "extract, ...)")


def _check_table(tokens, index, with_names):
    """Checks the (possibly qualified) table name starting at `index`; returns the index after it."""
    parts = [tokens[index].name]
    end = index + 1
    while end + 1 < len(tokens) and tokens[end].text == "." and tokens[end + 1].kind in ("word", "quoted"):
        parts.append(tokens[end + 1].name)
        end += 2
    if end < len(tokens) and tokens[end].text == "(":
        return index  # a table function: the function check decides
    if len(parts) == 1:
        if parts[0] not in with_names and parts[0] not in CATALOG_TABLES:
            raise UnknownTable(f"there is no table {parts[0]!r} a query may read; tables of a dataflow are named "
                                "<dataflow>.<set> (e.g. alexnet.otrainingmodel), catalog tables by their name "
                                "(dataflow, task, ...)")
    elif len(parts) == 2:
        schema, table = parts
        allowed = CATALOG_TABLES | ALLOWED_SYSTEM_TABLES if schema == "sys" else None
        if schema in RESERVED_SCHEMAS and (allowed is None or table not in allowed):
            raise QueryRejected(f"{schema}.{table} is an internal table of MonetDB that queries may not read; "
                                f"readable are the catalog tables and sys.{', sys.'.join(sorted(ALLOWED_SYSTEM_TABLES))}")
    else:
        raise QueryRejected(f"{'.'.join(parts)} is not a table name; write <dataflow>.<set>")
    return end


def _with_names(tokens):
    """The names a WITH clause defines: `name AS (` or `name (columns) AS (`."""
    names = set()
    for index, token in enumerate(tokens[:-2]):
        if token.kind not in ("word", "quoted"):
            continue
        after = index + 1
        if tokens[after].text == "(":
            after = _matching_close(tokens, after) + 1
        if after + 1 < len(tokens) and tokens[after].is_word("AS") and tokens[after + 1].text == "(":
            names.add(token.name)
    return names


def select_list(sql):
    """The source text of each item of the outer SELECT list of `sql`, or None when a `*` makes
    the positions of the result columns unknown. Used to name the columns MonetDB leaves unnamed
    (`%1`): `count(*)` reads better than `%1`."""
    tokens = tokenize(sql)
    depth, start, items = 0, None, []
    for index, token in enumerate(tokens):
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and start is None and token.is_word("SELECT"):
            start = index + 1
            if start < len(tokens) and tokens[start].is_word("DISTINCT", "ALL"):
                start += 1
            item_start = start
        elif depth == 0 and start is not None and (token.text == "," or token.is_word("FROM") or
                                                   token.kind == "word" and token.text.lower() in ENDS_FROM_LIST):
            items.append(tokens[item_start:index])
            item_start = index + 1
            if token.text != ",":
                break
    else:
        if start is not None:
            items.append(tokens[item_start:])
    texts = []
    for item in items:
        if not item or item[-1].text == "*":
            return None
        end = item[-1].position + len(item[-1].text)
        texts.append(sql[item[0].position:end])
    return texts or None
