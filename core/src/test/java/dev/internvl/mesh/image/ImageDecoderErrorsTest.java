package dev.internvl.mesh.image;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every way an image can be unusable gives an {@link ImageException} whose message says what is wrong. */
class ImageDecoderErrorsTest {
    private static final ImageDecoder DECODER = new ImageDecoder(ImageLimits.defaults());

    private static String error(byte[] data) {
        return error(DECODER, data);
    }

    private static String error(ImageDecoder decoder, byte[] data) {
        return assertThrows(ImageException.class, () -> decoder.decode(data)).getMessage();
    }

    @Test
    void emptyInput() {
        assertEquals("empty image: no image bytes were sent", error(new byte[0]));
        assertEquals("empty image: no image bytes were sent", error(null));
    }

    @Test
    void unknownFormatNamesWhatIsSupported() {
        assertEquals("unsupported image format (unrecognised data starting 3c 73 76 67 20 78 6d 6c): send JPEG, PNG, GIF,"
                + " BMP or WebP", error("<svg xmlns='http://www.w3.org/2000/svg'/>".getBytes()));
        assertEquals("unsupported image format (TIFF): send JPEG, PNG, GIF, BMP or WebP",
                error(new byte[] {'I', 'I', '*', 0, 8, 0, 0, 0}));
        byte[] heic = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0};
        assertEquals("unsupported image format (HEIF/HEIC): send JPEG, PNG, GIF, BMP or WebP", error(heic));
        assertEquals("unsupported image format (unrecognised data starting 01): send JPEG, PNG, GIF, BMP or WebP",
                error(new byte[] {1}));
    }

    @Test
    void truncatedFilesAreRefusedLikePillow() throws IOException {
        BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 30; y++) {
            for (int x = 0; x < 40; x++) {
                img.setRGB(x, y, x * 6 << 16 | y * 8 << 8 | (x ^ y) * 4);
            }
        }
        for (ImageFormat format : new ImageFormat[] {ImageFormat.PNG, ImageFormat.JPEG, ImageFormat.GIF, ImageFormat.BMP}) {
            byte[] whole = encode(img, format.name().toLowerCase());
            String message = error(Arrays.copyOf(whole, whole.length / 2));
            assertTrue(message.startsWith("truncated or corrupt " + format + " image ("), message);
        }
        byte[] jpeg = encode(img, "jpeg");
        // Pillow refuses a JPEG that lacks only its end marker, which libjpeg would pad silently.
        assertEquals("truncated or corrupt JPEG image (Truncated File - Missing EOI marker)",
                error(Arrays.copyOf(jpeg, jpeg.length - 2)));
        byte[] webp = TestData.bytes(TestData.images().resolve("webp_lossless.webp"));
        assertEquals("truncated or corrupt WebP image (600 bytes, its header says " + String.format("%,d", webp.length) + ")",
                error(Arrays.copyOf(webp, 600)));
    }

    @Test
    void corruptData() throws IOException {
        byte[] png = encode(new BufferedImage(20, 20, BufferedImage.TYPE_3BYTE_BGR), "png");
        int idat = indexOf(png, "IDAT") + 4;
        for (int i = idat; i < idat + 20; i++) {
            png[i] = (byte) 0xA5;
        }
        assertTrue(error(png).startsWith("truncated or corrupt PNG image ("), error(png));
        byte[] notReallyJpeg = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 0, 1, 2, 3, 4, 5, 6};
        assertTrue(error(notReallyJpeg).startsWith("truncated or corrupt JPEG image ("), error(notReallyJpeg));
    }

    @Test
    void arithmeticCodedJpegIsNamed() {
        byte[] jpeg = TestData.bytes(TestData.images().resolve("jpeg_gray.jpg"));
        int sof = indexOfMarker(jpeg, 0xC0);
        jpeg[sof + 1] = (byte) 0xC9; // SOF9: arithmetic coding, which the JDK's libjpeg does not decode
        assertEquals("unsupported JPEG: arithmetic coding; re-encode it as a standard (Huffman-coded) JPEG", error(jpeg));
    }

    @Test
    void tooManyBytes() throws IOException {
        byte[] png = TestData.bytes(TestData.images().resolve("png_rgb16.png"));
        ImageDecoder small = new ImageDecoder(new ImageLimits(100, ImageLimits.DEFAULT_MAX_PIXELS));
        assertEquals("image too large: 2,388 bytes, the limit is 100 bytes", error(small, png));
    }

    /** Decompression bombs: the header's size is refused before any pixel buffer exists (these would need 30 GB). */
    @Test
    void tooManyPixelsIsRefusedFromTheHeader() {
        assertEquals("image too large: 100000x100000 is 10,000,000,000 pixels, the limit is 89,478,485 pixels",
                error(png(100_000, 100_000)));

        byte[] jpeg = TestData.bytes(TestData.images().resolve("jpeg_gray.jpg"));
        int sof = indexOfMarker(jpeg, 0xC0);
        ByteBuffer.wrap(jpeg, sof + 5, 4).putShort((short) 60000).putShort((short) 60000); // height, width
        assertEquals("image too large: 60000x60000 is 3,600,000,000 pixels, the limit is 89,478,485 pixels", error(jpeg));

        // A 1x1 GIF frame on a 65535x65535 screen: Pillow's image is the screen.
        byte[] gif = TestData.bytes(TestData.images().resolve("gif_index_past_palette.gif"));
        gif[6] = gif[7] = gif[8] = gif[9] = (byte) 0xFF;
        assertEquals("image too large: 65535x65535 is 4,294,836,225 pixels, the limit is 89,478,485 pixels", error(gif));

        ImageDecoder strict = new ImageDecoder(new ImageLimits(ImageLimits.DEFAULT_MAX_ENCODED_BYTES, 100));
        assertEquals("image too large: 24x16 is 384 pixels, the limit is 100 pixels",
                error(strict, TestData.bytes(TestData.images().resolve("webp_lossless.webp"))));
    }

    @Test
    void zeroSizeImage() {
        assertEquals("image has no pixels: its header says 0x5", error(png(0, 5)));
        byte[] gif = TestData.bytes(TestData.images().resolve("gif_index_past_palette.gif"));
        // screen 0x0 and a 0x0 frame
        gif[6] = gif[7] = gif[8] = gif[9] = 0;
        int descriptor = indexOf(gif, ",") ;
        Arrays.fill(gif, descriptor + 5, descriptor + 9, (byte) 0);
        assertEquals("image has no pixels: its header says 0x0", error(gif));
    }

    @Test
    void limitsMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> new ImageLimits(0, 1));
        assertThrows(IllegalArgumentException.class, () -> new ImageLimits(1, -1));
        assertThrows(IllegalArgumentException.class, () -> new ImageLimits(1, ImageLimits.MAX_PIXELS + 1));
    }

    /** An 8-bit gray PNG header of any size, with a one-row image stream. */
    private static byte[] png(int width, int height) {
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 0).put((byte) 0)
                .put((byte) 0).put((byte) 0);
        Deflater deflater = new Deflater();
        deflater.setInput(new byte[Math.max(width, 0) + 1]);
        deflater.finish();
        byte[] z = new byte[1 << 16];
        int n = deflater.deflate(z);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IDAT", Arrays.copyOf(z, n));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(type.getBytes());
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(type.getBytes());
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out));
        return out.toByteArray();
    }

    private static int indexOf(byte[] data, String ascii) {
        byte[] needle = ascii.getBytes();
        for (int i = 0; i + needle.length <= data.length; i++) {
            if (Arrays.equals(data, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError(ascii + " not found");
    }

    private static int indexOfMarker(byte[] jpeg, int marker) {
        for (int i = 2; i + 1 < jpeg.length; i++) {
            if ((jpeg[i] & 0xFF) == 0xFF && (jpeg[i + 1] & 0xFF) == marker) {
                return i;
            }
        }
        throw new AssertionError("no marker " + Integer.toHexString(marker));
    }
}
