import KessaiCore
import Payments

/// The refund form both applications show on a payment, and what posting it does: step-up,
/// then one card refund through ``CardPayments``.
struct RefundForm {
    static func add(to page: inout Page, action: String, csrf: String, _ t: Language) {
        page.heading(t("refund"))
        page.paragraph(t("step_up"))
        page.form(
            id: "refund-form", action: action, csrf: csrf,
            fields: [
                .init(name: "amount", label: t("refund_amount"), required: false, maxLength: 12),
                .init(name: "reason", label: t("reason"), value: "requested_by_customer", options: Refund.Reason.allCases.map(\.rawValue)),
            ] + ConsoleSite.stepUpFields(t), submit: t("refund"), submitID: "refund")
    }

    /// Step-up, then one refund of the intent; the notice or the error its page shows next.
    /// Both outcomes are ledger entries (`action`).
    static func perform(
        _ form: ConsoleForm, intent: PaymentIntent, visit: ConsoleSite.Visit, site: ConsoleSite, audit action: String
    ) async throws -> (
        notice: String?, error: String?
    ) {
        let t = visit.language
        let new = try parse(form, intent: intent)
        guard try await site.stepUp(visit, form, action: "refund") else { return (nil, t("step_up_refused")) }
        let objects = ["payment_intent": intent.id.rawValue, "merchant": intent.merchant.rawValue]
        do {
            let refund = try await site.services.payments.refund(new, merchant: intent.merchant)
            try await site.audit(visit, action, objects.merging(["refund": refund.id.rawValue, "amount": String(refund.amount)]) { a, _ in a })
            return (t("refund_done"), nil)
        } catch let refusal as PaymentsError {
            try await site.audit(visit, action, objects, outcome: "failure")
            return (nil, refusal.message)
        }
    }

    /// The refund a form asks for.
    /// - Throws: ``PageError/badForm`` for an amount that is not a positive whole number or an
    ///   unknown reason.
    static func parse(_ form: ConsoleForm, intent: PaymentIntent) throws -> CardPayments.NewRefund {
        var refund = CardPayments.NewRefund(paymentIntent: intent.id)
        if let text = form.fields["amount"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard text.count <= 12, let amount = Int64(text), amount >= 1 else { throw PageError.badForm }
            refund.amount = amount
        }
        guard let reason = Refund.Reason(rawValue: form.fields["reason"] ?? "requested_by_customer") else { throw PageError.badForm }
        refund.reason = reason
        return refund
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
