import Foundation
import Testing

@testable import TransferKeyAWS

@Suite("AWS error decoding")
struct AWSErrorDecodingTests {
    func decode(
        status: Int, headers: [(name: String, value: String)] = [], _ body: String, service: String = "kms"
    ) -> AWSError {
        AWSError.decode(
            AWSHTTPResponse(status: status, headers: headers, text: body), service: service, operation: "Op",
            region: "eu-west-1")
    }

    @Test("a KMS JSON error keeps code, message, status and request id")
    func kmsJSON() {
        let error = decode(
            status: 400, headers: [("x-amzn-RequestId", "req-1")],
            #"{"__type":"NotFoundException","message":"Alias arn:aws:kms:eu-west-1:1:alias/x is not found."}"#)
        #expect(error.code == "NotFoundException")
        #expect(error.message.hasPrefix("Alias arn"))
        #expect(error.httpStatus == 400)
        #expect(error.requestID == "req-1")
        #expect(error.category == .notFound)
    }

    @Test("a namespace prefix in __type is stripped")
    func namespacePrefix() {
        let error = decode(
            status: 400, #"{"__type":"com.amazonaws.kms#KMSInvalidStateException","message":"pending"}"#)
        #expect(error.code == "KMSInvalidStateException")
        #expect(error.category == .invalidState)
    }

    @Test("the X-Amzn-ErrorType header wins and loses everything after the colon")
    func errorTypeHeader() {
        let error = decode(
            status: 400, headers: [("X-Amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/")],
            #"{"message":"Rate exceeded"}"#)
        #expect(error.code == "ThrottlingException")
        #expect(error.message == "Rate exceeded")
        #expect(error.category == .throttled)
    }

    @Test("an EC2 Response/Errors/Error body is decoded with its RequestID")
    func ec2XML() {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Response><Errors><Error><Code>InvalidSnapshot.NotFound</Code>\
            <Message>The snapshot 'snap-0123456789abcdef0' does not exist.</Message></Error></Errors>\
            <RequestID>ec2-req</RequestID></Response>
            """
        let error = decode(status: 400, body, service: "ec2")
        #expect(error.code == "InvalidSnapshot.NotFound")
        #expect(error.requestID == "ec2-req")
        #expect(error.category == .notFound)
        #expect(EC2Client.snapshotIDs(in: error.message) == ["snap-0123456789abcdef0"])
    }

    @Test("an STS ErrorResponse body is decoded")
    func stsXML() {
        let body = """
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>\
            <Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message>\
            </Error><RequestId>sts-req</RequestId></ErrorResponse>
            """
        let error = decode(status: 400, body, service: "sts")
        #expect(error.code == "ExpiredToken")
        #expect(error.requestID == "sts-req")
        #expect(error.category == .auth)
        #expect(error.isExpiredCredentials)
    }

    @Test("moto's XML auth error on a JSON service is decoded, its canonical request cut")
    func xmlOnJSONService() {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>SignatureDoesNotMatch</Code>\
            <Message>The request signature we calculated does not match the signature you provided. \
            The Canonical String for this request should have been 'POST / x-amz-security-token:SECRETTOKEN'\
            </Message></Error></ErrorResponse>
            """
        let error = decode(status: 403, headers: [("Content-Type", "text/xml")], body)
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.category == .auth)
        #expect(!error.description.contains("SECRETTOKEN"))
    }

    @Test("a proxy's HTML page becomes HTTP<status> with readable text")
    func htmlFromProxy() {
        let error = decode(status: 502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
        #expect(error.code == "HTTP502")
        #expect(error.message == "502 Bad Gateway")
        #expect(error.category == .transient)
    }

    @Test("an empty 403 body becomes HTTP403, classified as auth")
    func emptyBody() {
        let error = decode(status: 403, "")
        #expect(error.code == "HTTP403")
        #expect(error.category == .auth)
    }

    @Test("the description names where, what and what to do")
    func description() {
        let error = AWSError(
            code: "ThrottlingException", message: "Rate exceeded", httpStatus: 400, requestID: "r-9",
            service: "kms", operation: "ScheduleKeyDeletion", region: "eu-west-1", attempts: 8)
        #expect(
            error.description
                == "KMS ScheduleKeyDeletion in eu-west-1 failed: ThrottlingException (HTTP 400): Rate exceeded "
                + "[request id r-9] after 8 attempts — AWS throttled the call (retried with backoff up to max_attempts); "
                + "lower concurrency or raise the quota.")
    }
}

@Suite("AWS error classification")
struct AWSErrorCategoryTests {
    @Test(
        "every listed code lands in its category",
        arguments: [
            ("ThrottlingException", 400, AWSErrorCategory.throttled), ("Throttling", 400, .throttled),
            ("RequestLimitExceeded", 503, .throttled), ("TooManyRequestsException", 400, .throttled),
            ("SlowDown", 503, .throttled), ("HTTP429", 429, .throttled),
            ("KMSInternalException", 500, .transient), ("DependencyTimeoutException", 503, .transient),
            ("InternalError", 500, .transient), ("ServiceUnavailable", 503, .transient),
            ("HTTP502", 502, .transient), ("HTTP504", 504, .transient),
            ("SignatureDoesNotMatch", 403, .auth), ("InvalidClientTokenId", 403, .auth), ("ExpiredToken", 400, .auth),
            ("ExpiredTokenException", 400, .auth), ("AuthFailure", 401, .auth), ("AccessDenied", 403, .auth),
            ("AccessDeniedException", 400, .auth), ("UnrecognizedClientException", 400, .auth),
            ("IncompleteSignature", 400, .auth),
            ("NotFoundException", 400, .notFound), ("InvalidSnapshot.NotFound", 400, .notFound),
            ("InvalidAlias.NotFound", 400, .notFound),
            ("KMSInvalidStateException", 400, .invalidState),
            ("ValidationException", 400, .permanent), ("AlreadyExistsException", 400, .permanent),
            ("InvalidParameterValue", 400, .permanent), ("HTTP400", 400, .permanent),
        ] as [(String, Int, AWSErrorCategory)])
    func table(code: String, status: Int, expected: AWSErrorCategory) {
        #expect(AWSFailureClass.of(code: code, httpStatus: status).category == expected)
    }

    @Test(
        "transport failures without a response are transient",
        arguments: ["ConnectionRefused", "ConnectionReset", "ConnectionClosed", "ConnectTimeout", "RequestTimeout"])
    func transport(code: String) {
        #expect(AWSFailureClass.of(code: code, httpStatus: nil).category == .transient)
    }

    @Test("only expired-credential codes ask for a refresh")
    func expiredCredentials() {
        #expect(
            AWSError(code: "ExpiredTokenException", message: "", service: "kms", operation: "x").isExpiredCredentials)
        #expect(!AWSError(code: "AccessDenied", message: "", service: "kms", operation: "x").isExpiredCredentials)
    }
}
