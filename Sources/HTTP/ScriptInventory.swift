/// Every script Kessai serves to a payment page, with the hash it must have and why it is there
/// (PCI DSS 6.4.3: payment-page scripts authorized, inventoried, integrity assured).
///
/// The inventory is compiled into the binary, so an attacker who can rewrite files under the web
/// root cannot rewrite the inventory with them. Kessai serves only the scripts listed here; it
/// checks what it serves against these hashes at start and on a schedule (``IntegrityService``),
/// and every page it serves pins the listed hash with `integrity`, so a browser refuses a changed
/// copy. Changing a script means changing its hash here in the same commit — the review of that
/// diff is the authorization — and `ScriptInventoryTests` fails until both agree.
/// `bash scripts/inventory.sh` prints the current hashes.
enum ScriptInventory {
    struct Entry: Sendable {
        /// The URL path it is served at.
        let path: String
        /// The file, relative to the web root.
        let file: String
        /// SHA-384 of the file, base64 (the form `integrity="sha384-…"` takes).
        let sha384: String
        /// Why the script exists and where it runs.
        let reason: String

        var integrity: String { "sha384-" + sha384 }
    }

    static let entries: [Entry] = [
        Entry(
            path: "/js/v1/kessai.js", file: "js/v1/kessai.js",
            sha384: "Bmzt3i75UcyF2j+mgpgt369w2qiiGZuoVwOYBv/A7KDweaGXwAK/Z+8yaiZoG9XS",
            reason:
                "kessai.js, loaded by merchants' payment pages: mounts the card iframe, asks it for a token, confirms PaymentIntents and shows the 3-D Secure challenge. Never sees card data."
        ),
        Entry(
            path: "/js/v1/card-field.js", file: "js/v1/card-field.js",
            sha384: "M4oyhKjQpEqnqbjjPgLQA0CIKjPduvoS2ooZUMejifoGF8aC5wOKkWiTLibvl6rW",
            reason:
                "The card fields inside Kessai's iframe (/elements/card): formatting, brand detection, validation messages, and the one request that sends the card to POST /v1/payment_methods."
        ),
    ]

    static func entry(path: String) -> Entry? { entries.first { $0.path == path } }
}
