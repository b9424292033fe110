package dev.internvl.mesh.gateway.images;

import dev.internvl.mesh.gateway.openai.ApiError;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ImageLoaderDataUriTest {
    private static final String PARAM = "messages[1].content[0].image_url.url";
    private static final int LIMIT = 16;
    private static final byte[] IMAGE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};

    private final ImageLoader loader = new ImageLoader(
            new ImageFetchConfig(LIMIT, false, List.of(), false, Duration.ofSeconds(5), Duration.ofSeconds(10), 3));

    @AfterEach
    void close() {
        loader.close();
    }

    private static String base64(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    private ApiError error(String url) {
        ApiError e = assertThrows(ApiError.class, () -> loader.load(url, PARAM));
        assertEquals(PARAM, e.param());
        assertEquals("invalid_request_error", e.type());
        return e;
    }

    private void assertError(String url, int status, String code, String message) {
        ApiError e = error(url);
        assertEquals(status, e.status());
        assertEquals(code, e.code());
        assertEquals(message, e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"data:image/png;base64,", "data:image/jpeg;base64,", "data:image/jpg;base64,",
            "data:image/gif;base64,", "data:image/bmp;base64,", "data:image/webp;base64,", "DATA:Image/PNG;BASE64,",
            "data:image/png;name=cat.png;base64,"})
    void decodesSupportedTypes(String prefix) {
        assertArrayEquals(IMAGE, loader.load(prefix + base64(IMAGE), PARAM));
    }

    @Test
    void acceptsUnpaddedBase64AndExactlyTheLimit() {
        byte[] sixteen = new byte[LIMIT];
        sixteen[0] = 1;
        String encoded = base64(sixteen);
        assertEquals("==", encoded.substring(encoded.length() - 2));
        assertArrayEquals(sixteen, loader.load("data:image/png;base64," + encoded, PARAM));
        assertArrayEquals(sixteen, loader.load("data:image/png;base64," + encoded.replace("=", ""), PARAM));
    }

    @Test
    void refusesMalformedDataUri() {
        assertError("data:image/png;base64", 400, "invalid_image_url",
                "The data URI in '" + PARAM + "' is malformed: expected data:image/<type>;base64,<data>.");
    }

    @Test
    void refusesDataUriThatIsNotBase64() {
        assertError("data:image/png,%89PNG", 400, "invalid_image_url", "The data URI in '" + PARAM
                + "' is not base64-encoded: images must be sent as data:image/<type>;base64,<data>.");
    }

    @Test
    void refusesDataUriWithoutMediaType() {
        assertError("data:;base64," + base64(IMAGE), 400, "invalid_image_format", "The data URI in '" + PARAM
                + "' has no media type: expected data:image/<type>;base64,<data> with one of image/jpeg, image/png, "
                + "image/gif, image/bmp and image/webp.");
    }

    @ParameterizedTest
    @ValueSource(strings = {"text/plain", "image/svg+xml", "image/tiff", "application/octet-stream"})
    void refusesOtherMediaTypes(String type) {
        assertError("data:" + type + ";base64," + base64(IMAGE), 400, "invalid_image_format",
                "Unsupported image type '" + type + "' in '" + PARAM
                        + "'. Supported types are image/jpeg, image/png, image/gif, image/bmp and image/webp.");
    }

    @Test
    void refusesEmptyPayload() {
        assertError("data:image/png;base64,", 400, "invalid_image_url",
                "The data URI in '" + PARAM + "' has no image data after the comma.");
    }

    @Test
    void refusesBadBase64() {
        assertError("data:image/png;base64,iVBO*w0K", 400, "invalid_image_url", "The data URI in '" + PARAM
                + "' is not valid base64 (Illegal base64 character 2a); use the standard alphabet with no line breaks "
                + "or spaces.");
        assertEquals("invalid_image_url", error("data:image/png;base64,iVBO\nw0KGgo=").code());
        assertEquals("invalid_image_url", error("data:image/png;base64,iVBO-w0_").code());
    }

    @Test
    void refusesPayloadOverTheLimit() {
        byte[] seventeen = new byte[LIMIT + 1];
        assertError("data:image/png;base64," + base64(seventeen), 413, "image_too_large", "The image in '" + PARAM
                + "' is 17 bytes, larger than this server's limit of 16 bytes.");
    }

    @Test
    void sizeIsCheckedBeforeDecoding() {
        // Not base64 at all: only a check on the length, ahead of decoding, can answer 413 rather than 400.
        ApiError e = error("data:image/png;base64," + "*".repeat(4 << 20));
        assertEquals(413, e.status());
        assertEquals("The image in '" + PARAM + "' is 3 MiB, larger than this server's limit of 16 bytes.", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "file:///etc/passwd", "ftp://images.example.com/cat.png", "gopher://127.0.0.1:6379/_",
            "//images.example.com/cat.png", "cat.png", " data:image/png;base64,AAAA"})
    void refusesOtherSchemes(String url) {
        assertError(url, 400, "invalid_image_url",
                "The image URL in '" + PARAM + "' must be a data URI (data:image/png;base64,...).");
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://127.0.0.1/cat.png", "HTTPS://images.example.com/cat.png"})
    void refusesHttpUrlsWhenDisabled(String url) {
        assertError(url, 400, "image_url_not_allowed", "Image URLs are not enabled on this server: send the image in '"
                + PARAM + "' inline as a data URI (data:image/png;base64,...). Operators enable http(s) image URLs "
                + "with GATEWAY_IMAGE_URLS_ENABLED=true and GATEWAY_IMAGE_URL_ALLOWLIST.");
    }
}
