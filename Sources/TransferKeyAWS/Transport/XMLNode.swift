import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A parsed XML element: its local name, its text, and its child elements (namespaces ignored).
struct XMLNode: Sendable {
    var name: String
    var text: String
    var children: [XMLNode]

    /// The first direct child named `name`.
    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// Every direct child named `name`.
    func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }

    /// The first element named `name` in depth-first order, including this one.
    func descendant(_ name: String) -> XMLNode? {
        if self.name == name { return self }
        for child in children {
            if let found = child.descendant(name) { return found }
        }
        return nil
    }

    /// The trimmed text of the direct child `name`.
    func value(_ name: String) -> String? {
        child(name).map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Parses `data`; `nil` when it is not well-formed XML, or not the plain UTF-8 XML AWS sends.
    static func parse(_ bytes: [UInt8]) -> XMLNode? {
        guard isPlainUTF8XML(bytes) else { return nil }
        let delegate = Builder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = delegate
        guard parser.parse(), let root = delegate.root else { return nil }
        return root
    }

    /// Whether `bytes` may be handed to FoundationXML: valid UTF-8, no DTD or entity declaration,
    /// and no XML declaration naming another encoding.
    ///
    /// Why: FoundationXML on Linux force-unwraps element and attribute names as UTF-8, so a body with
    /// invalid UTF-8 in a tag name (a broken proxy, a hostile endpoint) crashes the whole process
    /// (found by DecoderPropertyTests); and it substitutes entities, so a DTD could expand without
    /// bound. AWS's query-protocol answers are plain UTF-8 XML without a DTD, so nothing real is lost.
    static func isPlainUTF8XML(_ bytes: [UInt8]) -> Bool {
        guard let text = String(validating: bytes, as: UTF8.self) else { return false }
        let upper = text.uppercased()
        if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") || upper.contains("<!ELEMENT")
            || upper.contains("<!ATTLIST")
        {
            return false
        }
        if let declaration = upper.range(of: "?>").map({ upper[..<$0.lowerBound] }), declaration.contains("<?XML"),
            let encoding = declaration.range(of: "ENCODING")
        {
            let rest = declaration[encoding.upperBound...].drop { " =\t\r\n\"'".contains($0) }
            guard rest.hasPrefix("UTF-8") || rest.hasPrefix("UTF8") else { return false }
        }
        return true
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLNode] = []
        var root: XMLNode?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
            stack.append(XMLNode(name: local, text: "", children: []))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !stack.isEmpty { stack[stack.count - 1].text += string }
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
        ) {
            guard let node = stack.popLast() else { return }
            if stack.isEmpty {
                root = node
            } else {
                stack[stack.count - 1].children.append(node)
            }
        }
    }
}
