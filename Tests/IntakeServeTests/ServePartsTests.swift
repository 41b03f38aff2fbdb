@testable import IntakeServe
import Testing

/// The HTTP side's small parsers on their own: multipart bodies cut at every byte, file names
/// from `Content-Disposition`, tokens from `Authorization`, cursors.
@Suite struct ServePartsTests {
    static let body = Array("preamble\r\n--b0undary\r\nContent-Disposition: form-data; name=\"check\"\r\n\r\ntrue\r\n--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n--b0und,x\r\n\r\n--b0undary--\r\nepilogue".utf8)

    func read(_ chunks: [[UInt8]]) throws -> (name: String?, fields: [String: String], file: [UInt8], ended: Bool) {
        var reader = try #require(MultipartFileReader(contentType: "multipart/form-data; boundary=\"b0undary\""))
        var name: String?, fields: [String: String] = [:], file: [UInt8] = [], ended = false
        for chunk in chunks {
            try reader.consume(chunk) { event in
                switch event {
                case .fileStarted(let n, let f): (name, fields) = (n, f)
                case .fileBytes(let bytes): file += bytes
                case .fileEnded: ended = true
                }
            }
        }
        try reader.finish()
        return (name, fields, file, ended)
    }

    @Test func aMultipartFileIsTheSameHoweverTheBodyIsCut() throws {
        let whole = try read([Self.body])
        #expect(whole.name == "list.csv" && whole.fields == ["check": "true"] && whole.ended)
        #expect(String(decoding: whole.file, as: UTF8.self) == "a,b\r\n--b0und,x\r\n")
        for cut in 1..<Self.body.count {
            let split = try read([Array(Self.body[..<cut]), Array(Self.body[cut...])])
            #expect(split.file == whole.file && split.name == whole.name && split.fields == whole.fields, "cut at \(cut)")
        }
        let bytewise = try read(Self.body.map { [$0] })
        #expect(bytewise.file == whole.file)
    }

    /// Only the fields something reads are kept: ten thousand other fields, each with its own
    /// name, and a second file leave nothing behind.
    @Test func aFormKeepsOnlyTheFieldsItReads() throws {
        var text = "--b0undary\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntoken\r\n"
        for n in 0..<10_000 { text += "--b0undary\r\nContent-Disposition: form-data; name=\"field\(n)\"\r\n\r\nvalue \(n)\r\n" }
        text += "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\n\r\na,b\r\n"
        text += "--b0undary\r\nContent-Disposition: form-data; name=\"other\"; filename=\"second.csv\"\r\n\r\nc,d\r\n"
        text += "--b0undary\r\nContent-Disposition: form-data; name=\"check\"\r\n\r\ntrue\r\n--b0undary--\r\n"
        var reader = try #require(MultipartFileReader(contentType: "multipart/form-data; boundary=b0undary"))
        var started: (name: String, fields: [String: String])?
        var file: [UInt8] = []
        try reader.consume(Array(text.utf8)) { event in
            switch event {
            case .fileStarted(let name, let fields): started = (name, fields)
            case .fileBytes(let bytes): file += bytes
            case .fileEnded: break
            }
        }
        try reader.finish()
        #expect(started?.name == "list.csv" && started?.fields == ["csrf": "token"])
        #expect(String(decoding: file, as: UTF8.self) == "a,b")
        #expect(reader.fields == ["csrf": "token", "check": "true"])
    }

    @Test func aMultipartBodyCutInsideTheFileIsRefused() throws {
        let cut = Array(Self.body[..<(Self.body.count - 30)])
        #expect(throws: MultipartFileReader.Failure.self) { _ = try read([cut]) }
        #expect(throws: MultipartFileReader.Failure.self) { _ = try read([Array("--b0undary--\r\n".utf8)]) }
        #expect(MultipartFileReader(contentType: "multipart/form-data") == nil)
    }

    @Test func fileNamesTokensAndCursors() throws {
        #expect(ContentDisposition.filename(#"attachment; filename="a; b.csv""#) == "a; b.csv")
        #expect(ContentDisposition.filename("attachment; filename=plain.csv; filename*=UTF-8''%D0%BA%D0%BB%D0%B8%D0%B5%D0%BD%D1%82%D1%8B.csv") == "клиенты.csv")
        #expect(ContentDisposition.filename("attachment") == nil)
        #expect(try ImportRoutes.checkedName("C:\\Users\\ann\\list.csv") == "list.csv")
        #expect(throws: APIError.self) { try ImportRoutes.checkedName("list.csv.part") }
        #expect(throws: APIError.self) { try ImportRoutes.checkedName("../") }

        #expect(APIToken.fromAuthorization(#"Token token="abc""#) == "abc")
        #expect(APIToken.fromAuthorization("token token=abc, realm=x") == "abc")
        #expect(APIToken.fromAuthorization("Bearer  abc ") == "abc")
        #expect(APIToken.fromAuthorization("Basic abc") == nil)
        #expect(APIToken.fromAuthorization("Bearer ") == nil)
        let token = APIToken.generate()
        #expect(token.hasPrefix("itk_") && token.count == 47 && APIToken.generate() != token)
        #expect(APIToken.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(APIToken.constantTimeEqual("ab", "ab") && !APIToken.constantTimeEqual("ab", "ac") && !APIToken.constantTimeEqual("ab", "abc"))

        for text in ["", "a", "ab", "abc", "Ω external/id ?&=", String(repeating: "z", count: 255)] {
            #expect(APIToken.fromBase64URL(APIToken.base64URL(Array(text.utf8))) == Array(text.utf8))
        }
        #expect(APIToken.fromBase64URL("a") == nil && APIToken.fromBase64URL("a+b") == nil)
        #expect(Query.parse("page%5Bsize%5D=10&page[after]=a%2Bb&x") == ["page[size]": "10", "page[after]": "a+b", "x": ""])
        #expect(Query.parse("bad=%E0") == nil)
        #expect(Query.encode("a b/ü") == "a%20b%2F%C3%BC")
    }
}
