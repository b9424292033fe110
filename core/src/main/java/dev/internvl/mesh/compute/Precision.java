package dev.internvl.mesh.compute;

import java.util.Locale;

/**
 * The numeric path of the models' matrix products with their weights.
 * <ul>
 *   <li>{@link #EXACT}: fp32 activations (and an fp32 KV cache) against the BF16/F16/F32 weights widened to fp32.
 *       A decode row gives the same bits whatever its batch; a prompt position computed in a short prefill chunk
 *       and in a long one can differ in the last bits (see {@link MatMul}). What the golden check runs.</li>
 *   <li>{@link #FAST}: activations rounded to BF16 before the products, fp32 accumulation, as llama.cpp and vLLM
 *       run BF16 models; products of 3 rows or more go to a native BF16 GEMM (AVX512_BF16) where one is
 *       available. Logits stay within 0.15 of the reference (0.06-0.10 on the golden cases); a row's last bits
 *       may depend on how many rows share its step.</li>
 * </ul>
 */
public enum Precision {
    EXACT,
    FAST;

    /** System property that chooses the default path ({@code exact} or {@code fast}). */
    public static final String PROPERTY = "mesh.compute.precision";
    /** Environment variable the services read for the same choice. */
    public static final String ENVIRONMENT = "MESH_PRECISION";

    /** {@code exact} or {@code fast}, any case. */
    public static Precision parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "exact" -> EXACT;
            case "fast" -> FAST;
            default -> throw new IllegalArgumentException("precision '" + name + "': use exact or fast");
        };
    }

    /** The default: {@value #PROPERTY} if set, else {@value #ENVIRONMENT} if set, else {@link #EXACT}. */
    public static Precision configured() {
        String property = System.getProperty(PROPERTY);
        if (property != null) {
            return parse(property);
        }
        String env = System.getenv(ENVIRONMENT);
        return env == null || env.isBlank() ? EXACT : parse(env);
    }
}
