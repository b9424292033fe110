package dev.internvl.mesh.serving;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A CA and certificates it signs, made fresh for a test and written as PEM files the way cert-manager writes a
 * Secret ({@code tls.crt}, {@code tls.key} as PKCS#8, {@code ca.crt}). Leaf certificates name {@code localhost} and
 * {@code 127.0.0.1} and serve as both server and client certificates, like the mesh's one certificate.
 */
public final class TestCertificates {
    private static final AtomicLong SERIAL = new AtomicLong(1);

    private final KeyPair caKeys;
    private final X509CertificateHolder caCert;
    private final Path dir;

    public TestCertificates(Path dir, String caName) {
        try {
            this.dir = Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.caKeys = keyPair();
        X500Name name = new X500Name("CN=" + caName);
        try {
            X509v3CertificateBuilder b = builder(name, name, caKeys);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            this.caCert = b.build(signer(caKeys));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The CA certificate's file. */
    public Path ca() {
        Path file = dir.resolve("ca.crt");
        write(file, caCert);
        return file;
    }

    /** A leaf certificate and its key, signed by this CA: {@code [certificate file, PKCS#8 key file]}. */
    public Path[] leaf(String name) {
        KeyPair keys = keyPair();
        try {
            X509v3CertificateBuilder b = builder(caCert.getSubject(), new X500Name("CN=" + name), keys);
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[]{
                    new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            b.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(new KeyPurposeId[]{KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            Path cert = dir.resolve(name + ".crt");
            Path key = dir.resolve(name + ".key");
            write(cert, b.build(signer(caKeys)));
            write(key, new JcaPKCS8Generator(keys.getPrivate(), null).generate());
            return new Path[]{cert, key};
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A private key in the SEC1 format ({@code BEGIN EC PRIVATE KEY}), which Netty does not read. */
    public Path sec1Key(String name) {
        Path file = dir.resolve(name + "-sec1.key");
        write(file, keyPair().getPrivate());
        return file;
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
        Instant now = Instant.now();
        return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.getAndIncrement()),
                Date.from(now.minus(1, ChronoUnit.HOURS)), Date.from(now.plus(1, ChronoUnit.DAYS)), subject, keys.getPublic());
    }

    private static KeyPair keyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ContentSigner signer(KeyPair keys) {
        try {
            return new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
        } catch (org.bouncycastle.operator.OperatorCreationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void write(Path file, Object pemObject) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter pem = new JcaPEMWriter(out)) {
            pem.writeObject(pemObject);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Files.writeString(file, out.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
