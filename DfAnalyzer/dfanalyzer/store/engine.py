"""One embedded MonetDB session driven through monetdbe's C API (cffi), not its Python wrapper.

Why below the wrapper: monetdbe 0.11's Python layer keeps a statement's result on the
*connection* (`Connection.result`), and a cursor's finaliser frees whatever result the connection
holds when the cursor dies. `fetchmany` keeps a generator that references its cursor, a reference
cycle, so that cursor dies only when Python's cyclic garbage collector runs: at an arbitrary later
moment, on whichever thread triggered the collection. It then frees the result of a *later*
statement (an empty answer, or a `TypeError` on a NULL result while the description is read) or
touches the engine from a foreign thread (a segfault). `fetchall` drops the result without freeing
it, so every read leaked its result. Here a result lives inside one call: it is converted to
Python values and freed in a `finally`, and so is every prepared statement; nothing is left to a
finaliser.
"""
import datetime
import itertools
import math
import os
import threading
import warnings

from dfanalyzer.errors import ConfigurationError, QueryRejected, StoreUnavailable
from dfanalyzer.store.heap_lock import HeapLock

with warnings.catch_warnings():
    # monetdbe 0.11's package imports pkg_resources only to read its own version.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    try:
        from monetdbe._lowlevel import ffi, lib
    except ImportError:  # reported by EmbeddedStore when a store is opened
        ffi = lib = None

HUGEINT_TYPE = 5  # monetdbe_types has a gap where 128-bit integers would be; 0.11 cannot return them
# Bytes a Python value of a converted row costs, roughly: what the result-memory cap counts.
VALUE_OVERHEAD = 40
PREPARED_STATEMENTS = 256  # kept per connection
# A session opens with this time limit (microseconds, 16 minutes): a value no other field of a
# fresh session holds, so the one place in the session that holds it is the time limit.
SENTINEL_TIMEOUT = 987_654_321
SESSION_SCAN_BYTES = 4096
MEMORY_LIMIT_VARIABLE = "DFA_ENGINE_MEMORY_MB"
MEMORY_LIMIT_FLOOR_MB = 1024
MEMORY_LIMIT_CEILING_MB = 4096
MEMORY_LIMIT_SHARE = 0.25  # of the machine's memory, by default


def engine_memory_limit_mb(environ=os.environ):
    """The most memory (MB) the engine may allocate and map in this process: $DFA_ENGINE_MEMORY_MB,
    else a quarter of the machine's memory, at least 1 GB and at most 4 GB; 0 for no limit.

    Why: one statement can ask the engine for gigabytes (`repeat('x', 2000000000)`, a cross join),
    and the engine checks its time limit only between steps, so the time limit cannot stop it.
    With a limit the allocation fails at once and the statement is refused with the engine's
    "Could not allocate space". monetdbe takes it when the process opens its first database
    (`monetdbe_options.memorylimit`, GDK's `GDK_vm_maxsize`): it counts the database's mapped
    columns too, so a database larger than the limit needs a larger one."""
    configured = environ.get(MEMORY_LIMIT_VARIABLE, "").strip()
    if configured:
        try:
            megabytes = int(configured)
        except ValueError:
            raise ConfigurationError(f"{MEMORY_LIMIT_VARIABLE}={configured!r} is not a whole number of megabytes "
                                     "(0 for no limit)") from None
        if megabytes < 0:
            raise ConfigurationError(f"{MEMORY_LIMIT_VARIABLE} must be 0 (no limit) or a positive number of MB")
        return megabytes
    machine_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2 ** 20
    return max(MEMORY_LIMIT_FLOOR_MB, min(MEMORY_LIMIT_CEILING_MB, int(machine_mb * MEMORY_LIMIT_SHARE)))


class EngineError(QueryRejected):
    """A statement the engine refused, with the engine's message."""


class ResultTooLarge(QueryRejected):
    """A result larger than the service lets one query hold in memory."""


class Result:
    """What a statement returned: column names, rows as tuples, and the affected row count."""

    __slots__ = ("columns", "rows", "affected")

    def __init__(self, columns, rows, affected):
        self.columns, self.rows, self.affected = columns, rows, affected


def _message(raw):
    text = ffi.string(raw).decode(errors="replace")
    # "42000!SELECT: identifier 'x' unknown" or "MALException:...:42000!..." -> the readable part
    return text.split("!", 1)[-1].strip() if "!" in text else text.strip()


def _check(raw):
    if raw:
        raise EngineError(_message(raw))


def _timestamp(value):
    struct = ffi.new("monetdbe_data_timestamp *")
    struct.date.year, struct.date.month, struct.date.day = value.year, value.month, value.day
    struct.time.hours, struct.time.minutes, struct.time.seconds = value.hour, value.minute, value.second
    struct.time.ms = value.microsecond // 1000
    return struct


def _bound_value(value, param_type):
    """The C value monetdbe_bind expects for a parameter of the statement's declared type.

    The type comes from the prepared statement, not from the Python value (the wrapper picks an
    integer width from the value and cannot bind None)."""
    if value is None:
        return ffi.NULL
    if param_type == lib.monetdbe_double:
        return ffi.new("double *", float(value))
    if param_type == lib.monetdbe_float:
        return ffi.new("float *", float(value))
    if param_type == lib.monetdbe_int64_t:
        return ffi.new("int64_t *", int(value))
    if param_type == lib.monetdbe_int32_t:
        return ffi.new("int32_t *", int(value))
    if param_type == lib.monetdbe_int16_t:
        return ffi.new("int16_t *", int(value))
    if param_type in (lib.monetdbe_int8_t, lib.monetdbe_bool):
        return ffi.new("int8_t *", int(value))
    if param_type == lib.monetdbe_timestamp:
        return _timestamp(value)
    if isinstance(value, datetime.datetime):
        value = value.isoformat(sep=" ")
    return ffi.new("char[]", str(value).encode())


def _bind_column(statement, values, position, width):
    """Binds `values` as the parameters `position`, `position + width`, ... of `statement`;
    returns the C objects that must live until it runs."""
    param_type, null = statement.type[position], ffi.NULL
    if param_type in (lib.monetdbe_int64_t, lib.monetdbe_double):
        alive = ffi.new("int64_t[]" if param_type == lib.monetdbe_int64_t else "double[]",
                        [0 if value is None else value for value in values])
        pointers = [null if value is None else alive + row for row, value in enumerate(values)]
    else:
        alive = {}
        pointers = []
        for value in values:
            if value is None:
                pointers.append(null)
                continue
            pointer = alive.get(value)
            if pointer is None:
                pointer = alive[value] = _bound_value(value, param_type)
            pointers.append(pointer)
    indexes = range(position, position + len(values) * width, width)
    for error in map(lib.monetdbe_bind, itertools.repeat(statement, len(values)), pointers, indexes):
        if error:
            _check(error)
    return alive


def _python_date(data):
    """A date, or its ISO 8601 text when its year is outside Python's 1-9999 (MonetDB's dates
    reach years -4712 to 170000: `date '9999-12-31' + interval '1' day` is one)."""
    if 1 <= data.year <= 9999:
        return datetime.date(data.year, data.month, data.day)
    return _date_text(data)


def _date_text(data):
    year = f"-{-data.year:04d}" if data.year < 0 else f"{data.year:04d}"
    return f"{year}-{data.month:02d}-{data.day:02d}"


def _python_timestamp(data):
    """A datetime, or its ISO 8601 text (as `datetime.isoformat` writes it) outside the years 1-9999."""
    if 1 <= data.date.year <= 9999:
        return datetime.datetime(data.date.year, data.date.month, data.date.day, data.time.hours,
                                 data.time.minutes, data.time.seconds, data.time.ms * 1000)
    fraction = f".{data.time.ms * 1000:06d}" if data.time.ms else ""
    return (f"{_date_text(data.date)}T{data.time.hours:02d}:{data.time.minutes:02d}:"
            f"{data.time.seconds:02d}{fraction}")


def _column_values(column, count):
    """The first `count` values of a result column as Python values (NULL is None)."""
    kind = column.type
    if count == 0 and kind != HUGEINT_TYPE:
        return []  # the engine gives no data pointer for an empty column
    if kind == lib.monetdbe_str:
        typed = ffi.cast("monetdbe_column_str *", column)
        return [None if typed.is_null(typed.data + r) else ffi.string(typed.data[r]).decode(errors="replace")
                for r in range(count)]
    if kind == lib.monetdbe_timestamp:
        typed = ffi.cast("monetdbe_column_timestamp *", column)
        return [None if typed.is_null(typed.data + r) else _python_timestamp(typed.data[r]) for r in range(count)]
    if kind == lib.monetdbe_date:
        typed = ffi.cast("monetdbe_column_date *", column)
        return [None if typed.is_null(typed.data + r) else _python_date(typed.data[r]) for r in range(count)]
    if kind == lib.monetdbe_time:
        typed = ffi.cast("monetdbe_column_time *", column)
        return [None if typed.is_null(typed.data + r) else
                datetime.time(typed.data[r].hours, typed.data[r].minutes, typed.data[r].seconds, typed.data[r].ms * 1000)
                for r in range(count)]
    if kind in (lib.monetdbe_double, lib.monetdbe_float):
        typed = ffi.cast("monetdbe_column_double *" if kind == lib.monetdbe_double else "monetdbe_column_float *", column)
        return [None if math.isnan(v) else v for v in ffi.unpack(typed.data, count)]
    integer_types = {lib.monetdbe_bool: "bool", lib.monetdbe_int8_t: "int8_t", lib.monetdbe_int16_t: "int16_t",
                     lib.monetdbe_int32_t: "int32_t", lib.monetdbe_int64_t: "int64_t", lib.monetdbe_size_t: "size_t"}
    if kind in integer_types:
        typed = ffi.cast(f"monetdbe_column_{integer_types[kind]} *", column)
        null, scale = typed.null_value, typed.scale
        values = ffi.unpack(typed.data, count)
        if kind == lib.monetdbe_bool:
            return [None if v == null else bool(v) for v in values]
        if scale and scale != 1:  # a DECIMAL arrives as an integer and its 10^digits
            return [None if v == null else v / scale for v in values]
        return [None if v == null else v for v in values]
    if kind == HUGEINT_TYPE:
        raise QueryRejected("a result column has a type embedded MonetDB cannot return (HUGEINT, e.g. SUM over "
                            "integers); CAST it, e.g. CAST(SUM(x) AS BIGINT) or SUM(x) * 1.0")
    raise QueryRejected(f"a result column has a type embedded MonetDB cannot return (type {kind}); CAST it")


def _value_size(value):
    return VALUE_OVERHEAD + (len(value) if isinstance(value, str) else 0)


def _time_limit_words(database):
    session = ffi.cast("void **", database)[0]  # monetdbe_database_internal starts with its Client
    return ffi.cast("int64_t *", session)


class _TimeLimitField:
    """Finds where monetdbe keeps a session's query time limit (microseconds).

    Why: monetdbe 0.11 offers no way to stop a running statement (its `sys.stop`/`sys.queue`
    crash it), but its interpreter compares the statement's run time with this field of the
    session before every step. Lowering the field from another thread stops the statement at its
    next step, as its own time limit would; raising it again makes the session usable as before.
    The field is found by value, in a session opened with SENTINEL_TIMEOUT, rather than by a
    struct layout written here: a different engine build finds nothing and is left without
    interruption instead of being corrupted. Sessions are opened with the sentinel one at a time,
    so that no other session holds it while one is searched."""

    def __init__(self):
        self._lock = threading.Lock()
        self._index = None

    def open(self, database_dir, query_timeout, open_database):
        """(database, its time-limit field or None), the field set to `query_timeout`."""
        with self._lock:
            database = open_database(database_dir, SENTINEL_TIMEOUT)
            words = _time_limit_words(database)
            if self._index is None:
                found = [i for i in range(SESSION_SCAN_BYTES // 8) if words[i] == SENTINEL_TIMEOUT]
                self._index = found[0] if len(found) == 1 else -1
            if self._index >= 0 and words[self._index] == SENTINEL_TIMEOUT:
                words[self._index] = int(query_timeout)
                return database, words + self._index
            lib.monetdbe_close(database)
            return open_database(database_dir, query_timeout), None


_TIME_LIMIT_FIELD = _TimeLimitField()


class EngineConnection:
    """One monetdbe database handle. It must be used and closed on the thread that opened it:
    MonetDB checks each call's stack depth against that thread.

    Args:
        database_dir: the database directory.
        query_timeout: microseconds after which the engine aborts a statement; 0 for none. A
            connection with a time limit can be interrupted (`interrupt`).
        heap_lock: the store's HeapLock.
        writes: whether this connection writes: its statements run under the exclusive side of
            `heap_lock`, a reading connection's under the shared side.
    """

    def __init__(self, database_dir, query_timeout=0, heap_lock=None, writes=False):
        self.heap_lock = heap_lock or HeapLock()
        self.query_timeout = query_timeout  # user queries have one; they let waiting writers go first
        self.writes = writes
        self.thread = threading.get_ident()
        self.statements = 0
        if query_timeout:
            self._database, self._time_limit = _TIME_LIMIT_FIELD.open(database_dir, query_timeout, self._opened)
        else:
            self._database, self._time_limit = self._opened(database_dir, 0), None
        self._statement_lock = threading.Lock()  # between a statement's start and end and `interrupt`
        self._interruptible = False
        self.stop_reason = None
        self._statements = {}  # SQL -> prepared statement, least recently used first
        self._schema_version = 0
        self.prepares = 0
        self.transactions = 0

    @staticmethod
    def _opened(database_dir, query_timeout):
        handle = ffi.new("monetdbe_database *")
        options = ffi.new("monetdbe_options *")
        options.querytimeout = int(query_timeout)
        options.memorylimit = engine_memory_limit_mb()  # the process's first open sets it (see there)
        code = lib.monetdbe_open(handle, database_dir.encode(), options)
        if code:
            reason = _message(lib.monetdbe_error(handle[0])) if code == -2 and handle[0] else f"code {code}"
            if handle[0]:
                lib.monetdbe_close(handle[0])
            raise StoreUnavailable(f"cannot open embedded MonetDB in {database_dir}: {reason}")
        return handle[0]

    def run(self, sql, params=(), max_rows=None, max_bytes=None, time_limit=None, preemptible=False,
            cancelled=None):
        """Runs one statement with `params` bound to its `?`; returns its Result, at most
        `max_rows` rows; raises ResultTooLarge when the rows would take more than `max_bytes`.

        On a connection with a time limit, `time_limit` (microseconds) replaces it for this
        statement, which `interrupt` can stop; with `preemptible` a writer that waits for it
        long stops it too (`stop_reason` then says "preempted"). `cancelled()`, checked as the
        statement starts, stops it at once (an `interrupt("cancelled")` that came just before)."""
        if self.writes:
            with self.heap_lock.exclusive():
                return self._run(sql, params, max_rows, max_bytes, time_limit)
        preempt = (lambda: self.interrupt("preempted")) if preemptible else None
        with self.heap_lock.shared(yield_to_writers=self.query_timeout > 0, preempt=preempt):
            return self._run(sql, params, max_rows, max_bytes, time_limit, cancelled)

    def interrupt(self, reason):
        """From any thread: stops this connection's statement if one is running and was given a
        `time_limit`, within one engine step; it then fails as if past its time limit, and
        `stop_reason` is `reason`. Returns whether a statement was interrupted."""
        with self._statement_lock:
            if not self._interruptible:
                return False
            self._time_limit[0] = 1
            self.stop_reason = reason
            return True

    def run_unguarded(self, sql):
        """Runs a statement that touches no table (e.g. SELECT 1) without the HeapLock."""
        return self._run(sql, (), None, None, None)

    def _run(self, sql, params, max_rows, max_bytes, time_limit, cancelled=None):
        self.statements += 1
        if sql == "START TRANSACTION":
            self.transactions += 1
        result_pointer = ffi.new("monetdbe_result **")
        affected = ffi.new("monetdbe_cnt *")
        self._start_statement(time_limit, cancelled)
        try:
            if params:
                self._execute_prepared(sql, params, result_pointer, affected)
            else:
                _check(lib.monetdbe_query(self._database, sql.encode(), result_pointer, affected))
        finally:
            self._end_statement()
        result = result_pointer[0]
        if result == ffi.NULL:
            return Result([], [], affected[0])
        try:
            return Result(*self._converted(result, max_rows, max_bytes), affected[0])
        finally:
            lib.monetdbe_cleanup_result(self._database, result)

    def _start_statement(self, time_limit, cancelled):
        if self._time_limit is None:
            return
        with self._statement_lock:
            self._time_limit[0] = max(1, int(time_limit or self.query_timeout))
            self._interruptible = time_limit is not None
            self.stop_reason = None
            if self._interruptible and cancelled is not None and cancelled():
                self._time_limit[0] = 1
                self.stop_reason = "cancelled"

    def _end_statement(self):
        if self._time_limit is not None:
            with self._statement_lock:
                self._interruptible = False

    def _execute_prepared(self, sql, params, result_pointer, affected):
        statement = self._prepared(sql)
        if statement.nparam != len(params):
            raise QueryRejected(f"statement has {statement.nparam} parameters, {len(params)} given")
        bound = [_bound_value(value, statement.type[index]) for index, value in enumerate(params)]
        for index, value in enumerate(bound):
            _check(lib.monetdbe_bind(statement, value, index))
        _check(lib.monetdbe_execute(statement, result_pointer, affected))

    def run_columns(self, sql, columns, first_row, row_count):
        """Runs a multi-row INSERT whose parameters are rows `first_row` to `first_row + row_count`
        of `columns` (lists of values, one per column), row after row.

        Bound per column rather than through `_bound_value`: a number is taken from one C array
        per column and an equal text is encoded once, which makes binding several times cheaper
        (monetdbe_bind copies numbers and keeps a pointer to texts, which live until the end)."""
        with self.heap_lock.exclusive():
            self.statements += 1
            statement = self._prepared(sql)
            width = len(columns)
            if statement.nparam != width * row_count:
                raise QueryRejected(f"statement has {statement.nparam} parameters, {width * row_count} given")
            alive = []
            for position, values in enumerate(columns):
                alive.append(_bind_column(statement, values[first_row:first_row + row_count], position, width))
            result_pointer, affected = ffi.new("monetdbe_result **"), ffi.new("monetdbe_cnt *")
            _check(lib.monetdbe_execute(statement, result_pointer, affected))
            if result_pointer[0] != ffi.NULL:
                lib.monetdbe_cleanup_result(self._database, result_pointer[0])
            return affected[0]

    def _prepared(self, sql):
        """The prepared statement of `sql`, kept for the next call: preparing costs the engine
        memory it only gives back when the connection closes, executing again costs none."""
        statement = self._statements.pop(sql, None)
        if statement is None:
            self.prepares += 1
            statement_pointer = ffi.new("monetdbe_statement **")
            _check(lib.monetdbe_prepare(self._database, sql.encode(), statement_pointer))
            statement = statement_pointer[0]
            if len(self._statements) >= PREPARED_STATEMENTS:
                oldest = next(iter(self._statements))
                lib.monetdbe_cleanup_statement(self._database, self._statements.pop(oldest))
        self._statements[sql] = statement  # most recently used last
        return statement

    def forget_statements_before(self, schema_version):
        """Drops prepared statements made before the tables last changed (`schema_version`)."""
        if schema_version != self._schema_version:
            self._drop_statements()
            self._schema_version = schema_version

    def _drop_statements(self):
        for statement in self._statements.values():
            lib.monetdbe_cleanup_statement(self._database, statement)
        self._statements.clear()

    @staticmethod
    def _converted(result, max_rows, max_bytes):
        count = result.nrows if max_rows is None else min(result.nrows, max_rows)
        names, columns = [], []
        column_pointer = ffi.new("monetdbe_column **")
        for index in range(result.ncols):
            _check(lib.monetdbe_result_fetch(result, column_pointer, index))
            column = column_pointer[0]
            names.append(ffi.string(column.name).decode() if column.name else "")
            values = _column_values(column, count)
            if max_bytes is not None:
                max_bytes -= sum(_value_size(v) for v in values)
                if max_bytes < 0:
                    raise ResultTooLarge(
                        f"the result is larger than the service lets one query hold in memory ({count} rows); "
                        "ask for fewer rows (a smaller limit) or fewer or shorter columns")
            columns.append(values)
        return names, list(zip(*columns)) if columns else []

    def close(self):
        if self._database is not None:
            self._drop_statements()
            lib.monetdbe_close(self._database)
            self._database = None
