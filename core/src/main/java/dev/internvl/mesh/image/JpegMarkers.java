package dev.internvl.mesh.image;

/**
 * What libjpeg notes from a JPEG's markers before the first scan: a JFIF (APP0) marker, an Adobe (APP14) marker's
 * colour transform (-1 without one), the start-of-frame marker (its type says the coding process; -1 if none) and
 * each frame component's id and sampling factors.
 */
record JpegMarkers(boolean jfif, int adobeTransform, int frameMarker, int[] componentIds, int[] hSampling,
                   int[] vSampling) {

    /** SOF9-11 and SOF13-15: arithmetic-coded frames. */
    boolean arithmetic() {
        return frameMarker >= 0xC9 && frameMarker != 0xCC;
    }

    static JpegMarkers scan(byte[] d) {
        boolean jfif = false;
        int adobe = -1;
        int frame = -1;
        int[] ids = new int[0];
        int[] h = new int[0];
        int[] v = new int[0];
        int p = 2;
        while (p + 4 <= d.length && (d[p] & 0xFF) == 0xFF) {
            int marker = d[p + 1] & 0xFF;
            if (marker == 0xFF) { // fill byte
                p++;
                continue;
            }
            if (marker == 0xDA || marker == 0xD9) { // SOS, EOI
                break;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { // no length field
                p += 2;
                continue;
            }
            int length = ((d[p + 2] & 0xFF) << 8) | (d[p + 3] & 0xFF);
            int start = p + 4;
            int size = length - 2;
            if (size < 0 || start + size > d.length) {
                break;
            }
            // libjpeg looks at the first 14 bytes of APPn; JFIF needs all 14, Adobe 12.
            if (marker == 0xE0 && size >= 14 && ascii(d, start, "JFIF\0")) {
                jfif = true;
            } else if (marker == 0xEE && size >= 12 && ascii(d, start, "Adobe")) {
                adobe = d[start + 11] & 0xFF;
            } else if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
                    && size >= 6) {
                frame = marker;
                int n = d[start + 5] & 0xFF;
                if (size >= 6 + 3 * n) {
                    ids = new int[n];
                    h = new int[n];
                    v = new int[n];
                    for (int i = 0; i < n; i++) {
                        ids[i] = d[start + 6 + 3 * i] & 0xFF;
                        h[i] = (d[start + 7 + 3 * i] & 0xFF) >> 4;
                        v[i] = d[start + 7 + 3 * i] & 0x0F;
                    }
                }
            }
            p = start + size;
        }
        return new JpegMarkers(jfif, adobe, frame, ids, h, v);
    }

    private static boolean ascii(byte[] d, int at, String s) {
        for (int i = 0; i < s.length(); i++) {
            if (d[at + i] != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
