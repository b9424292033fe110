package dev.internvl.mesh.image;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/** The encoded formats the decoder reads, recognised by their leading bytes as Pillow does (never by a file name). */
public enum ImageFormat {
    JPEG("JPEG", "jpeg"),
    PNG("PNG", "png"),
    GIF("GIF", "gif"),
    BMP("BMP", "bmp"),
    WEBP("WebP", "webp");

    static final String SUPPORTED = "JPEG, PNG, GIF, BMP or WebP";

    private final String displayName;
    private final String imageIoName;

    ImageFormat(String displayName, String imageIoName) {
        this.displayName = displayName;
        this.imageIoName = imageIoName;
    }

    @Override
    public String toString() {
        return displayName;
    }

    String imageIoName() {
        return imageIoName;
    }

    /** The format of {@code data}, or an {@link ImageException} naming what it looks like and what is supported. */
    public static ImageFormat detect(byte[] data) {
        if (startsWith(data, 0, 0xFF, 0xD8, 0xFF)) {
            return JPEG;
        }
        if (startsWith(data, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
            return PNG;
        }
        if (startsWith(data, 0, 'G', 'I', 'F', '8', '7', 'a') || startsWith(data, 0, 'G', 'I', 'F', '8', '9', 'a')) {
            return GIF;
        }
        if (startsWith(data, 0, 'B', 'M')) {
            return BMP;
        }
        if (startsWith(data, 0, 'R', 'I', 'F', 'F') && startsWith(data, 8, 'W', 'E', 'B', 'P')) {
            return WEBP;
        }
        throw new ImageException("unsupported image format (" + describe(data) + "): send " + SUPPORTED);
    }

    /** Names a few formats people commonly send that we do not read; otherwise shows the leading bytes. */
    private static String describe(byte[] data) {
        if (startsWith(data, 0, 'I', 'I', '*', 0) || startsWith(data, 0, 'M', 'M', 0, '*')) {
            return "TIFF";
        }
        if (startsWith(data, 4, 'f', 't', 'y', 'p') && data.length >= 12) {
            String brand = new String(data, 8, 4, StandardCharsets.US_ASCII);
            return brand.startsWith("avi") ? "AVIF" : brand.startsWith("he") || brand.startsWith("mif") ? "HEIF/HEIC" : "ISO media '" + brand.strip() + "'";
        }
        if (startsWith(data, 0, '%', 'P', 'D', 'F')) {
            return "PDF";
        }
        if (startsWith(data, 0, 0, 0, 1, 0)) {
            return "ICO";
        }
        if (startsWith(data, 0, 'R', 'I', 'F', 'F')) {
            return "RIFF but not WebP";
        }
        return "unrecognised data starting " + HexFormat.ofDelimiter(" ").formatHex(Arrays.copyOf(data, Math.min(8, data.length)));
    }

    private static boolean startsWith(byte[] data, int offset, int... prefix) {
        if (data.length < offset + prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if ((data[offset + i] & 0xFF) != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
