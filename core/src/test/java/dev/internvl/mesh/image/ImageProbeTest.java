package dev.internvl.mesh.image;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Reading only the header gives the size decoding would, and refuses what the header already shows is unusable. */
class ImageProbeTest {
    private static final ImageDecoder DECODER = new ImageDecoder(ImageLimits.defaults());

    @Test
    void probeGivesTheDecodedSizeOfEveryGoldenImage() throws IOException {
        JsonNode images = dev.internvl.mesh.testing.TestData.json(dev.internvl.mesh.testing.TestData.golden().resolve("manifest.json")).get("images");
        for (var it = images.fields(); it.hasNext(); ) {
            var e = it.next();
            byte[] bytes = Files.readAllBytes(dev.internvl.mesh.testing.TestData.golden().resolve(e.getValue().get("file").asText()));
            ImageDecoder.ImageInfo info = DECODER.probe(bytes);
            RgbImage decoded = DECODER.decode(bytes);
            assertEquals(decoded.width() + "x" + decoded.height(), info.width() + "x" + info.height(), e.getKey());
            assertEquals(e.getValue().get("width").asInt(), info.width(), e.getKey());
        }
    }

    @Test
    void probeRefusesWhatTheHeaderShows() {
        assertEquals("empty image: no image bytes were sent",
                assertThrows(ImageException.class, () -> DECODER.probe(new byte[0])).getMessage());
        byte[] jpeg = TestData.bytes(TestData.images().resolve("jpeg_gray.jpg"));
        int sof = 2;
        while (!((jpeg[sof] & 0xFF) == 0xFF && (jpeg[sof + 1] & 0xFF) == 0xC0)) {
            sof++;
        }
        ByteBuffer.wrap(jpeg, sof + 5, 4).putShort((short) 60000).putShort((short) 60000);
        assertEquals("image too large: 60000x60000 is 3,600,000,000 pixels, the limit is 89,478,485 pixels",
                assertThrows(ImageException.class, () -> DECODER.probe(jpeg)).getMessage());
        ImageDecoder small = new ImageDecoder(new ImageLimits(100, ImageLimits.DEFAULT_MAX_PIXELS));
        byte[] png = TestData.bytes(TestData.images().resolve("png_rgb16.png"));
        assertEquals("image too large: 2,388 bytes, the limit is 100 bytes",
                assertThrows(ImageException.class, () -> small.probe(png)).getMessage());
    }
}
