import Crypto
import Glibc
import Foundation
import SwiftASN1
import X509

/// The TLS material `cx-hub init` writes: a private CA (whose certificate agents and `cx` trust) and a server
/// certificate it signs for the hub's names. Keys are P-256 and written with mode 0600.
public struct HubCertificates: Sendable {
    public var caCertificatePEM: String
    public var serverCertificatePEM: String
    public var serverKeyPEM: String

    /// Issues a CA and a server certificate valid for `dnsNames` and `ipAddresses` (dotted IPv4 or IPv6 text).
    public static func generate(
        commonName: String = "cx-hub", dnsNames: [String] = ["localhost"],
        ipAddresses: [String] = ["127.0.0.1", "::1"],
        validity: TimeInterval = 825 * 86_400
    ) throws -> HubCertificates {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("cxsync")
            CommonName("\(commonName) CA")
        }
        let caCertificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(caKey.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(validity), issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(caKey.publicKey))
            },
            issuerPrivateKey: .init(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let serverName = try DistinguishedName {
            OrganizationName("cxsync")
            CommonName(commonName)
        }
        var names: [GeneralName] = dnsNames.map { .dnsName($0) }
        for ip in ipAddresses {
            if let bytes = Self.addressBytes(ip) { names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...]))) }
        }
        let sans = SubjectAlternativeNames(names)
        let serverCertificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(serverKey.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(validity), issuer: caName, subject: serverName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                sans
            },
            issuerPrivateKey: .init(caKey))
        return HubCertificates(
            caCertificatePEM: try caCertificate.serializeAsPEM().pemString,
            serverCertificatePEM: try serverCertificate.serializeAsPEM().pemString + "\n"
                + (try caCertificate.serializeAsPEM().pemString),
            serverKeyPEM: serverKey.pemRepresentation)
    }

    /// The bytes of an IPv4 or IPv6 literal, nil for anything else.
    static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// Writes `ca.pem`, `hub.pem` (chain) and `hub.key` (0600) into `directory`.
    public func write(to directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Self.writeFile(directory + "/ca.pem", caCertificatePEM + "\n", mode: 0o644)
        try Self.writeFile(directory + "/hub.pem", serverCertificatePEM + "\n", mode: 0o644)
        try Self.writeFile(directory + "/hub.key", serverKeyPEM + "\n", mode: 0o600)
    }

    /// Creates the file with `mode` before writing, so that a secret is never readable by others, not even briefly.
    public static func writeFile(_ path: String, _ text: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else {
            throw HubError("io_error", "cannot create \(path): \(String(cString: strerror(errno)))", status: 500)
        }
        defer { close(fd) }
        fchmod(fd, mode)
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                throw HubError("io_error", "cannot write \(path): \(String(cString: strerror(errno)))", status: 500)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            throw HubError("io_error", "cannot sync \(path): \(String(cString: strerror(errno)))", status: 500)
        }
    }
}
