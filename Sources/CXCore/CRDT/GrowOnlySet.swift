/// A grow-only set: immutable facts (events) and identity-link edges.
public struct GrowOnlySet<Element: Sendable & Hashable>: CRDT, Hashable {
    public private(set) var elements: Set<Element>

    public init(_ elements: Set<Element> = []) {
        self.elements = elements
    }

    @discardableResult
    public mutating func insert(_ element: Element) -> Bool {
        elements.insert(element).inserted
    }

    public func contains(_ element: Element) -> Bool {
        elements.contains(element)
    }

    public mutating func merge(_ other: GrowOnlySet<Element>) {
        elements.formUnion(other.elements)
    }
}

/// An identity link seen by a device: two pseudonymous identifiers that belong to one customer.
///
/// Stored in a `GrowOnlySet`; the unified customer is the connected component. Edges are kept
/// normalised (`a <= b`) so that the same link seen from either side is one element.
public struct IdentityLink: Sendable, Hashable, Comparable, Codable {
    public let a: String
    public let b: String

    public init(_ x: String, _ y: String) {
        if x <= y {
            (a, b) = (x, y)
        } else {
            (a, b) = (y, x)
        }
    }

    public static func < (lhs: IdentityLink, rhs: IdentityLink) -> Bool { (lhs.a, lhs.b) < (rhs.a, rhs.b) }
}
