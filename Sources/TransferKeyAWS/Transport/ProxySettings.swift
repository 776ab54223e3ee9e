import AsyncHTTPClient
import Foundation

/// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (either case, upper case first), as curl and the AWS SDKs read them.
public struct ProxySettings: Sendable, Equatable {
    /// One HTTP proxy: host, port and optional basic-auth credentials from its URL.
    public struct Proxy: Sendable, Equatable {
        /// The proxy host.
        public var host: String
        /// The proxy port (80 when the URL has none).
        public var port: Int
        var user: String?
        var password: String?

        /// Parses `http://[user:pass@]host[:port]` or `host:port`; other schemes give `nil`.
        init?(_ text: String) {
            let withScheme = text.contains("://") ? text : "http://" + text
            guard let components = URLComponents(string: withScheme), components.scheme?.lowercased() == "http",
                let host = components.host, !host.isEmpty
            else { return nil }
            self.host = host
            port = components.port ?? 80
            user = components.user?.removingPercentEncoding
            password = components.password?.removingPercentEncoding
        }

        var configuration: HTTPClient.Configuration.Proxy {
            let authorization = user.map { HTTPClient.Authorization.basic(username: $0, password: password ?? "") }
            return .server(host: host, port: port, authorization: authorization)
        }
    }

    /// The proxy for https URLs.
    public var https: Proxy?
    /// The proxy for http URLs.
    public var http: Proxy?
    /// `NO_PROXY` entries, lower-cased.
    public var exclusions: [String]

    /// Reads the variables.
    public init(environment: [String: String]) {
        func value(_ name: String) -> String? {
            (environment[name] ?? environment[name.lowercased()]).flatMap { $0.isEmpty ? nil : $0 }
        }
        https = value("HTTPS_PROXY").flatMap(Proxy.init)
        http = value("HTTP_PROXY").flatMap(Proxy.init)
        exclusions = (value("NO_PROXY") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }.filter { !$0.isEmpty }
    }

    /// The proxy a request to `url` goes through, or `nil` for a direct connection.
    public func proxy(for url: String) -> Proxy? {
        guard let components = URLComponents(string: url), let host = components.host?.lowercased() else {
            return nil
        }
        let proxy = components.scheme?.lowercased() == "https" ? https : http
        guard let proxy, !isExcluded(host) else { return nil }
        return proxy
    }

    /// Whether `host` bypasses the proxy: loopback, or a `NO_PROXY` match.
    public func isExcluded(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare.hasPrefix("127.") || bare == "::1" { return true }
        return exclusions.contains { entry in
            if entry == "*" { return true }
            var domain = entry.hasPrefix("*.") ? String(entry.dropFirst()) : entry
            if domain.hasPrefix(".") { domain.removeFirst() }
            if let colon = domain.lastIndex(of: ":"), !domain.contains("]"), domain.filter({ $0 == ":" }).count == 1 {
                domain = String(domain[..<colon])
            }
            return bare == domain || bare.hasSuffix("." + domain)
        }
    }
}
