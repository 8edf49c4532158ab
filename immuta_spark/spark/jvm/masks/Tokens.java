package io.immutaspark.masks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The reversible mask's token (immuta_spark.masks.reversible), computed with the JDK's HMAC-SHA256
 * and AES-GCM, called by Spark's StaticInvoke once a row. Spark's own aes_encrypt builds a new
 * Cipher for every row, which costs more than the encryption; here each task thread keeps its Mac
 * and Cipher for the key it was last given, and a {@link Memo} of the tokens it made. The bytes are
 * exactly those of tokenize() in Python.
 */
public final class Tokens {
    private static final byte[] AAD = "immuta-spark reversible v1".getBytes(StandardCharsets.US_ASCII);
    private static final int BUCKET = 16;
    private static final int IV_BYTES = 12;
    private static final int TAG_BYTES = 16;
    private static final ThreadLocal<State> STATE = new ThreadLocal<>();

    private Tokens() {}

    private static final class State implements Memo.Maker {
        final UTF8String enc;
        final UTF8String mac;
        // The key objects last given: a plan passes the same ones every row, so comparing
        // references spares comparing 64 bytes twice a row.
        UTF8String encGiven;
        UTF8String macGiven;
        final Mac hmac;
        final SecretKeySpec key;
        Cipher cipher;
        byte[] lastIv;
        final Memo memo = new Memo();

        State(UTF8String enc, UTF8String mac) throws GeneralSecurityException {
            this.enc = enc.copy();
            this.mac = mac.copy();
            hmac = Mac.getInstance("HmacSHA256");
            hmac.init(new SecretKeySpec(HexFormat.of().parseHex(mac.toString()), "HmacSHA256"));
            key = new SecretKeySpec(HexFormat.of().parseHex(enc.toString()), "AES");
            cipher = Cipher.getInstance("AES/GCM/NoPadding");
        }

        @Override
        public UTF8String make(UTF8String value) throws GeneralSecurityException {
            return seal(this, value.getBytes());
        }
    }

    /** The token of {@code value}'s UTF-8 bytes under the hex keys {@code enc} (AES-256) and {@code mac} (HMAC). */
    public static UTF8String tokenize(UTF8String value, UTF8String enc, UTF8String mac) throws GeneralSecurityException {
        State s = STATE.get();
        if (s == null || enc != s.encGiven || mac != s.macGiven) s = state(s, enc, mac);
        return s.memo.mask(value, s);
    }

    private static State state(State s, UTF8String enc, UTF8String mac) throws GeneralSecurityException {
        if (s == null || !s.enc.equals(enc) || !s.mac.equals(mac)) {
            s = new State(enc, mac);
            STATE.set(s);
        }
        s.encGiven = enc;
        s.macGiven = mac;
        return s;
    }

    private static UTF8String seal(State s, byte[] value) throws GeneralSecurityException {
        int padded = (value.length / BUCKET + 1) * BUCKET;
        byte[] p = Arrays.copyOf(value, padded);
        p[value.length] = (byte) 0x80;
        byte[] iv = Arrays.copyOf(s.hmac.doFinal(p), IV_BYTES);
        if (Arrays.equals(iv, s.lastIv)) {
            // The JDK refuses to encrypt twice in a row under one key and IV (the same value twice): a fresh
            // Cipher gives the same, deterministic, bytes.
            s.cipher = Cipher.getInstance("AES/GCM/NoPadding");
        }
        s.cipher.init(Cipher.ENCRYPT_MODE, s.key, new GCMParameterSpec(TAG_BYTES * 8, iv));
        s.lastIv = iv;
        s.cipher.updateAAD(AAD);
        byte[] out = new byte[IV_BYTES + padded + TAG_BYTES];
        System.arraycopy(iv, 0, out, 0, IV_BYTES);
        s.cipher.doFinal(p, 0, padded, out, IV_BYTES);
        return UTF8String.fromBytes(Base64.getEncoder().encode(out));
    }
}
