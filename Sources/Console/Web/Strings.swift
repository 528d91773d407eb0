/// The console's words in Japanese (the default) and English.
enum Language: String, Sendable {
    case ja, en

    /// From the `kessai_lang` cookie, else the first of `Accept-Language` Kessai speaks.
    static func choose(cookie: String?, acceptLanguage: String?) -> Language {
        if let cookie, let chosen = Language(rawValue: cookie) { return chosen }
        for part in (acceptLanguage ?? "").split(separator: ",").prefix(10) {
            let tag = part.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            if tag.hasPrefix("ja") { return .ja }
            if tag.hasPrefix("en") { return .en }
        }
        return .ja
    }

    func callAsFunction(_ key: String) -> String {
        guard let pair = Self.words[key] else { return key }
        return self == .ja ? pair.0 : pair.1
    }

    static let words: [String: (String, String)] = [
        "console": ("Kessai オペレーター コンソール", "Kessai operator console"),
        "dashboard": ("Kessai 加盟店ダッシュボード", "Kessai merchant dashboard"),
        "sign_in": ("ログイン", "Sign in"),
        "sign_out": ("ログアウト", "Sign out"),
        "email": ("メールアドレス", "E-mail"),
        "password": ("パスワード", "Password"),
        "password_confirm": ("パスワード (確認)", "Password again"),
        "code": ("確認コード (6桁) またはリカバリーコード", "Code (6 digits) or a recovery code"),
        "code_only": ("認証アプリの確認コード (6桁)", "Code from your authenticator app (6 digits)"),
        "code_title": ("2段階認証", "Two-step verification"),
        "invalid_login": ("メールアドレスまたはパスワードが正しくありません。", "Invalid email or password."),
        "invalid_code": ("確認コードが正しくありません。", "That code is not valid."),
        "continue": ("続ける", "Continue"),
        "enroll_title": ("アカウントの登録", "Set up your account"),
        "enroll_rules": (
            "12文字以上で、英字と数字を含み、メールアドレスの名前を含まないパスワードを設定してください。",
            "Choose a password of at least 12 characters with letters and digits, not containing your e-mail name."
        ),
        "totp_title": ("認証アプリの登録", "Add Kessai to your authenticator app"),
        "totp_help": (
            "認証アプリに次の URI (またはキー) を登録し、表示された6桁のコードを入力してください。",
            "Add this URI (or the key) to your authenticator app, then enter the 6-digit code it shows."
        ),
        "totp_uri": ("登録用 URI", "Setup URI"),
        "totp_key": ("キー", "Key"),
        "recovery_title": ("リカバリーコード", "Recovery codes"),
        "recovery_help": (
            "認証アプリを使えないときに一度だけ使えるコードです。安全な場所に保管してください。この画面は一度しか表示されません。",
            "Each code works once, when you cannot use your authenticator. Keep them somewhere safe: they are shown this once."
        ),
        "enrollment_invalid": ("この登録リンクは無効か、期限切れです。", "This enrollment link is invalid or has expired."),
        "csrf": ("フォームの有効期限が切れました。ページを開き直してください。", "This form has expired. Open the page again."),
        "forbidden": ("この操作の権限がありません。", "Your role does not allow this."),
        "not_found": ("見つかりません。", "Not found."),
        "bad_input": ("入力内容を確認してください。", "Check what you entered."),
        "card_number": (
            "カード番号のような数字は入力できません。カード番号はこの画面では扱いません。",
            "A number that looks like a card number cannot be entered here; card numbers are never handled on these pages."
        ),
        "home": ("ホーム", "Home"),
        "merchants": ("加盟店", "Merchants"),
        "payments": ("決済", "Payments"),
        "ledger": ("監査ログ", "Ledger"),
        "operators": ("オペレーター", "Operators"),
        "approvals": ("承認待ち", "Approvals"),
        "keys": ("API キー", "API keys"),
        "webhooks": ("Webhook", "Webhooks"),
        "team": ("チーム", "Team"),
        "health": ("稼働状況", "Health"),
        "ledger_size": ("監査ログの件数", "Ledger entries"),
        "last_checkpoint": ("最新の署名付きチェックポイント", "Latest signed checkpoint"),
        "locked_accounts": ("ロック中のアカウント", "Locked accounts"),
        "pending_approvals": ("承認待ちの操作", "Requests waiting for approval"),
        "open_incidents": ("未対応のインシデント", "Open incidents"),
        "none": ("なし", "none"),
        "name": ("名前", "Name"),
        "id": ("ID", "ID"),
        "code_label": ("コード", "Code"),
        "created": ("作成日時", "Created"),
        "create": ("作成", "Create"),
        "search": ("検索", "Search"),
        "query": ("ID・加盟店・カード下4桁", "Id, merchant or last 4"),
        "status": ("状態", "Status"),
        "amount": ("金額", "Amount"),
        "refunded": ("返金済み", "Refunded"),
        "card": ("カード", "Card"),
        "merchant": ("加盟店", "Merchant"),
        "refund": ("返金", "Refund"),
        "refund_amount": ("返金額 (空欄で全額)", "Amount (blank for all)"),
        "reason": ("理由", "Reason"),
        "refund_done": ("返金しました。", "Refunded."),
        "step_up": ("確認のため、パスワードと新しい確認コードを入力してください。", "To confirm, enter your password and a new code."),
        "step_up_refused": ("パスワードまたは確認コードが正しくありません。", "The password or the code is not right."),
        "timeline": ("経緯", "Timeline"),
        "new_secret": ("新しいシークレットキー (この一度だけ表示されます)", "New secret key (shown this once)"),
        "roll_keys": ("キーを再発行", "Roll keys"),
        "roll_requested": ("キーの再発行を申請しました。別のオペレーターの承認を待っています。", "Key roll requested; waiting for a second operator's approval."),
        "invite": ("招待", "Invite"),
        "role": ("ロール", "Role"),
        "enrollment_url": ("登録用 URL (24時間有効・一度だけ表示)", "Enrollment URL (valid 24 hours, shown once)"),
        "admin_requested": ("管理者の作成を申請しました。別の管理者の承認を待っています。", "Admin creation requested; waiting for another admin's approval."),
        "approve": ("承認", "Approve"),
        "approved": ("承認しました。", "Approved."),
        "own_request": ("自分の申請は承認できません。別のオペレーターが承認します。", "You cannot approve your own request; another operator must."),
        "not_pending": ("この申請はすでに処理されています。", "This request was already decided."),
        "requested_by": ("申請者", "Requested by"),
        "action": ("操作", "Action"),
        "disable": ("無効にする", "Disable"),
        "reset_mfa": ("2段階認証をリセット", "Reset MFA"),
        "reset_requested": ("リセットを申請しました。別の管理者の承認を待っています。", "Reset requested; waiting for another admin's approval."),
        "disabled": ("無効にしました。", "Disabled."),
        "cannot_disable_self": ("自分自身は無効にできません。", "You cannot disable yourself."),
        "email_taken": ("このメールアドレスはすでに使われています。", "That e-mail is already in use."),
        "invalid_email": ("メールアドレスの形式が正しくありません。", "That is not an e-mail address."),
        "invalid_role": ("ロールが正しくありません。", "That role does not exist here."),
        "time": ("日時", "Time"),
        "actor": ("実行者", "Actor"),
        "objects": ("対象", "Objects"),
        "outcome": ("結果", "Outcome"),
        "source": ("接続元", "Source"),
        "url": ("URL", "URL"),
        "enabled_events": ("イベント", "Events"),
        "deliveries": ("配信", "Deliveries"),
        "active_keys": ("有効なキー", "Keys in force"),
        "users": ("ユーザー", "Users"),
        "password_tooShort": ("パスワードは12文字以上にしてください。", "The password must have at least 12 characters."),
        "password_tooLong": ("パスワードが長すぎます (128バイトまで)。", "The password is too long (128 bytes at most)."),
        "password_needsLettersAndDigits": ("パスワードには英字と数字の両方を含めてください。", "The password needs both letters and digits."),
        "password_containsName": ("パスワードにメールアドレスの名前を含めないでください。", "The password may not contain your e-mail name."),
        "password_mismatch": ("2つのパスワードが一致しません。", "The two passwords differ."),
        "password_reused": ("最近使ったパスワードは使えません。", "That password was used recently."),
        "suspend": ("停止する", "Suspend"),
        "resume": ("再開する", "Resume"),
        "suspended": ("停止中", "Suspended"),
        "active": ("有効", "Active"),
        "suspended_done": ("加盟店を停止しました。API キーは拒否されます。", "The merchant is suspended; its API keys are refused."),
        "resumed_done": ("加盟店を再開しました。", "The merchant is active again."),
        "failing_deliveries": ("未配信・失敗した Webhook", "Webhook deliveries not delivered"),
        "recent_deliveries": ("最近の配信", "Recent deliveries"),
        "attempts": ("試行", "Attempts"),
        "event": ("イベント", "Event"),
        "resend": ("再送", "Resend"),
        "resent": ("再送を予約しました。", "Queued to be sent again."),
        "http_status": ("HTTP ステータス", "HTTP status"),
        "error_text": ("エラー", "Error"),
        "duration": ("所要時間 (ms)", "Duration (ms)"),
        "change_role": ("ロールを変更", "Change role"),
        "role_changed": ("ロールを変更しました。", "Role changed."),
        "cannot_change_self": ("自分のロールは変更できません。", "You cannot change your own role."),
        "export": ("エクスポートを申請", "Request an export"),
        "export_days": ("対象期間 (日数, 1〜90)", "Period (days, 1 to 90)"),
        "export_requested": ("エクスポートを申請しました。別のオペレーターが承認すると、承認者がファイルを受け取ります。", "Export requested: the operator who approves it receives the file."),
        "requested_refund_reasons": ("duplicate / fraudulent / requested_by_customer", "duplicate / fraudulent / requested_by_customer"),
    ]
}
