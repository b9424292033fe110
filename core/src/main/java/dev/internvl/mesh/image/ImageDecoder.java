package dev.internvl.mesh.image;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.SampleModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Decodes JPEG, PNG, GIF, BMP and WebP to 8-bit RGB exactly as Pillow 9.x's {@code Image.open(f).convert("RGB")}:
 * alpha is dropped without compositing (a transparent pixel keeps its stored colour), gray is copied to R, G and B,
 * palettes are looked up, EXIF orientation is not applied and neither is an embedded ICC profile. Sizes are checked
 * against the {@link ImageLimits} from the header, before any pixel is decoded. Thread-safe.
 */
public final class ImageDecoder {
    private final ImageLimits limits;

    public ImageDecoder(ImageLimits limits) {
        this.limits = limits;
    }

    public ImageLimits limits() {
        return limits;
    }

    /** What an image's header says: enough to plan its tiles without decoding a pixel. */
    public record ImageInfo(ImageFormat format, int width, int height) {
    }

    /**
     * Reads only the header: the format and the size Pillow would see, checked against the limits.
     *
     * @throws ImageException as {@link #decode} does for what a header shows
     */
    public ImageInfo probe(byte[] encoded) {
        ImageFormat format = checkBytes(encoded);
        long width;
        long height;
        switch (format) {
            case PNG -> {
                PngHeader png = PngHeader.scan(encoded);
                width = png.width();
                height = png.height();
            }
            case GIF -> {
                GifHeader gif = GifHeader.parse(encoded);
                width = gif.canvasWidth();
                height = gif.canvasHeight();
            }
            default -> {
                ImageReader reader = newReader(format);
                try (ByteArrayImageInputStream in = new ByteArrayImageInputStream(encoded)) {
                    reader.setInput(in, true, true);
                    width = reader.getWidth(0);
                    height = reader.getHeight(0);
                } catch (IOException | RuntimeException e) {
                    throw corrupt(format, e);
                } finally {
                    reader.dispose();
                }
            }
        }
        checkSize(width, height);
        return new ImageInfo(format, (int) width, (int) height);
    }

    /** The format of bytes that are not empty and within the byte limit. */
    private ImageFormat checkBytes(byte[] encoded) {
        if (encoded == null || encoded.length == 0) {
            throw new ImageException("empty image: no image bytes were sent");
        }
        if (encoded.length > limits.maxEncodedBytes()) {
            throw new ImageException(String.format(Locale.ROOT, "image too large: %,d bytes, the limit is %,d bytes",
                    encoded.length, limits.maxEncodedBytes()));
        }
        return ImageFormat.detect(encoded);
    }

    /**
     * @throws ImageException when the bytes are empty, over a limit, of a format we do not read, truncated or corrupt
     */
    public RgbImage decode(byte[] encoded) {
        ImageFormat format = checkBytes(encoded);
        PngHeader png = format == ImageFormat.PNG ? PngHeader.scan(encoded) : null;
        GifHeader gif = format == ImageFormat.GIF ? GifHeader.parse(encoded) : null;
        byte[] input = gif != null && gif.interlaced() ? gif.withoutInterlaceFlag(encoded) : encoded;
        ImageReader reader = newReader(format);
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
        try (ByteArrayImageInputStream in = new ByteArrayImageInputStream(input)) {
            reader.setInput(in, true, false);
            return switch (format) {
                case JPEG -> decodeJpeg(reader, encoded, warnings);
                case PNG -> decodePng(reader, png);
                case GIF -> decodeGif(reader, gif);
                case WEBP -> {
                    checkRiffComplete(encoded);
                    checkSize(reader.getWidth(0), reader.getHeight(0));
                    yield fromColorModel(reader.read(0));
                }
                case BMP -> {
                    checkSize(reader.getWidth(0), reader.getHeight(0));
                    yield fromColorModel(reader.read(0));
                }
            };
        } catch (ImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // ImageIO reports bad data as IIOException, and some plugins as unchecked exceptions (index out of bounds...).
            throw corrupt(format, e);
        } finally {
            reader.dispose();
        }
    }

    private void checkSize(long width, long height) {
        if (width <= 0 || height <= 0) {
            throw new ImageException("image has no pixels: its header says " + width + "x" + height);
        }
        long pixels = width * height;
        if (pixels > limits.maxPixels()) {
            throw new ImageException(String.format(Locale.ROOT,
                    "image too large: %dx%d is %,d pixels, the limit is %,d pixels", width, height, pixels, limits.maxPixels()));
        }
    }

    private static ImageException corrupt(ImageFormat format, Exception e) {
        String detail = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        if (e instanceof IIOException && e.getCause() != null && e.getCause().getMessage() != null) {
            detail += ": " + e.getCause().getMessage();
        }
        return new ImageException("truncated or corrupt " + format + " image (" + detail + ")", e);
    }

    /**
     * The JDK's own readers for JPEG, PNG, GIF and BMP, whose behaviour the Pillow-exactness here is built on, even
     * when another plugin for the format is on the class path; TwelveMonkeys for WebP.
     */
    private static ImageReader newReader(ImageFormat format) {
        ImageReader fallback = null;
        for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(format.imageIoName()); it.hasNext(); ) {
            ImageReader r = it.next();
            if (format == ImageFormat.WEBP || r.getClass().getName().startsWith("com.sun.imageio.plugins.")) {
                return r;
            }
            if (fallback == null) {
                fallback = r;
            }
        }
        if (fallback == null) {
            throw new IllegalStateException("no ImageIO reader for " + format + " (is imageio-webp on the class path?)");
        }
        return fallback;
    }

    /**
     * libwebp (through Pillow) refuses a file shorter than its RIFF header says; the WebP plugin would decode what
     * is there.
     */
    private static void checkRiffComplete(byte[] d) {
        long riffSize = (d[4] & 0xFFL) | (d[5] & 0xFFL) << 8 | (d[6] & 0xFFL) << 16 | (d[7] & 0xFFL) << 24;
        if (d.length < 8 + riffSize) {
            throw new ImageException(String.format(Locale.ROOT,
                    "truncated or corrupt WebP image (%,d bytes, its header says %,d)", d.length, 8 + riffSize));
        }
    }

    // ---- JPEG

    private RgbImage decodeJpeg(ImageReader reader, byte[] encoded, List<String> warnings) throws IOException {
        JpegMarkers markers = JpegMarkers.scan(encoded);
        if (markers.arithmetic()) {
            throw new ImageException("unsupported JPEG: arithmetic coding; re-encode it as a standard (Huffman-coded) JPEG");
        }
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        checkSize(width, height);
        Raster raster = reader.readRaster(0, null);
        // libjpeg pads a truncated file with an end marker and only warns; Pillow refuses it (even one that lacks
        // nothing but the end marker).
        for (String w : warnings) {
            if (w.contains("Missing EOI") || w.contains("Premature end")) {
                throw new ImageException("truncated or corrupt JPEG image (" + w + ")");
            }
        }
        int bands = raster.getNumBands();
        byte[] samples = interleavedBytes(raster);
        JpegUpsampling.fixVerticalHalfComponents(samples, width, height, bands, markers);
        byte[] rgb = JpegColor.toRgb(samples, width * height, JpegColor.space(markers, bands));
        return new RgbImage(width, height, rgb);
    }

    /** The raster's samples as one tightly interleaved byte array: its own buffer when already laid out so. */
    private static byte[] interleavedBytes(Raster r) {
        int w = r.getWidth();
        int h = r.getHeight();
        int bands = r.getNumBands();
        SampleModel sm = r.getSampleModel();
        if (r.getDataBuffer() instanceof DataBufferByte db && db.getNumBanks() == 1 && db.getOffset() == 0
                && sm instanceof ComponentSampleModel csm && csm.getPixelStride() == bands
                && csm.getScanlineStride() == w * bands && r.getSampleModelTranslateX() == 0
                && r.getSampleModelTranslateY() == 0 && db.getData().length == w * h * bands
                && isIdentity(csm.getBandOffsets())) {
            return db.getData();
        }
        byte[] out = new byte[w * h * bands];
        int[] row = new int[w * bands];
        for (int y = 0; y < h; y++) {
            r.getPixels(r.getMinX(), r.getMinY() + y, w, 1, row);
            for (int i = 0; i < row.length; i++) {
                out[y * row.length + i] = (byte) row[i];
            }
        }
        return out;
    }

    private static boolean isIdentity(int[] offsets) {
        for (int i = 0; i < offsets.length; i++) {
            if (offsets[i] != i) {
                return false;
            }
        }
        return true;
    }

    // ---- PNG

    private RgbImage decodePng(ImageReader reader, PngHeader header) throws IOException {
        checkSize(header.width(), header.height());
        Raster r = reader.read(0).getRaster();
        // The raster's sample size, not the file's bit depth: ImageIO widens 1, 2 and 4-bit gray with a tRNS chunk
        // to 8-bit gray + alpha, already scaled.
        int bits = r.getSampleModel().getSampleSize(0);
        return switch (header.colorType()) {
            // Pillow opens 16-bit gray as mode I (the 16-bit value) and convert("RGB") clamps it to 0..255, so all
            // levels above 255 turn white; 1, 2 and 4-bit gray are scaled to 0..255 (L;2 is *85, L;4 is *17).
            case 0 -> fromSamples(r, GRAY, bits == 16 ? CLAMP_16_TO_255 : scaleTo8(bits));
            // Pillow reads 16-bit RGB, RGBA and gray+alpha through "RGB;16B"/"RGBA;16B"/"LA;16B": the high byte.
            case 2, 6 -> fromSamples(r, RGB, bits == 16 ? HIGH_BYTE : scaleTo8(bits));
            case 4 -> fromSamples(r, GRAY, bits == 16 ? HIGH_BYTE : scaleTo8(bits));
            case 3 -> fromIndexed(r, header.palette());
            default -> throw new ImageException("truncated or corrupt PNG image (colour type " + header.colorType() + ")");
        };
    }

    // ---- GIF

    /**
     * Pillow's first GIF frame: a canvas the size of the logical screen (grown to hold the frame), filled with the
     * frame's transparent index if it has one and index 0 otherwise, with the frame's pixels placed at its offset,
     * then looked up in the local palette, else the global one, else read as gray. ImageIO only decodes the LZW
     * data, into an 8-bit destination: its own image has as many bits per pixel as the palette needs and would cut
     * off an index past the palette's end, which Pillow reads as gray.
     */
    private RgbImage decodeGif(ImageReader reader, GifHeader gif) throws IOException {
        checkSize(gif.canvasWidth(), gif.canvasHeight());
        ImageReadParam param = reader.getDefaultReadParam();
        param.setDestination(new BufferedImage(gif.width(), gif.height(), BufferedImage.TYPE_BYTE_GRAY));
        Raster frame = reader.read(0, param).getRaster();
        int[] rowOf = gif.interlaced() ? gif.storedRowOrder() : null;

        byte[] lut = paletteLut(gif.palette());
        int w = (int) gif.canvasWidth();
        byte[] out = new byte[3 * w * (int) gif.canvasHeight()];
        int fill = Math.max(gif.transparentIndex(), 0);
        for (int o = 0; o < out.length; o += 3) {
            System.arraycopy(lut, 3 * fill, out, o, 3);
        }
        int[] row = new int[gif.width()];
        for (int y = 0; y < gif.height(); y++) {
            frame.getSamples(0, y, gif.width(), 1, 0, row);
            int o = 3 * ((gif.top() + (rowOf != null ? rowOf[y] : y)) * w + gif.left());
            for (int x = 0; x < row.length; x++, o += 3) {
                System.arraycopy(lut, 3 * row[x], out, o, 3);
            }
        }
        return new RgbImage(w, (int) gif.canvasHeight(), out);
    }

    // ---- pixels to RGB

    private static final int[] GRAY = {0, 0, 0};
    private static final int[] RGB = {0, 1, 2};
    private static final byte[] HIGH_BYTE = new byte[1 << 16];
    private static final byte[] CLAMP_16_TO_255 = new byte[1 << 16];

    static {
        for (int v = 0; v < 1 << 16; v++) {
            HIGH_BYTE[v] = (byte) (v >> 8);
            CLAMP_16_TO_255[v] = (byte) Math.min(v, 255);
        }
    }

    /** BMP and WebP: a palette, or gray or RGB samples of any width up to 16 bits, scaled to 8 bits. */
    private static RgbImage fromColorModel(BufferedImage image) {
        Raster r = image.getRaster();
        ColorModel cm = image.getColorModel();
        if (cm instanceof IndexColorModel icm) {
            byte[] palette = new byte[3 * icm.getMapSize()];
            for (int i = 0; i < icm.getMapSize(); i++) {
                palette[3 * i] = (byte) icm.getRed(i);
                palette[3 * i + 1] = (byte) icm.getGreen(i);
                palette[3 * i + 2] = (byte) icm.getBlue(i);
            }
            return fromIndexed(r, palette);
        }
        int[] bands = cm.getNumColorComponents() == 1 ? GRAY : RGB;
        SampleModel sm = r.getSampleModel();
        byte[][] luts = new byte[3][];
        for (int c = 0; c < 3; c++) {
            int bits = sm.getSampleSize(bands[c]);
            // Pillow unpacks 5- and 6-bit BMP fields as v * 255 / max (BGR;15, BGR;16).
            luts[c] = bits == 16 ? HIGH_BYTE : scaleTo8(bits);
        }
        return fromSamples(r, bands, luts);
    }

    private static RgbImage fromSamples(Raster r, int[] bands, byte[] lut) {
        return fromSamples(r, bands, new byte[][] {lut, lut, lut});
    }

    /** Output channel c is {@code luts[c][sample of band bands[c]]}. */
    private static RgbImage fromSamples(Raster r, int[] bands, byte[][] luts) {
        int w = r.getWidth();
        int h = r.getHeight();
        int n = r.getNumBands();
        byte[] out = new byte[3 * w * h];
        int[] row = new int[w * n];
        for (int y = 0, o = 0; y < h; y++) {
            r.getPixels(r.getMinX(), r.getMinY() + y, w, 1, row);
            for (int x = 0; x < w; x++, o += 3) {
                int p = x * n;
                out[o] = luts[0][row[p + bands[0]]];
                out[o + 1] = luts[1][row[p + bands[1]]];
                out[o + 2] = luts[2][row[p + bands[2]]];
            }
        }
        return new RgbImage(w, h, out);
    }

    private static RgbImage fromIndexed(Raster r, byte[] palette) {
        byte[] lut = paletteLut(palette);
        int w = r.getWidth();
        int h = r.getHeight();
        byte[] out = new byte[3 * w * h];
        int[] row = new int[w];
        for (int y = 0, o = 0; y < h; y++) {
            r.getSamples(r.getMinX(), r.getMinY() + y, w, 1, 0, row);
            for (int x = 0; x < w; x++, o += 3) {
                System.arraycopy(lut, 3 * row[x], out, o, 3);
            }
        }
        return new RgbImage(w, h, out);
    }

    /**
     * A palette widened to 256 entries: Pillow starts every palette as the gray ramp (i, i, i) and overwrites only
     * the entries the file gives, so an index past the file's palette reads as gray.
     */
    private static byte[] paletteLut(byte[] palette) {
        int entries = Math.max(256, palette.length / 3);
        byte[] lut = new byte[3 * entries];
        for (int i = 0; i < entries; i++) {
            if (3 * i + 2 < palette.length) {
                System.arraycopy(palette, 3 * i, lut, 3 * i, 3);
            } else {
                lut[3 * i] = lut[3 * i + 1] = lut[3 * i + 2] = (byte) i;
            }
        }
        return lut;
    }

    /** Samples of {@code bits} bits scaled to 0..255 as Pillow's unpackers do: {@code v * 255 / max}, truncated. */
    private static byte[] scaleTo8(int bits) {
        int max = (1 << bits) - 1;
        byte[] lut = new byte[1 << bits];
        for (int v = 0; v <= max; v++) {
            lut[v] = (byte) (v * 255 / max);
        }
        return lut;
    }

}
