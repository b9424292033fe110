package dev.internvl.mesh.checkpoint;

import java.util.Optional;

/** Element types a safetensors file may hold, with the names the format uses in its header. */
public enum DType {
    BF16(2),
    F16(2),
    F32(4),
    F64(8),
    I8(1),
    U8(1),
    I16(2),
    I32(4),
    I64(8),
    BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return this == BF16 || this == F16 || this == F32 || this == F64;
    }

    /** The header's dtype string; empty for names the format defines but we do not read (F8 types, U64...). */
    public static Optional<DType> fromHeaderName(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
