// Full Foundation: JSONSerialization reads the stored billing details.
public import Foundation
public import KessaiCore
import SQLKit
public import Storage

/// What people are told, drafted from the scope: each merchant's affected payments (CSV and
/// JSON) and a letter to its customers (Japanese and English), and the report to the Personal
/// Information Protection Commission (個人情報保護委員会, 漏えい等報告) as 速報 and 確報 with
/// their due dates. Drafts: a person reviews and completes them. No card number appears: cards
/// are named by brand and last 4.
public enum Notices {
    /// One affected payment as a merchant's list shows it.
    public struct Payment: Sendable, Equatable {
        public let id: String
        public let created: Int64
        public let amount: Int64
        public let currency: String
        public let brand: String?
        public let last4: String?
        public let name: String?
        public let email: String?
    }

    /// The payments the cards read in clear served, per merchant, from the payment records.
    public static func payments(_ scope: ExposureScope.Result, database: KessaiDatabase) async throws -> [String: [Payment]] {
        var out: [String: [Payment]] = [:]
        for merchant in scope.merchants {
            var ids = Set(merchant.readInClear.values.flatMap { $0.compactMap(\.paymentIntent) })
            // A card seen only at tokenization (confirmed through another process): its payments.
            let tokenizedOnly = merchant.readInClear.filter { $0.value.allSatisfy { $0.paymentIntent == nil } }.keys.sorted()
            for start in stride(from: 0, to: tokenizedOnly.count, by: 500) {
                let chunk = Array(tokenizedOnly[start..<min(start + 500, tokenizedOnly.count)])
                let found = try await database.withConnection { db in
                    try await db.select().column("id").from("payment_intents").where("merchant_id", .equal, merchant.merchant)
                        .where("payment_method", .in, chunk).all().map { try $0.decode(column: "id", as: String.self) }
                }
                ids.formUnion(found)
            }
            guard !ids.isEmpty else { continue }
            let wanted = Array(ids)
            let rows = try await database.withConnection { db in
                try await db.select().column(SQLColumn("id", table: "p")).column(SQLColumn("created_at", table: "p")).column(SQLColumn("amount", table: "p"))
                    .column(SQLColumn("currency", table: "p")).column(SQLColumn("brand", table: "m")).column(SQLColumn("last4", table: "m"))
                    .column(SQLColumn("billing_details", table: "m")).column(SQLColumn("receipt_email", table: "p"))
                    .from(SQLAlias(SQLIdentifier("payment_intents"), as: SQLIdentifier("p")))
                    .join(
                        SQLAlias(SQLIdentifier("payment_methods"), as: SQLIdentifier("m")), method: SQLJoinMethod.left,
                        on: SQLColumn("payment_method", table: "p"), .equal, SQLColumn("id", table: "m")
                    )
                    .where(SQLColumn("id", table: "p"), .in, SQLBind.group(wanted)).all()
            }
            out[merchant.merchant] = try rows.map { row in
                let billing = (try row.decode(column: "billing_details", as: String?.self)).flatMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                let receipt = try row.decode(column: "receipt_email", as: String?.self)
                return Payment(
                    id: try row.decode(column: "id", as: String.self), created: try row.decode(column: "created_at", as: Int64.self),
                    amount: try row.decode(column: "amount", as: Int64.self), currency: try row.decode(column: "currency", as: String.self),
                    brand: try row.decode(column: "brand", as: String?.self), last4: try row.decode(column: "last4", as: String?.self),
                    name: billing?["name"] as? String, email: (billing?["email"] as? String) ?? receipt)
            }.sorted { $0.created < $1.created }
        }
        return out
    }

    public static func csv(_ payments: [Payment]) -> String {
        func cell(_ text: String?) -> String {
            guard let text else { return "" }
            return text.contains(",") || text.contains("\"") || text.contains("\n") ? "\"\(text.replacingOccurrences(of: "\"", with: "\"\""))\"" : text
        }
        return
            (["payment_intent,date,amount,currency,brand,last4,name,email"]
            + payments.map {
                [$0.id, day($0.created), String($0.amount), $0.currency, $0.brand, $0.last4, $0.name, $0.email].map(cell).joined(separator: ",")
            }).joined(separator: "\n") + "\n"
    }

    public static func json(_ payments: [Payment]) -> JSONValue {
        .array(
            payments.map {
                .object([
                    ("payment_intent", .string($0.id)), ("date", .string(day($0.created))), ("amount", .int($0.amount)), ("currency", .string($0.currency)),
                    ("brand", .optional($0.brand)), ("last4", .optional($0.last4)), ("name", .optional($0.name)), ("email", .optional($0.email)),
                ])
            })
    }

    /// The letter a merchant sends its customers, in Japanese or English.
    public static func letter(merchant: String, from: Int64, to: Int64, cards: Int, codes: Bool, contact: String, japanese: Bool) -> String {
        let period = "\(day(from / 1000)) – \(day(to / 1000))"
        if japanese {
            return """
                # 弊社サイトでのクレジットカード情報の流出の可能性に関するお詫びとお知らせ

                \(merchant) をご利用いただいているお客様へ

                弊社が決済を委託している決済代行事業者のシステムにおいて、第三者による不正アクセスが確認され、\(period) の期間に弊社サイトでクレジットカード決済をご利用になったお客様のうち \(cards) 件のカード情報が読み出された可能性があることが判明いたしました。ご心配とご迷惑をおかけしますことを深くお詫び申し上げます。

                ## 対象となる情報
                - クレジットカード番号、有効期限\(codes ? "、セキュリティコード" : "")
                - 対象のお客様には、ご利用日・金額・カードの下4桁を個別にお知らせします。

                ## お客様へのお願い
                - お手元のカードのご利用明細に、身に覚えのない請求がないかご確認ください。
                - 身に覚えのない請求がある場合は、カード裏面に記載のカード会社へお問い合わせください。
                - カードの再発行をご希望の場合、再発行の手数料はかかりません (カード会社に対象である旨をお伝えください)。

                ## お問い合わせ窓口
                \(contact)

                弊社および決済代行事業者は、原因の調査と再発防止に取り組んでまいります。

                """
        }
        return """
            # Notice and apology: your card details may have been exposed

            To the customers of \(merchant),

            The payment service provider that processes card payments for us has found unauthorized access to its systems. The card details of \(cards) payment(s) made on our site between \(period) may have been read. We are deeply sorry for the worry and inconvenience this causes.

            ## What may have been exposed
            - Card number and expiry date\(codes ? ", and the security code" : "")
            - Each affected customer is told the date, amount and last 4 digits of their payment.

            ## What we ask you to do
            - Check your card statements for charges you do not recognise.
            - If you find one, call the card issuer on the number on the back of your card.
            - If you want a new card, your issuer will reissue it free of charge (tell them you were affected).

            ## Contact
            \(contact)

            We and our payment service provider are investigating the cause and taking measures so that this does not happen again.

            """
    }

    /// The report draft for the Personal Information Protection Commission, as 速報 or 確報,
    /// with the items the enforcement rules require (施行規則 第7条・第8条) and the due date.
    public static func commissionReport(
        final: Bool, detectedAt: Int64, unauthorizedAccess: Bool, scope: ExposureScope.Result, merchants: Int, people: Int, codes: Int, personalData: Int
    ) -> String {
        let due = final ? detectedAt + Int64(unauthorizedAccess ? 60 : 30) * 86_400 : detectedAt + 3 * 86_400
        let dueText = final ? "確報: 知った日から\(unauthorizedAccess ? 60 : 30)日以内" : "速報: 知った日から速やかに (概ね3〜5日以内)"
        let items = ["クレジットカード番号", "有効期限"] + (codes > 0 ? ["セキュリティコード"] : []) + (personalData > 0 ? ["氏名", "メールアドレス", "電話番号"] : [])
        return """
            # 個人データの漏えい等の報告 (\(final ? "確報" : "速報")) — 下書き

            - 報告期限: \(day(due)) (\(dueText)。事態を知った日: \(day(detectedAt)))
            - 根拠: 個人情報の保護に関する法律 第26条、同法施行規則 第7条 (報告対象となる事態: \(unauthorizedAccess ? "不正の目的をもって行われたおそれがある行為による漏えい等" : "財産的被害が生じるおそれがある個人データ (クレジットカード番号) の漏えい等")) 及び第8条
            - 台帳の検証: \(scope.exact ? "署名付きチェックポイント (\(scope.checkpoint.map { "サイズ \($0.size)" } ?? "-")) まで検証済み" : "検証に失敗 — 件数は確定値ではない")

            ## (1) 概要
            \(day(scope.query.from / 1000)) から \(day(scope.query.to / 1000)) までの期間、当社決済システムにおいて\(scope.query.instance.map { "処理系 \($0) による" } ?? "")カード情報の読み出しが行われたおそれがある。\(merchants) 加盟店の決済が対象。[発覚の経緯・時系列を記入]

            ## (2) 漏えい等が発生し、又は発生したおそれがある個人データの項目
            \(items.joined(separator: "、"))

            ## (3) 漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数
            \(people) 件 (カード単位。平文で読み出されたカード\(codes > 0 ? "、うちセキュリティコードを含むもの \(codes) 件" : ""))\(personalData > 0 ? "。個人情報を含む決済記録 \(personalData) 件" : "")

            ## (4) 原因
            [調査結果を記入]

            ## (5) 二次被害又はそのおそれの有無及びその内容
            カードの不正利用のおそれあり。[カード会社からの不正利用の報告状況を記入]

            ## (6) 本人への対応の実施状況
            各加盟店から対象のお客様へ個別に通知 (通知文案を添付)。カード会社へ対象カード番号を暗号化ファイルにて提供し、モニタリング及び再発行を依頼。

            ## (7) 公表の実施状況
            [公表日・方法を記入]

            ## (8) 再発防止のための措置
            [措置を記入]

            ## (9) その他参考となる事項
            カード番号の一覧は本書に含めない (カード会社向け暗号化ファイルのみ)。

            """
    }

    static func day(_ unix: Int64) -> String {
        let (y, m, d) = Calendar.civil(unix + 9 * 3600)
        return "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
    }

    enum Calendar {
        /// The civil date of a Unix time already moved to JST.
        static func civil(_ seconds: Int64) -> (Int64, Int64, Int64) {
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let text = date.ISO8601Format(.iso8601.year().month().day())
            let parts = text.split(separator: "-").compactMap { Int64($0) }
            return parts.count == 3 ? (parts[0], parts[1], parts[2]) : (1970, 1, 1)
        }
    }
}
