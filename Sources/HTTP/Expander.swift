import KessaiCore
import Payments

/// `expand[]` for what merchants expand most: a PaymentIntent's `latest_charge` and
/// `payment_method` (on lists `data.latest_charge`, `data.payment_method`). The ids in the
/// object are replaced by the objects, read for the same merchant. Anything else asked to expand
/// is refused where the parameters are read (`Parameters.allowOnly(_:expandable:)`).
struct Expander: Sendable {
    let payments: CardPayments
    let paymentMethods: PaymentMethodStore

    static let intent: Set<String> = ["latest_charge", "payment_method"]
    static let intentList: Set<String> = ["data.latest_charge", "data.payment_method"]

    /// Expands `paths` in an object or in each object of a list's `data`.
    func apply(_ paths: Set<String>, merchant: MerchantID, to json: JSONValue) async throws -> JSONValue {
        guard !paths.isEmpty else { return json }
        let fields = Set(paths.filter { !$0.hasPrefix("data.") })
        let listFields = Set(paths.filter { $0.hasPrefix("data.") }.map { String($0.dropFirst(5)) })
        var result = try await expand(fields, in: json, merchant: merchant)
        if !listFields.isEmpty, case .object(var members) = result, let index = members.firstIndex(where: { $0.0 == "data" }),
            case .array(let items) = members[index].1
        {
            var expanded: [JSONValue] = []
            for item in items { expanded.append(try await expand(listFields, in: item, merchant: merchant)) }
            members[index].1 = .array(expanded)
            result = .object(members)
        }
        return result
    }

    private func expand(_ fields: Set<String>, in json: JSONValue, merchant: MerchantID) async throws -> JSONValue {
        guard !fields.isEmpty, case .object(var members) = json else { return json }
        for index in members.indices where fields.contains(members[index].0) {
            guard case .string(let id) = members[index].1 else { continue }
            switch members[index].0 {
            case "latest_charge":
                if let charge = try await ChargeID(parsing: id).asyncMap({ try await payments.charge($0, merchant: merchant) }) ?? nil {
                    members[index].1 = ChargeDTO(charge: charge).json
                }
            case "payment_method":
                if let method = try await PaymentMethodID(parsing: id).asyncMap({ try await paymentMethods.retrieve($0, merchant: merchant) }) ?? nil {
                    members[index].1 = PaymentMethodDTO(method).json
                }
            default: break
            }
        }
        return .object(members)
    }
}

extension Optional {
    /// `map` with an async transform.
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
