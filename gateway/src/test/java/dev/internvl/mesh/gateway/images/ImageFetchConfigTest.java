package dev.internvl.mesh.gateway.images;

import dev.internvl.mesh.serving.Settings;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageFetchConfigTest {
    private static ImageFetchConfig from(Map<String, String> env) {
        return ImageFetchConfig.from(new Settings(env));
    }

    private static ImageFetchConfig allowing(String... hosts) {
        return new ImageFetchConfig(1 << 20, true, List.of(hosts), false, Duration.ofSeconds(1), Duration.ofSeconds(2), 3);
    }

    @Test
    void defaultsAcceptDataUrisOnly() {
        ImageFetchConfig c = ImageFetchConfig.defaults();
        assertEquals(20L << 20, c.maxBytes());
        assertFalse(c.urlsEnabled());
        assertEquals(List.of(), c.urlAllowlist());
        assertFalse(c.allowPrivateAddresses());
        assertEquals(Duration.ofSeconds(5), c.connectTimeout());
        assertEquals(Duration.ofSeconds(10), c.fetchTimeout());
        assertEquals(3, c.maxRedirects());
    }

    @Test
    void readsEveryVariable() {
        ImageFetchConfig c = from(Map.of(
                "GATEWAY_IMAGE_MAX_BYTES", "4m",
                "GATEWAY_IMAGE_URLS_ENABLED", "TRUE",
                "GATEWAY_IMAGE_URL_ALLOWLIST", " Images.Example.COM. , *.cdn.example.net,,",
                "GATEWAY_IMAGE_ALLOW_PRIVATE_ADDRESSES", "true",
                "GATEWAY_IMAGE_CONNECT_TIMEOUT", "750",
                "GATEWAY_IMAGE_FETCH_TIMEOUT", "30s",
                "GATEWAY_IMAGE_MAX_REDIRECTS", "0"));
        assertEquals(4L << 20, c.maxBytes());
        assertTrue(c.urlsEnabled());
        assertEquals(List.of("images.example.com", "*.cdn.example.net"), c.urlAllowlist());
        assertTrue(c.allowPrivateAddresses());
        assertEquals(Duration.ofMillis(750), c.connectTimeout());
        assertEquals(Duration.ofSeconds(30), c.fetchTimeout());
        assertEquals(0, c.maxRedirects());
    }

    @Test
    void urlsEnabledWithoutAllowlistStopsStartup() {
        var e = assertThrows(IllegalArgumentException.class, () -> from(Map.of("GATEWAY_IMAGE_URLS_ENABLED", "true")));
        assertEquals("GATEWAY_IMAGE_URLS_ENABLED=true needs GATEWAY_IMAGE_URL_ALLOWLIST: the hosts to fetch images from "
                + "(comma-separated, *.example.com patterns allowed), or * for any host", e.getMessage());
    }

    @Test
    void badValuesNameTheVariable() {
        assertEquals("GATEWAY_IMAGE_URLS_ENABLED=yes is not a boolean (true or false)",
                assertThrows(IllegalArgumentException.class,
                        () -> from(Map.of("GATEWAY_IMAGE_URLS_ENABLED", "yes"))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> from(Map.of("GATEWAY_IMAGE_MAX_BYTES", "0"))).getMessage().startsWith("GATEWAY_IMAGE_MAX_BYTES"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> from(Map.of("GATEWAY_IMAGE_MAX_REDIRECTS", "11"))).getMessage().startsWith("GATEWAY_IMAGE_MAX_REDIRECTS"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> from(Map.of("GATEWAY_IMAGE_FETCH_TIMEOUT", "0"))).getMessage().startsWith("GATEWAY_IMAGE_FETCH_TIMEOUT"));
        for (String entry : List.of("https://images.example.com", "images.example.com:443", "images.example.com/cats",
                "*.", "a.*.example.com", "user@example.com")) {
            var e = assertThrows(IllegalArgumentException.class, () -> allowing(entry), entry);
            assertTrue(e.getMessage().startsWith("GATEWAY_IMAGE_URL_ALLOWLIST entry '" + entry + "'"), e.getMessage());
        }
    }

    @Test
    void allowlistMatchesExactNamesAndSuffixPatterns() {
        ImageFetchConfig c = allowing("images.example.com", "*.cdn.example.net", "127.0.0.1", "[::1]");
        assertTrue(c.allowsHost("images.example.com"));
        assertTrue(c.allowsHost("IMAGES.Example.com."));
        assertFalse(c.allowsHost("other.example.com"));
        assertFalse(c.allowsHost("images.example.com.evil.test"));
        assertTrue(c.allowsHost("eu.cdn.example.net"));
        assertTrue(c.allowsHost("a.b.cdn.example.net"));
        assertFalse(c.allowsHost("cdn.example.net"));
        assertFalse(c.allowsHost("evilcdn.example.net"));
        assertTrue(c.allowsHost("127.0.0.1"));
        assertFalse(c.allowsHost("127.0.0.2"));
        assertTrue(c.allowsHost("[::1]"));
        assertTrue(allowing("*").allowsHost("anything.test"));
    }
}
