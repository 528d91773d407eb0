/// Kessai's schema, as numbered migrations. Never edit an applied migration: add the next one.
public enum Schema {
    /// Every migration, in order; each group lives in its own file.
    public static let migrations: [Migration] =
        merchantsAndVault + ledger + payments + pagesAndCash + hardening + console + operations + sentinel + response + ledgerVerifications
}
