import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The production ``AWSTransport``: one shared async-http-client `HTTPClient` with connection pooling,
/// a connect timeout, a whole-request deadline, and TLS 1.2 or newer with the system trust roots.
///
/// `HTTPS_PROXY` / `HTTP_PROXY` (or lower case) send https / http requests through that HTTP proxy (CONNECT for
/// https), except to hosts matched by `NO_PROXY` (`*`, a host, or a domain suffix such as `.internal`) and to
/// loopback. Create one per process and call ``shutdown()`` before exit.
public final class HTTPClientTransport: AWSTransport {
    private let client: HTTPClient
    private let httpsProxyClient: HTTPClient?
    private let httpProxyClient: HTTPClient?
    /// The proxy settings read from the environment.
    public let proxies: ProxySettings

    /// Creates the pool. `connectTimeout` bounds connection setup; `idleTimeout` closes unused pooled
    /// connections; `maximumConnectionsPerHost` caps concurrency towards one endpoint; `environment` gives the
    /// proxy variables.
    public init(
        connectTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(55),
        maximumConnectionsPerHost: Int = 32, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        proxies = ProxySettings(environment: environment)
        func make(proxy: HTTPClient.Configuration.Proxy?) -> HTTPClient {
            var configuration = HTTPClient.Configuration(
                tlsConfiguration: Self.tlsConfiguration(),
                timeout: .init(connect: Self.timeAmount(connectTimeout)),
                connectionPool: .init(
                    idleTimeout: Self.timeAmount(idleTimeout),
                    concurrentHTTP1ConnectionsPerHostSoftLimit: maximumConnectionsPerHost),
                proxy: proxy,
                decompression: .disabled)
            configuration.redirectConfiguration = .disallow
            configuration.httpVersion = .http1Only
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }
        client = make(proxy: nil)
        httpsProxyClient = proxies.https.map { make(proxy: $0.configuration) }
        httpProxyClient = proxies.http.map { make(proxy: $0.configuration) }
    }

    /// The system trust roots, TLS 1.2 at least (NIOSSL's default minimum is 1.0).
    static func tlsConfiguration() -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        return tls
    }

    /// The minimum TLS version, by name (for tests).
    static var minimumTLSVersionName: String { "\(tlsConfiguration().minimumTLSVersion)" }

    /// The client a request to `url` goes through (direct, or one of the proxies).
    private func client(for url: String) -> HTTPClient {
        // No proxy in the environment (the usual case): every request goes direct, with no URL to parse.
        guard httpsProxyClient != nil || httpProxyClient != nil else { return client }
        switch proxies.proxy(for: url) {
        case .some(let proxy) where proxy == proxies.https: return httpsProxyClient ?? client
        case .some: return httpProxyClient ?? client
        case nil: return client
        }
    }

    /// Sends `request`, failing with ``AWSTransportError`` when no complete response arrives within `timeout`.
    ///
    /// Through async-http-client's future-based API with its `ResponseAccumulator`: the whole exchange (send to the
    /// last byte of the body) happens on the connection's event loop, and its deadline holds until the body is
    /// complete, so a server that sends the headers and then stalls cannot hold the call (and its lane) for ever. The
    /// async API's deadline ends at the response head and streams the body through task hops of its own; racing it
    /// against a sleeping task cost a task group, a timer and a cancellation on every request (`make bench`, CPU per
    /// cleaned key). Cancelling the calling task cancels the request.
    public func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        let client = client(for: request.url)
        let task: HTTPClient.Task<HTTPClient.Response>
        do {
            var outgoing = try HTTPClient.Request(url: request.url, method: HTTPMethod(rawValue: request.method))
            for (name, value) in request.headers {
                outgoing.headers.add(name: name, value: value)
            }
            if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
                outgoing.body = .bytes(request.body)
            }
            task = client.execute(
                request: outgoing, delegate: ResponseAccumulator(request: outgoing, maxBodySize: Self.maxBodySize),
                deadline: .now() + Self.timeAmount(timeout))
        } catch {
            throw Self.transportError(error)
        }
        do {
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            var body = response.body ?? ByteBuffer()
            return AWSHTTPResponse(
                status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                body: body.readBytes(length: body.readableBytes) ?? [])
        } catch {
            throw Self.transportError(error)
        }
    }

    /// The largest answer accepted (AWS's JSON answers are kilobytes; a list page is well under a megabyte).
    static let maxBodySize = 16 * 1024 * 1024

    /// Closes every pooled connection.
    public func shutdown() async throws {
        try await httpsProxyClient?.shutdown()
        try await httpProxyClient?.shutdown()
        try await client.shutdown()
    }

    /// Maps async-http-client and NIO errors onto stable codes the classifier knows.
    static func transportError(_ error: any Error) -> AWSTransportError {
        if error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
            return AWSTransportError(code: "TLSFailure", message: "TLS failed (certificate or protocol): \(error)")
        }
        if let error = error as? NIOConnectionError, error.connectionErrors.isEmpty,
            error.dnsAError != nil || error.dnsAAAAError != nil
        {
            return AWSTransportError(code: "NameResolutionFailure", message: "cannot resolve \(error.host)")
        }
        if error is SocketAddressError {
            return AWSTransportError(code: "NameResolutionFailure", message: "cannot resolve the host: \(error)")
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .getConnectionFromPoolTimeout:
                return AWSTransportError(code: "ConnectTimeout", message: "connecting timed out")
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return AWSTransportError(code: "RequestTimeout", message: "no complete response before the deadline")
            case .remoteConnectionClosed:
                return AWSTransportError(code: "ConnectionClosed", message: "the server closed the connection")
            case .alreadyShutdown:
                return AWSTransportError(code: "Shutdown", message: "the HTTP client was shut down")
            case .cancelled:
                return AWSTransportError(code: "Cancelled", message: "the request was cancelled")
            case .tlsHandshakeTimeout:
                return AWSTransportError(code: "ConnectTimeout", message: "the TLS handshake timed out")
            default:
                return AWSTransportError(code: "NetworkError", message: "\(error)")
            }
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return AWSTransportError(code: "ConnectionRefused", message: "connection refused")
            case ECONNRESET, EPIPE: return AWSTransportError(code: "ConnectionReset", message: "connection reset")
            case ETIMEDOUT: return AWSTransportError(code: "ConnectTimeout", message: "connection timed out")
            default: return AWSTransportError(code: "NetworkError", message: "\(error)")
            }
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return AWSTransportError(code: "ConnectTimeout", message: "connecting timed out")
        }
        let text = "\(error)"
        if text.contains("refused") {
            return AWSTransportError(code: "ConnectionRefused", message: "connection refused")
        }
        if text.contains("reset") {
            return AWSTransportError(code: "ConnectionReset", message: "connection reset")
        }
        if error is NIOConnectionError {
            return AWSTransportError(code: "ConnectionRefused", message: "could not connect: \(text)")
        }
        return AWSTransportError(code: "NetworkError", message: text)
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
