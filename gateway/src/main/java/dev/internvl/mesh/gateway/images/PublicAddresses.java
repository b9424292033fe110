package dev.internvl.mesh.gateway.images;

import java.net.InetAddress;
import java.util.List;
import java.util.stream.Stream;

/**
 * Tells public unicast addresses from the rest: loopback, private, link-local, shared, multicast, documentation,
 * reserved, and IPv6 forms that embed or translate to an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo),
 * which could otherwise lead to any IPv4 address, private ones included. Ranges after the IANA special-purpose
 * registries (RFC 6890 and its updates).
 */
final class PublicAddresses {
    private static final List<Block> NON_PUBLIC = Stream.of(
            "0.0.0.0/8", // this network, with the unspecified address
            "10.0.0.0/8",
            "100.64.0.0/10", // carrier-grade NAT
            "127.0.0.0/8",
            "169.254.0.0/16", // link-local, with cloud metadata services at 169.254.169.254
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.88.99.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/4", // multicast
            "240.0.0.0/4", // reserved, with broadcast
            "::/96", // unspecified, loopback and IPv4-compatible
            "64:ff9b::/96", // NAT64
            "64:ff9b:1::/48",
            "100::/64", // discard
            "2001::/23", // IETF protocol assignments, with Teredo
            "2001:db8::/32",
            "2002::/16", // 6to4
            "3fff::/20",
            "fc00::/7", // unique local
            "fe80::/10", // link-local
            "fec0::/10", // former site-local
            "ff00::/8" // multicast
    ).map(Block::parse).toList();

    private PublicAddresses() {
    }

    static boolean isPublic(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (isIpv4Mapped(bytes)) {
            // Java usually unwraps ::ffff:a.b.c.d into an Inet4Address; refuse any that reach here still wrapped.
            return false;
        }
        return NON_PUBLIC.stream().noneMatch(block -> block.contains(bytes));
    }

    private static boolean isIpv4Mapped(byte[] bytes) {
        if (bytes.length != 16 || bytes[10] != (byte) 0xff || bytes[11] != (byte) 0xff) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private record Block(byte[] prefix, int bits) {
        static Block parse(String cidr) {
            int slash = cidr.indexOf('/');
            return new Block(InetAddress.ofLiteral(cidr.substring(0, slash)).getAddress(),
                    Integer.parseInt(cidr.substring(slash + 1)));
        }

        boolean contains(byte[] address) {
            if (address.length != prefix.length) {
                return false;
            }
            int whole = bits / 8;
            for (int i = 0; i < whole; i++) {
                if (address[i] != prefix[i]) {
                    return false;
                }
            }
            int rest = bits % 8;
            if (rest == 0) {
                return true;
            }
            int mask = 0xff << (8 - rest) & 0xff;
            return (address[whole] & mask) == (prefix[whole] & mask);
        }
    }
}
