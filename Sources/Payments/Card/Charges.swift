public import KessaiCore

extension CardPayments {
    /// A page of a merchant's charges, newest first, optionally those of one intent.
    public func listCharges(
        merchant: MerchantID, paymentIntent: PaymentIntentID?, limit: Int, startingAfter: ChargeID?, endingBefore: ChargeID?,
        created: CreatedRange = CreatedRange()
    ) async throws -> ([Charge], hasMore: Bool) {
        try await Self.page(
            table: "charges", object: "charge", merchant: merchant, limit: limit, startingAfter: startingAfter?.rawValue,
            endingBefore: endingBefore?.rawValue, filter: paymentIntent.map { ("payment_intent_id", $0.rawValue) }, created: created,
            database: database, decoding: ChargeRow.self
        ) { try $0.domain() }
    }
}
