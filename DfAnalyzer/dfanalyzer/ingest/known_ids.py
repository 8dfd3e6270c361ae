"""Which message ids may be stored already, answered from memory for ids that certainly are not.

Looking ids up in `ingested_message` costs the engine a scan of the whole table per statement
(measured on monetdbe 0.11: about 0.25-1 ms per id once it holds 200,000 ids), so a service
that ran for weeks would spend most of each batch on it. Nearly every id a client sends is new:
a Bloom filter of the stored ids says "certainly not stored" for those without touching the
table, and only the few it cannot rule out (re-sent ids, about 1% of new ones) are looked up.
"""
import math

FALSE_POSITIVE_RATE = 0.01
MINIMUM_CAPACITY = 1_000_000  # ids; about 1.2 MB of bits
LOAD_CHUNK = 100_000  # ids read per statement when the filter is built (at least)


class _BloomFilter:
    def __init__(self, capacity):
        self.capacity = capacity
        self.size = max(8, int(-capacity * math.log(FALSE_POSITIVE_RATE) / math.log(2) ** 2))
        self.hashes = max(1, round(self.size / capacity * math.log(2)))
        self.bits = bytearray((self.size + 7) // 8)
        self.count = 0

    def _positions(self, key):
        # Python's hash of a str: salted per process, which suits a filter that lives in memory,
        # and kept by the str object, so the same id costs it once. Its 64 bits give two
        # hashes, combined as in double hashing.
        digest = hash(key) & 0xFFFF_FFFF_FFFF_FFFF
        first, second, size = digest & 0xFFFF_FFFF, (digest >> 32) | 1, self.size
        return [(first + i * second) % size for i in range(self.hashes)]

    def add(self, key):
        bits = self.bits
        for position in self._positions(key):
            bits[position >> 3] |= 1 << (position & 7)
        self.count += 1

    def may_contain(self, key):
        bits = self.bits
        for position in self._positions(key):
            if not bits[position >> 3] & (1 << (position & 7)):
                return False
        return True


class KnownMessageIds:
    """The ids of `ingested_message`, as far as a Bloom filter can tell.

    The filter is read from the table on first use (and again, twice as large, when it fills
    up), inside the caller's transaction. Ids added for a transaction that is then rolled back
    stay in it: they only cost a lookup. Another process writing the table (several services on
    one MonetDB server) would add ids the filter never sees, so `disable()` turns it off for
    good and every id is looked up.
    """

    def __init__(self):
        self._filter = None
        self.enabled = True

    def possibly_stored(self, tx, message_ids):
        """The ids among `message_ids` that may be stored; the others certainly are not."""
        if not self.enabled:
            return list(message_ids)
        bloom = self._loaded(tx)
        return [message_id for message_id in message_ids if bloom.may_contain(message_id)]

    def add(self, message_ids):
        """Counts in ids written to the table in the current transaction (a filter that filled
        up is read again from the table, where they must be found)."""
        if self._filter is not None:
            for message_id in message_ids:
                self._filter.add(message_id)

    def disable(self):
        self.enabled = False
        self._filter = None

    def _loaded(self, tx):
        if self._filter is None or self._filter.count > self._filter.capacity:
            stored = tx.fetch("SELECT COUNT(*) FROM ingested_message")[0][0]
            bloom = _BloomFilter(max(MINIMUM_CAPACITY, 2 * stored))
            # In order of id, a slice at a time: bounded memory, and no slice order to trust.
            chunk, last = max(LOAD_CHUNK, stored // 10 + 1), ""
            while True:
                rows = tx.fetch("SELECT id FROM ingested_message WHERE id > ? ORDER BY id LIMIT ?", [last, chunk])
                for (message_id,) in rows:
                    bloom.add(message_id)
                if len(rows) < chunk:
                    break
                last = rows[-1][0]
            self._filter = bloom
        return self._filter
