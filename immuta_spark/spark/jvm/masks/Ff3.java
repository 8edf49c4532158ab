package io.immutaspark.masks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.spark.unsafe.types.UTF8String;
import org.bouncycastle.crypto.fpe.FPEFF3_1Engine;
import org.bouncycastle.crypto.params.FPEParameters;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * The format-preserving mask (immuta_spark.masks.format_preserving.encrypt), with Bouncy Castle's
 * FF3-1 engine, called by Spark's StaticInvoke once a row: the same classes, chunks, tweaks and
 * short-run rule as the Python reference, so both give the same characters. Each task thread keeps
 * one engine per class and chunk for the key it was last given, and a {@link Memo} of the masks
 * it made (as the pandas UDF's workers remember theirs).
 */
public final class Ff3 {
    private static final String[] CLASSES = {"digits", "letters"};
    private static final int[] RADIX = {10, 26};
    private static final int[] SHORTEST = {6, 5};
    private static final int[] LONGEST = {56, 40};
    private static final ThreadLocal<State> STATE = new ThreadLocal<>();

    private Ff3() {}

    private static final class State implements Memo.Maker {
        final UTF8String key;
        final UTF8String tweakSeed;
        final UTF8String shortKey;
        final byte[] aes;
        final Mac tweaks;
        final Mac shortMac;
        final FPEFF3_1Engine[][] engines = new FPEFF3_1Engine[2][];
        // The key objects last given: a plan passes the same ones every row (see Tokens).
        UTF8String keyGiven;
        UTF8String tweakSeedGiven;
        UTF8String shortKeyGiven;
        final Memo memo = new Memo();

        State(UTF8String key, UTF8String tweakSeed, UTF8String shortKey) throws GeneralSecurityException {
            this.key = key.copy();
            this.tweakSeed = tweakSeed.copy();
            this.shortKey = shortKey.copy();
            aes = HexFormat.of().parseHex(key.toString());
            tweaks = Mac.getInstance("HmacSHA256");
            tweaks.init(new SecretKeySpec(HexFormat.of().parseHex(tweakSeed.toString()), "HmacSHA256"));
            shortMac = Mac.getInstance("HmacSHA256");
            shortMac.init(new SecretKeySpec(HexFormat.of().parseHex(shortKey.toString()), "HmacSHA256"));
            engines[0] = new FPEFF3_1Engine[0];
            engines[1] = new FPEFF3_1Engine[0];
        }

        @Override
        public UTF8String make(UTF8String value) throws GeneralSecurityException {
            return encrypt(this, value.toString());
        }

        FPEFF3_1Engine engine(int klass, int chunk) {
            FPEFF3_1Engine[] have = engines[klass];
            if (chunk >= have.length) {
                have = engines[klass] = Arrays.copyOf(have, chunk + 1);
            }
            if (have[chunk] == null) {
                byte[] label = (CLASSES[klass] + ":" + chunk).getBytes(StandardCharsets.UTF_8);
                byte[] tweak = Arrays.copyOf(tweaks.doFinal(label), 7);
                FPEFF3_1Engine e = new FPEFF3_1Engine();
                e.init(true, new FPEParameters(new KeyParameter(aes), RADIX[klass], tweak));
                have[chunk] = e;
            }
            return have[chunk];
        }
    }

    /** The mask of {@code value} under the hex keys of one source (FF3-1's key, the tweak seed, the short-run key). */
    public static UTF8String mask(UTF8String value, UTF8String key, UTF8String tweakSeed, UTF8String shortKey)
            throws GeneralSecurityException {
        State s = STATE.get();
        if (s == null || key != s.keyGiven || tweakSeed != s.tweakSeedGiven || shortKey != s.shortKeyGiven) {
            s = state(s, key, tweakSeed, shortKey);
        }
        return s.memo.mask(value, s);
    }

    private static State state(State s, UTF8String key, UTF8String tweakSeed, UTF8String shortKey)
            throws GeneralSecurityException {
        if (s == null || !s.key.equals(key) || !s.tweakSeed.equals(tweakSeed) || !s.shortKey.equals(shortKey)) {
            s = new State(key, tweakSeed, shortKey);
            STATE.set(s);
        }
        s.keyGiven = key;
        s.tweakSeedGiven = tweakSeed;
        s.shortKeyGiven = shortKey;
        return s;
    }

    private static UTF8String encrypt(State s, String text) throws GeneralSecurityException {
        char[] out = text.toCharArray();
        int[][] positions = {new int[out.length], new int[out.length]};
        int[] counts = new int[2];
        for (int i = 0; i < out.length; i++) {
            char c = out[i];
            if (c >= '0' && c <= '9') positions[0][counts[0]++] = i;
            else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) positions[1][counts[1]++] = i;
        }
        for (int k = 0; k < 2; k++) {
            int n = counts[k];
            if (n == 0) continue;
            byte[] numerals = new byte[n];
            for (int j = 0; j < n; j++) {
                char c = out[positions[k][j]];
                numerals[j] = (byte) (k == 0 ? c - '0' : Character.toLowerCase(c) - 'a');
            }
            byte[] done = new byte[n];
            if (n < SHORTEST[k]) {
                // Too short for FF3-1: characters of the class from a keyed hash of the whole value, never the clear.
                byte[] digest = s.shortMac.doFinal((CLASSES[k] + ":" + text).getBytes(StandardCharsets.UTF_8));
                for (int j = 0; j < n; j++) done[j] = (byte) ((digest[j] & 0xff) % RADIX[k]);
            } else {
                int chunks = (n + LONGEST[k] - 1) / LONGEST[k];
                int size = n / chunks;
                int extra = n % chunks;
                int start = 0;
                for (int c = 0; c < chunks; c++) {
                    int len = size + (c < extra ? 1 : 0);
                    s.engine(k, c).processBlock(numerals, start, len, done, start);
                    start += len;
                }
            }
            for (int j = 0; j < n; j++) {
                int at = positions[k][j];
                char c = (char) (k == 0 ? '0' + done[j] : 'a' + done[j]);
                out[at] = k == 1 && Character.isUpperCase(text.charAt(at)) ? Character.toUpperCase(c) : c;
            }
        }
        return UTF8String.fromString(new String(out));
    }
}
