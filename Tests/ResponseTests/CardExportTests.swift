import Crypto
import Foundation
import HTTP
import KessaiCore
import KessaiTestSupport
import Testing
import Vault

@testable import Ledger
@testable import Response

@Suite("The card brands' file: sealed with HPKE to the recipient, opened only by its key, every export in the ledger")
struct CardExportTests {
    @Test("round trip; a wrong key is refused; the file holds no number in clear; each read and the export are ledger entries", arguments: [TestBackend.sqlite])
    func roundTrip(backend: TestBackend) async throws {
        try await TestGateway.with(backend) { test in
            let gateway = test.gateway
            let shop = try await test.merchant()
            let token = PaymentMethodID.random()
            let pan = try PAN(TestCards.visa.number)
            _ = try await gateway.database.withConnection { db in
                try await gateway.vault.store(pan, token: token, merchant: shop.id, context: AccessContext(actor: .system("test")), on: db)
            }
            var scope = ExposureScope.MerchantScope(merchant: shop.id.rawValue)
            scope.readInClear[token.rawValue] = [
                ExposureScope.Read(
                    seq: 3, time: 1_800_000_000_000, purpose: "authorization", paymentIntent: "pi_1", actor: "merchant_key:key_1", instance: "web-1",
                    source: nil)
            ]
            let result = ExposureScope.Result(
                query: ExposureScope.Query(from: 0, to: 1), verification: LedgerReport(size: 0, root: Data(), checkpointsChecked: 0, findings: []),
                checkpoint: nil,
                merchants: [scope])
            let recipient = Curve25519.KeyAgreement.PrivateKey()
            let (file, count) = try await CardExport.make(
                scope: result, recipient: try CardExport.recipient(recipient.publicKey.rawRepresentation.base64EncodedString()), approval: "apr_test",
                vault: gateway.vault, database: gateway.database, ledger: gateway.ledger, actor: LedgerActor(.operator, "usr_b"), source: "10.1.1.1")
            #expect(count == 1)
            #expect(!String(decoding: file, as: UTF8.self).contains(TestCards.visa.number))
            let csv = try CardExport.open(file, privateKey: recipient)
            #expect(csv.contains("\(shop.id.rawValue),\(token.rawValue),\(TestCards.visa.number),1,"))
            #expect(throws: CardExport.Failure.wrongKey) { try CardExport.open(file, privateKey: Curve25519.KeyAgreement.PrivateKey()) }
            #expect(throws: CardExport.Failure.badRecipientKey) { try CardExport.recipient("not a key") }
            let entries = try await gateway.ledger.query(LedgerQuery(from: 0, to: .max)).map(\.entry)
            #expect(entries.contains { $0.action == "vault.decrypt" && $0.purpose == "investigation" && $0.requestID == "apr_test" })
            #expect(entries.contains { $0.action == "cards.exported" && $0.objects["approval"] == "apr_test" && $0.objects["cards"] == "1" })
        }
    }
}
