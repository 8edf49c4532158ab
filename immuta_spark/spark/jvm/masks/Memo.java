package io.immutaspark.masks;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.array.ByteArrayMethods;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * One task thread's memory of the masks it made (a column's values repeat: one patient's many
 * claims), laid out for the CPU's caches rather than as a HashMap of objects. A HashMap lookup
 * touches a node, a key object, its bytes, a value object and its bytes, scattered over the heap;
 * with 10,000 values in memory that is several cache misses a row, which cost more than the rest
 * of the row. Here an open-addressing table of longs (a hash and an offset) points into one
 * append-only arena that holds each value next to its mask's bytes, and a parallel array holds
 * each mask's one UTF8String over those bytes: a hit allocates nothing (a UTF8String's volatile
 * fields make each new one cost as much as the lookup itself).
 *
 * <p>The masks handed out point into the arena, so bytes once written are never overwritten:
 * growing copies into a new array and forgetting starts a new one (an old one lives while a row
 * still refers to it). The hash is seeded per memo, so values cannot be chosen offline to collide.
 * Not thread-safe: each task thread has its own.
 */
final class Memo {
    /** How many values' masks are remembered; then the memo starts again. */
    static final int REMEMBERED = 65_536;
    /** The most bytes of values and masks remembered (16 MB); then the memo starts again. */
    static final int ARENA_LIMIT = 16 << 20;
    /** Longer values are not remembered: they rarely repeat, and their mask costs more than a lookup. */
    static final int LONGEST = 1024;

    private static final long BASE = Platform.BYTE_ARRAY_OFFSET;
    private final long seed = ThreadLocalRandom.current().nextLong();
    private long[] slots;
    private UTF8String[] made;
    private byte[] arena;
    private int used;
    private int count;

    /** How a mask is made of a value the memo does not hold. */
    interface Maker {
        UTF8String make(UTF8String value) throws GeneralSecurityException;
    }

    Memo() {
        forget();
    }

    /** The mask of {@code value}: the one remembered, else {@code maker}'s, remembered from now on. */
    UTF8String mask(UTF8String value, Maker maker) throws GeneralSecurityException {
        int h = hash(value);
        UTF8String known = find(value, h);
        if (known != null) return known;
        UTF8String fresh = maker.make(value);
        remember(value, h, fresh);
        return fresh;
    }

    /** The memo's hash of {@code value}'s bytes (eight at a time, then the tail). */
    private int hash(UTF8String value) {
        Object base = value.getBaseObject();
        long at = value.getBaseOffset();
        int n = value.numBytes();
        long h = seed ^ n;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            h = (h ^ Platform.getLong(base, at + i)) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        long tail = 0;
        for (int shift = 0; i < n; i++, shift += 8) tail |= (Platform.getByte(base, at + i) & 0xFFL) << shift;
        h = (h ^ tail) * 0x94D049BB133111EBL;
        return (int) (h ^ (h >>> 29));
    }

    /** The mask remembered for {@code value} (whose hash is {@code h}), or null. */
    private UTF8String find(UTF8String value, int h) {
        long[] table = slots;
        byte[] bytes = arena;
        int mask = table.length - 1;
        int n = value.numBytes();
        for (int i = h & mask; ; i = (i + 1) & mask) {
            long slot = table[i];
            if (slot == 0) return null;
            if ((int) (slot >>> 32) != h) continue;
            int at = (int) slot - 1;
            if (Platform.getInt(bytes, BASE + at) == n
                    && ByteArrayMethods.arrayEquals(value.getBaseObject(), value.getBaseOffset(), bytes, BASE + at + 4, n)) {
                return made[i];
            }
        }
    }

    /** Remember {@code mask} for {@code value} (whose hash is {@code h}); the inputs are copied. */
    private void remember(UTF8String value, int h, UTF8String mask) {
        int n = value.numBytes();
        int m = mask.numBytes();
        if (n > LONGEST || m > 4 * LONGEST) return;
        int need = 4 + n + m;
        if (count >= REMEMBERED || used + need > ARENA_LIMIT) forget();
        if (used + need > arena.length) arena = Arrays.copyOf(arena, Math.min(ARENA_LIMIT, Math.max(2 * arena.length, used + need)));
        if (2 * (count + 1) > slots.length) grow();
        int at = used;
        Platform.putInt(arena, BASE + at, n);
        value.writeToMemory(arena, BASE + at + 4);
        mask.writeToMemory(arena, BASE + at + 4 + n);
        used += need;
        count++;
        place(h, at, UTF8String.fromBytes(arena, at + 4 + n, m));
    }

    private void forget() {
        slots = new long[1 << 12];
        made = new UTF8String[1 << 12];
        arena = new byte[1 << 16];
        used = 0;
        count = 0;
    }

    private void grow() {
        long[] oldSlots = slots;
        UTF8String[] oldMade = made;
        slots = new long[2 * oldSlots.length];
        made = new UTF8String[2 * oldSlots.length];
        for (int i = 0; i < oldSlots.length; i++) {
            if (oldSlots[i] != 0) place((int) (oldSlots[i] >>> 32), (int) oldSlots[i] - 1, oldMade[i]);
        }
    }

    /** Linear probing; the table is at most half full, so an empty slot is always found. */
    private void place(int h, int at, UTF8String token) {
        int mask = slots.length - 1;
        int i = h & mask;
        while (slots[i] != 0) i = (i + 1) & mask;
        slots[i] = ((long) h << 32) | ((at + 1) & 0xFFFFFFFFL);
        made[i] = token;
    }
}
