package dev.internvl.mesh.gateway.images;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Literals only: {@link InetAddress#ofLiteral} does no lookup. */
class PublicAddressesTest {
    @ParameterizedTest
    @ValueSource(strings = {"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
            "127.0.0.1", "127.255.0.1", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1",
            "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1",
            "239.255.255.250", "240.0.0.1", "255.255.255.255",
            "::", "::1", "::127.0.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "100::1",
            "2001::1", "2001:db8::1", "2002:7f00:1::1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1"})
    void refusesNonPublic(String literal) {
        assertFalse(PublicAddresses.isPublic(InetAddress.ofLiteral(literal)), literal);
    }

    @ParameterizedTest
    @ValueSource(strings = {"8.8.8.8", "1.1.1.1", "93.184.215.14", "100.63.255.255", "100.128.0.1", "172.15.255.255",
            "172.32.0.1", "192.167.255.255", "192.169.0.1", "223.255.255.254",
            "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8"})
    void admitsPublic(String literal) {
        assertTrue(PublicAddresses.isPublic(InetAddress.ofLiteral(literal)), literal);
    }

    @Test
    void refusesIpv4MappedAddressesKeptInIpv6Form() throws UnknownHostException {
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = 8;
        mapped[13] = 8;
        mapped[14] = 8;
        mapped[15] = 8;
        InetAddress wrapped = Inet6Address.getByAddress(null, mapped, -1);
        assertFalse(PublicAddresses.isPublic(wrapped), wrapped.toString());
    }
}
