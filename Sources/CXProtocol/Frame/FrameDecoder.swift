import Crypto
import SwiftProtobuf

/// Reads frames in the order that spends the least on hostile input: header and bounds first, then the
/// signature over the compressed bytes, and only then inflation — bounded by the declared size.
public struct FrameDecoder: Sendable {
    public var limits: ProtocolLimits
    public var dictionaries: [UInt32: ZstdDictionary]

    public init(limits: ProtocolLimits = .default, dictionaries: [ZstdDictionary] = []) {
        self.limits = limits
        self.dictionaries = Dictionary(dictionaries.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Parses and bounds-checks the header; touches no payload byte.
    public func header(of bytes: [UInt8]) throws(ProtocolError) -> FrameHeader {
        guard bytes.count <= limits.maxFrameBytes else {
            throw ProtocolError(
                .frameTooLarge, "frame of \(bytes.count) bytes exceeds the limit of \(limits.maxFrameBytes)")
        }
        guard bytes.count >= 8 else {
            throw ProtocolError(.truncatedFrame, "frame of \(bytes.count) bytes is shorter than the 53-byte header")
        }
        guard Array(bytes[0..<4]) == FrameHeader.magic else {
            throw ProtocolError(.badMagic, "frame does not start with \"CXSF\"")
        }
        let major = bytes[4]
        guard FrameHeader.supportedMajors.contains(major) else {
            let supported = FrameHeader.supportedMajors.map(String.init).joined(separator: ", ")
            throw ProtocolError(
                .unsupportedVersion, "protocol major version \(major) is not supported (supported: \(supported))")
        }
        guard bytes.count >= FrameHeader.fixedLength else {
            throw ProtocolError(.truncatedFrame, "frame of \(bytes.count) bytes is shorter than the 53-byte header")
        }
        let flags = FrameHeader.Flags(rawValue: bytes[6])
        guard FrameHeader.Flags.known.isSuperset(of: flags),
            !flags.contains(.dictionary) || flags.contains(.zstd)
        else {
            throw ProtocolError(.badFlags, "unknown or inconsistent flags 0x\(String(bytes[6], radix: 16))")
        }
        guard let kind = FrameKind(rawValue: bytes[7]) else {
            throw ProtocolError(.unexpectedKind, "unknown frame kind \(bytes[7])")
        }
        let dictionaryID = bytes.bigEndianUInt32(at: 8)
        let decompressedLength = bytes.bigEndianUInt32(at: 12)
        let payloadLength = bytes.bigEndianUInt32(at: 16)
        let keyLength = Int(bytes[52])
        guard keyLength <= limits.maxKeyIDLength else {
            throw ProtocolError(.stringTooLong, "key id of \(keyLength) bytes exceeds \(limits.maxKeyIDLength)")
        }
        guard bytes.count >= FrameHeader.fixedLength + keyLength else {
            throw ProtocolError(.truncatedFrame, "frame ends inside the key id")
        }
        guard let keyID = String(validating: bytes[53..<(53 + keyLength)], as: UTF8.self) else {
            throw ProtocolError(.invalidField, "key id is not UTF-8")
        }
        let header = FrameHeader(
            major: major, minor: bytes[5], flags: flags, kind: kind, dictionaryID: dictionaryID,
            decompressedLength: decompressedLength, payloadLength: payloadLength,
            contentHash: Array(bytes[20..<52]), keyID: keyID)
        if bytes.count < header.totalLength {
            throw ProtocolError(
                .truncatedFrame, "frame has \(bytes.count) bytes, its header announces \(header.totalLength)")
        }
        if bytes.count > header.totalLength {
            throw ProtocolError(
                .trailingBytes, "frame has \(bytes.count - header.totalLength) bytes after its announced end")
        }
        guard Int(decompressedLength) <= limits.maxDecompressedBytes else {
            throw ProtocolError(
                .decompressedTooLarge,
                "frame declares \(decompressedLength) decompressed bytes, the limit is \(limits.maxDecompressedBytes)")
        }
        if flags.contains(.zstd) {
            guard UInt64(decompressedLength) <= UInt64(max(payloadLength, 1)) * UInt64(limits.maxCompressionRatio)
            else {
                throw ProtocolError(
                    .decompressedTooLarge,
                    "frame declares a \(decompressedLength / max(payloadLength, 1)):1 expansion, "
                        + "the limit is \(limits.maxCompressionRatio):1")
            }
        } else if decompressedLength != payloadLength {
            throw ProtocolError(
                .sizeMismatch, "uncompressed payload of \(payloadLength) bytes, header says \(decompressedLength)")
        }
        return header
    }

    /// Checks the Ed25519 signature over every byte before it.
    public func verify(_ bytes: [UInt8], header: FrameHeader, with key: AgentPublicKey) throws(ProtocolError) {
        guard header.isSigned else {
            throw ProtocolError(.missingSignature, "frame is not signed")
        }
        let signedEnd = header.headerLength + Int(header.payloadLength)
        let signature = bytes[signedEnd..<(signedEnd + FrameHeader.signatureLength)]
        guard key.isValidSignature(signature, for: bytes[0..<signedEnd]) else {
            throw ProtocolError(.badSignature, "signature does not verify with the key enrolled for '\(header.keyID)'")
        }
    }

    /// Returns the message bytes: inflated (bounded) if compressed, and checked against the content hash.
    public func payload(of bytes: [UInt8], header: FrameHeader) throws(ProtocolError) -> [UInt8] {
        let start = header.headerLength
        let raw = bytes[start..<(start + Int(header.payloadLength))]
        let message: [UInt8]
        if header.flags.contains(.zstd) {
            var dictionary: ZstdDictionary?
            if header.flags.contains(.dictionary) {
                guard let d = dictionaries[header.dictionaryID] else {
                    throw ProtocolError(.unknownDictionary, "zstd dictionary \(header.dictionaryID) is not known here")
                }
                dictionary = d
            }
            message = try Zstd.decompress(raw, expectedLength: Int(header.decompressedLength), dictionary: dictionary)
        } else {
            message = Array(raw)
        }
        guard Array(SHA256.hash(data: message)) == header.contentHash else {
            throw ProtocolError(.hashMismatch, "content hash does not match the payload")
        }
        return message
    }

    /// The whole path for one frame: header, expected kind, signature (when `key` is given), payload.
    public func open(
        _ bytes: [UInt8], expecting kind: FrameKind, key: (String) -> AgentPublicKey?
    ) throws(ProtocolError) -> (header: FrameHeader, message: [UInt8]) {
        let header = try header(of: bytes)
        guard header.kind == kind else {
            throw ProtocolError(.unexpectedKind, "expected a \(kind) frame, got \(header.kind)")
        }
        if header.isSigned || kind == .batch || kind == .digestRequest {
            guard header.isSigned else { throw ProtocolError(.missingSignature, "\(kind) frames must be signed") }
            guard let publicKey = key(header.keyID) else {
                throw ProtocolError(.unknownAgent, "no enrolled, unrevoked agent '\(header.keyID)'")
            }
            try verify(bytes, header: header, with: publicKey)
        }
        return (header, try payload(of: bytes, header: header))
    }

    /// Decodes a protobuf message, mapping its errors to `malformed_message`.
    public func decode<M: SwiftProtobuf.Message>(_: M.Type, from message: [UInt8]) throws(ProtocolError) -> M {
        do {
            return try M(serializedBytes: message)
        } catch {
            throw ProtocolError(.malformedMessage, "not a valid \(M.protoMessageName): \(error)")
        }
    }
}

extension [UInt8] {
    func bigEndianUInt32(at i: Int) -> UInt32 {
        UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }
}
