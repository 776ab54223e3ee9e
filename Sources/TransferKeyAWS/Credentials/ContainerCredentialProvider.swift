import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// ECS/EKS-Pod-Identity container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` against 169.254.170.2,
/// or `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (preferred) or
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
///
/// Like the SDKs, a full URI over plain HTTP is used only when its host resolves exclusively to loopback or the
/// container agents (169.254.170.2, 169.254.170.23, fd00:ec2::23); the URL is parsed, never prefix-matched, and
/// a URL with user info is refused. A token file that cannot be read is an error, never a fallback.
public struct ContainerCredentialProvider: CredentialProvider {
    private let url: String?
    private let isRelative: Bool
    private let authorizationToken: String?
    private let authorizationTokenFile: String?
    private let transport: any AWSTransport
    private let timeout: Duration
    private let cache: CredentialCache
    private let resolve: @Sendable (String) -> [String]

    /// Creates the provider. `relativeURIHost` is the ECS agent's address (overridable for tests); `resolve`
    /// turns a host name into its addresses (getaddrinfo unless injected).
    public init(
        environment: [String: String], transport: any AWSTransport, timeout: Duration = .seconds(2),
        relativeURIHost: String = "http://169.254.170.2",
        resolve: @escaping @Sendable (String) -> [String] = ContainerCredentialProvider.addresses(of:)
    ) {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = relativeURIHost + (relative.hasPrefix("/") ? relative : "/" + relative)
            isRelative = true
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            url = full
            isRelative = false
        } else {
            url = nil
            isRelative = false
        }
        authorizationToken = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        authorizationTokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].flatMap {
            $0.isEmpty ? nil : $0
        }
        self.transport = transport
        self.timeout = timeout
        self.resolve = resolve
        cache = CredentialCache()
    }

    /// `container credentials`.
    public var source: String { "container credentials" }

    /// Credentials from the container agent.
    public func credentials() async throws -> Credentials {
        guard let url else {
            throw CredentialProviderError(
                source: source, message: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI are not set",
                isNotConfigured: true)
        }
        let source = self.source
        if !isRelative, let problem = Self.problem(withFullURI: url, resolve: resolve) {
            throw CredentialProviderError(source: source, message: "AWS_CONTAINER_CREDENTIALS_FULL_URI " + problem)
        }
        return try await cache.credentials {
            [transport, timeout, authorizationToken, authorizationTokenFile] in
            var headers: [(name: String, value: String)] = []
            if let token = try Self.token(file: authorizationTokenFile, value: authorizationToken, source: source) {
                headers.append(("Authorization", token))
            }
            let response = try await CredentialSourceFetch(transport: transport, timeout: timeout).send(
                AWSHTTPRequest(method: "GET", url: url, headers: headers), source: source,
                what: "the container agent")
            guard response.isSuccess else {
                throw CredentialProviderError(
                    source: source, message: "the container agent answered HTTP \(response.status)")
            }
            return try MetadataCredentialsDocument.decode(response.body, source: source)
        }
    }

    /// Forgets the cached credentials.
    public func invalidate() async { await cache.invalidate() }

    /// The authorization token: the file's content (re-read at every refresh) or the variable's value.
    static func token(file: String?, value: String?, source: String) throws -> String? {
        var token = value
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CredentialProviderError(
                    source: source,
                    message:
                        "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file): check the path and permissions"
                )
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let token, token.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw CredentialProviderError(
                source: source, message: "the container authorization token contains a line break")
        }
        return token
    }

    /// Why a full URI may not be used (`nil` when it may): it must parse, carry no user info, and use https
    /// or plain http towards a host whose every address is loopback or a container agent.
    static func problem(withFullURI text: String, resolve: (String) -> [String]) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { return "is not a valid URL" }
        guard components.user == nil, components.password == nil else {
            return "must not contain user info (user@host)"
        }
        switch scheme {
        case "https": return nil
        case "http": break
        default: return "must use https or http, got \(scheme)"
        }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses = isIPAddress(bare) ? [bare] : resolve(bare)
        guard !addresses.isEmpty else { return "host \(bare) does not resolve" }
        guard addresses.allSatisfy(isAllowedPlainHTTPAddress) else {
            return
                "over plain http must resolve only to loopback or 169.254.170.2, 169.254.170.23, fd00:ec2::23 "
                + "(\(bare) resolves to \(addresses.joined(separator: ", "))); use https"
        }
        return nil
    }

    /// Plain HTTP is only trusted towards loopback and the ECS / EKS Pod Identity agents (as the SDKs do).
    static func isAllowedPlainHTTP(_ url: String) -> Bool {
        guard url.lowercased().hasPrefix("http://") else { return false }
        return problem(withFullURI: url, resolve: addresses(of:)) == nil
    }

    /// Whether a numeric address is loopback (127.0.0.0/8, ::1) or a container agent.
    static func isAllowedPlainHTTPAddress(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            let bytes = withUnsafeBytes(of: v4) { Array($0) }
            return bytes[0] == 127 || bytes == [169, 254, 170, 2] || bytes == [169, 254, 170, 23]
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
            let eksAgent: [UInt8] = [0xfd, 0x00, 0x0e, 0xc2] + Array(repeating: 0, count: 11) + [0x23]
            let mapped = Array(repeating: UInt8(0), count: 10) + [0xff, 0xff]
            if Array(bytes[0..<12]) == mapped {
                return isAllowedPlainHTTPAddress(bytes[12...].map { String($0) }.joined(separator: "."))
            }
            return bytes == loopback || bytes == eksAgent
        }
        return false
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// Every address `host` resolves to (getaddrinfo), as numeric strings.
    public static func addresses(of host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var result: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: 1025)  // NI_MAXHOST
            if getnameinfo(
                entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0,
                NI_NUMERICHOST) == 0
            {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !result.contains(text) { result.append(text) }
            }
            cursor = entry.pointee.ai_next
        }
        return result
    }
}
