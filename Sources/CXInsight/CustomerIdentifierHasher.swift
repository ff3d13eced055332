import CXCore
import Crypto
import Foundation

/// Replaces customer identifiers (loyalty id, e-mail, phone) by keyed hashes, HMAC-SHA256 with a
/// fleet-wide key, so that the hub can join one customer's events across channels and stores
/// without ever seeing the identifier itself.
///
/// Identifiers are normalised first (e-mail lower-cased and trimmed; phone reduced to digits with a
/// country code; loyalty id upper-cased without spaces or dashes) so that "Ann@X.com " and
/// "ann@x.com" hash alike, and the kind is part of the hashed message so that a phone number and a
/// loyalty id with the same digits do not collide.
public struct CustomerIdentifierHasher: Sendable {
    /// The kind of identifier, which selects its normalisation.
    public enum Kind: String, Sendable, Hashable, Codable {
        case email, phone, loyalty

        /// What is hashed before the normalised identifier: `kind:`.
        var hashPrefix: [UInt8] {
            switch self {
            case .email: Self.emailPrefix
            case .phone: Self.phonePrefix
            case .loyalty: Self.loyaltyPrefix
            }
        }
        private static let emailPrefix = Array("email:".utf8)
        private static let phonePrefix = Array("phone:".utf8)
        private static let loyaltyPrefix = Array("loyalty:".utf8)
    }

    /// HMAC-SHA256 state after absorbing the key, copied per call (saves re-deriving the padded key blocks).
    private let keyed: KeyedSHA256
    /// Short identifier of the key (first 4 bytes of SHA-256 of the key, hex) for key rotation bookkeeping.
    public let keyID: String
    /// Country calling code used for national phone numbers with a trunk 0 (e.g. "44"); nil keeps them as is.
    public var defaultCountryCode: String?

    /// - Parameter fleetKey: at least 16 bytes of secret shared by the agents of a fleet (not by the hub).
    public init(fleetKey: [UInt8], defaultCountryCode: String? = nil) throws {
        guard fleetKey.count >= 16 else { throw KeyTooShort() }
        keyed = KeyedSHA256(key: fleetKey)
        keyID = CustomerKey.hex(SHA256.hash(data: fleetKey), count: 4)
        self.defaultCountryCode = defaultCountryCode
    }

    /// Country codes whose national numbers keep their leading 0 after the country code.
    static let keepsLeadingZero: Set<String> = ["39", "378", "379"]

    /// Why `code` cannot be a default country code (nil when it can, or when it is empty: none).
    public static func countryCodeProblem(_ code: String) -> String? {
        if code.isEmpty { return nil }
        let digits = code.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        guard digits, (1...3).contains(code.utf8.count), code.utf8.first != 0x30 else {
            return "'\(code)' is not a country calling code (1 to 3 digits without '+', e.g. 44)"
        }
        return nil
    }

    struct KeyTooShort: Error, CustomStringConvertible {
        var description: String { "fleet key must be at least 16 bytes" }
    }

    /// Normalised form of an identifier (what is hashed, after the kind prefix); nil when empty.
    public func normalize(_ raw: String, kind: Kind) -> String? {
        let t: String
        if let f = raw.utf8.first, let l = raw.utf8.last, f > 0x20, l > 0x20 {
            t = raw
        } else {
            t = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        switch kind {
        case .email:
            guard t.utf8.contains(UInt8(ascii: "@")) else { return nil }
            return Self.asciiMapped(t, Self.emailByte) ?? t.lowercased()
        case .phone:
            // "+44 (0)7700 900123": the trunk 0 in brackets is not dialled after the country code
            let written = t.hasPrefix("+") && t.contains("(0)") ? t.replacingOccurrences(of: "(0)", with: "") : t
            let digits = written.unicodeScalars.filter { $0.value >= 0x30 && $0.value <= 0x39 }.map { Character($0) }
            guard digits.count >= 6 else { return nil }
            var s = String(digits)
            if t.hasPrefix("+") {
                return "+" + s
            }
            if s.hasPrefix("00") { return "+" + s.dropFirst(2) }
            if let cc = defaultCountryCode {
                // Italy, San Marino and the Vatican keep the leading 0 of a landline in international form
                if s.hasPrefix("0") && !Self.keepsLeadingZero.contains(cc) { s.removeFirst() }
                if cc == "1" && s.count == 11 && s.hasPrefix("1") { return "+" + s }
                return "+" + cc + s
            }
            return s
        case .loyalty:
            let s = Self.asciiMapped(t, Self.loyaltyByte) ?? t.uppercased().filter { $0 != " " && $0 != "-" }
            return s.isEmpty ? nil : s
        }
    }

    /// Lower-case hex of HMAC-SHA256 of `kind:normalised`, truncated to 128 bits (RFC 2104 §5 allows truncation
    /// to half the output): 32 characters, collision-free in practice for any customer base, and half the
    /// bytes in every stored event and index entry. Nil when the identifier is empty or malformed.
    public func hash(_ raw: String, kind: Kind) -> String? {
        authenticationCode(raw, kind: kind).map { CustomerKey.hex($0) }
    }

    /// `hash(_:kind:)` as the key's two halves, without its hex string: what the agent stores.
    public func key(_ raw: String, kind: Kind) -> CustomerKey.Halves? {
        authenticationCode(raw, kind: kind).map { mac in
            mac.withUnsafeBytes { b in
                (
                    UInt64(bigEndian: b.loadUnaligned(as: UInt64.self)),
                    UInt64(bigEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                )
            }
        }
    }

    /// `key(_:kind:)` of an identifier whose kind is guessed (`guessKind`).
    public func key(_ raw: String) -> CustomerKey.Halves? {
        key(raw, kind: Self.guessKind(raw))
    }

    /// HMAC-SHA256 of `kind:normalised`; nil when the identifier is empty or malformed.
    ///
    /// An ASCII e-mail or loyalty id without surrounding whitespace (nearly all of them) is normalised byte by byte
    /// into the HMAC, without the normalised string and the message built around it: a first-seen customer cost
    /// half a dozen allocations.
    private func authenticationCode(_ raw: String, kind: Kind) -> SHA256Digest? {
        var h = keyed.begin()
        kind.hashPrefix.withUnsafeBytes { h.update($0) }
        if kind != .phone, let f = raw.utf8.first, let l = raw.utf8.last, f > 0x20, l > 0x20 {
            var raw = raw
            let hashed = raw.withUTF8 { bytes -> Bool? in
                guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
                if kind == .email {
                    guard bytes.contains(UInt8(ascii: "@")) else { return false }
                    Self.updateMapped(&h, bytes, Self.emailByte)
                    return true
                }
                return Self.updateMapped(&h, bytes, Self.loyaltyByte) > 0
            }
            switch hashed {
            case true?: return h.finalize()
            case false?: return nil
            case nil: break  // not ASCII: Foundation's case mapping below
            }
        }
        guard var norm = normalize(raw, kind: kind) else { return nil }
        norm.withUTF8 { h.update(UnsafeRawBufferPointer($0)) }
        return h.finalize()
    }

    /// An e-mail address's ASCII byte, normalised: lower case.
    static func emailByte(_ b: UInt8) -> UInt8? { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// A loyalty id's ASCII byte, normalised: upper case, spaces and dashes dropped (nil).
    static func loyaltyByte(_ b: UInt8) -> UInt8? {
        b == 0x20 || b == 0x2D ? nil : b >= 0x61 && b <= 0x7A ? b & ~0x20 : b
    }

    /// Feeds `bytes`, each mapped (nil drops it), to `h` through a small stack buffer; returns how many it fed.
    @discardableResult
    static func updateMapped(
        _ h: inout KeyedSHA256.Computation, _ bytes: UnsafeBufferPointer<UInt8>, _ map: (UInt8) -> UInt8?
    ) -> Int {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
            var total = 0
            var n = 0
            for b in bytes {
                guard let m = map(b) else { continue }
                buffer[n] = m
                n += 1
                if n == buffer.count {
                    h.update(UnsafeRawBufferPointer(buffer))
                    total += n
                    n = 0
                }
            }
            if n > 0 { h.update(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[..<n]))) }
            return total + n
        }
    }

    /// `s` with each byte mapped (nil drops it) when `s` is ASCII; nil otherwise, for the Unicode-aware path.
    /// Identifiers are nearly always ASCII, and Foundation's case mapping was most of a first-seen customer's cost.
    static func asciiMapped(_ s: String, _ map: (UInt8) -> UInt8?) -> String? {
        let u = s.utf8
        guard u.allSatisfy({ $0 < 0x80 }) else { return nil }
        return String(unsafeUninitializedCapacity: u.count) { out in
            var n = 0
            for b in u {
                if let m = map(b) {
                    out[n] = m
                    n += 1
                }
            }
            return n
        }
    }

    /// Hashes an identifier whose kind is guessed: "@" means e-mail, a mostly-digit string with 7+
    /// digits a phone, anything else a loyalty id.
    public func hash(_ raw: String) -> String? {
        hash(raw, kind: Self.guessKind(raw))
    }

    /// Kind guessed from the shape of an identifier (used when the caller does not know it).
    public static func guessKind(_ raw: String) -> Kind {
        var digits = 0
        var letters = 0
        for b in raw.utf8 {
            if b == UInt8(ascii: "@") { return .email }
            if b >= 0x30 && b <= 0x39 {
                digits += 1
            } else if (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A {
                letters += 1
            }
        }
        return digits >= 7 && letters == 0 ? .phone : .loyalty
    }
}
