import TransferKeyAWS

/// Runs `body` with a real HTTP transport and always shuts the transport down afterwards.
func withHTTPTransport<T>(_ body: (HTTPClientTransport) async throws -> T) async throws -> T {
    let transport = HTTPClientTransport(connectTimeout: .seconds(2))
    do {
        let result = try await body(transport)
        try await transport.shutdown()
        return result
    } catch {
        try? await transport.shutdown()
        throw error
    }
}

/// Runs `body` with `client` and always shuts the client down afterwards.
func using<T>(_ client: AWSClient, _ body: (AWSClient) async throws -> T) async throws -> T {
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}
