/// A set whose elements belong to subjects (pseudonymous customer ids) that can be erased forever.
///
/// Erasure is remove-wins: an add that is concurrent with, or later than, the erasure of its subject
/// stays invisible, so an agent that was offline when a customer was erased cannot bring the data back.
/// Tombstones hold only the subject id (a keyed hash) and the earliest erasure stamp, and are never dropped.
public struct RemoveWinsSet<Subject: Sendable & Hashable, Element: Sendable & Hashable>: CRDT, Hashable {
    public private(set) var elements: [Subject: Set<Element>]
    public private(set) var tombstones: [Subject: HLCTimestamp]

    public init() {
        self.elements = [:]
        self.tombstones = [:]
    }

    /// Adds `element` for `subject`; returns false when the subject is erased (nothing is stored then).
    @discardableResult
    public mutating func insert(_ element: Element, for subject: Subject) -> Bool {
        guard tombstones[subject] == nil else { return false }
        return elements[subject, default: []].insert(element).inserted
    }

    public mutating func erase(_ subject: Subject, at stamp: HLCTimestamp) {
        tombstones[subject] = min(tombstones[subject] ?? stamp, stamp)
        elements[subject] = nil
    }

    public func isErased(_ subject: Subject) -> Bool {
        tombstones[subject] != nil
    }

    public func elements(of subject: Subject) -> Set<Element> {
        elements[subject] ?? []
    }

    public mutating func merge(_ other: RemoveWinsSet<Subject, Element>) {
        for (subject, stamp) in other.tombstones {
            erase(subject, at: stamp)
        }
        for (subject, set) in other.elements where tombstones[subject] == nil {
            elements[subject, default: []].formUnion(set)
        }
    }
}

/// The fleet-wide erasure tombstones: subject ids only, kept forever, joined by union.
public typealias ErasureSet = RemoveWinsSet<String, UInt64>
