//! The console's UI text in Simplified Chinese and English.
//!
//! A typed catalogue: every message is a field of [`Texts`] (shared messages) or of a
//! feature's own `Texts` (`crate::<feature>::i18n`, reached as `t.<feature>.…`), and
//! each language is one constant of each struct, so a message missing in either
//! language is a compile error rather than a blank on screen. The language comes from
//! the `tierdesk_lang` cookie, else from the browser's Accept-Language, and is rendered
//! into `<html lang>` so that hydration picks the same language without another request.

use leptos::prelude::*;

pub const LANG_COOKIE: &str = "tierdesk_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// Accepts "zh", "zh-CN", "en", "en-US", …; anything else is `None`.
    pub fn parse(value: &str) -> Option<Lang> {
        let primary = value.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first supported language of an Accept-Language header, by quality order.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut ranked: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let lang = Lang::parse(parts.next()?)?;
                let quality = parts
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                    .unwrap_or(1.0);
                Some((quality, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, lang)| *lang)
    }

    /// The language for a request: cookie first, then Accept-Language, then Chinese
    /// (the language of the source documents and most users).
    pub fn for_request(cookie_header: Option<&str>, accept_language: Option<&str>) -> Lang {
        let from_cookie = cookie_header.and_then(|cookies| {
            cookies.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == LANG_COOKIE).then(|| Lang::parse(value)).flatten()
            })
        });
        from_cookie
            .or_else(|| accept_language.and_then(Lang::from_accept_language))
            .unwrap_or(Lang::Zh)
    }
}

/// The language of the current render: from the request on the server, from
/// `<html lang>` in the browser.
pub fn detect_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>();
        let header = |name| {
            parts
                .as_ref()
                .and_then(|p| p.headers.get(name))
                .and_then(|v: &http::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let cookie = header(http::header::COOKIE);
        let accept = header(http::header::ACCEPT_LANGUAGE);
        Lang::for_request(cookie.as_deref(), accept.as_deref())
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|html| html.get_attribute("lang"))
            .and_then(|lang| Lang::parse(&lang))
            .unwrap_or(Lang::Zh)
    }
}

/// The texts of the current language (provided by the app root).
pub fn use_texts() -> &'static Texts {
    use_context::<Lang>().unwrap_or(Lang::Zh).texts()
}

/// The catalogue: messages shared by several features here, each feature's own in its
/// folder (`crate::<feature>::i18n`), composed below.
pub struct Texts {
    // Shared by several features
    pub product: &'static str,
    pub email: &'static str,
    pub loading: &'static str,
    pub signed_in_as: &'static str,
    pub created_at: &'static str,
    pub name: &'static str,
    pub create: &'static str,
    pub created: &'static str,
    pub display_name: &'static str,
    pub status: &'static str,
    pub active: &'static str,
    pub disabled: &'static str,
    pub saved: &'static str,
    pub when: &'static str,
    pub older: &'static str,
    pub newest: &'static str,
    pub no_entries: &'static str,
    // Errors
    pub error_unauthenticated: &'static str,
    pub error_invalid_credentials: &'static str,
    pub error_account_disabled: &'static str,
    pub error_too_many_attempts: &'static str,
    pub error_forbidden: &'static str,
    pub error_not_found: &'static str,
    pub error_invalid: &'static str,
    pub problem_required: &'static str,
    pub problem_too_short: &'static str,
    pub problem_too_long: &'static str,
    pub problem_too_large: &'static str,
    pub problem_format: &'static str,
    pub problem_not_public: &'static str,
    pub problem_not_utf8: &'static str,
    pub conflict_tenant_slug_taken: &'static str,
    pub conflict_already_member: &'static str,
    pub conflict_email_taken: &'static str,
    pub conflict_last_tenant_admin: &'static str,
    pub conflict_own_account: &'static str,
    pub error_internal: &'static str,
    pub error_request: &'static str,
    pub error_bad_request: &'static str,
    pub minutes: &'static str,
    pub conflict_external_id_taken: &'static str,
    pub conflict_idempotency_key: &'static str,
    pub conflict_already_reversed: &'static str,
    pub conflict_stale_version: &'static str,
    pub conflict_already_decided: &'static str,
    pub conflict_own_request: &'static str,
    pub conflict_tag_code_taken: &'static str,
    pub conflict_tag_already_held: &'static str,
    pub conflict_tag_inactive: &'static str,
    pub conflict_grant_ended: &'static str,
    pub error_insufficient_available: &'static str,
    pub error_insufficient_requested: &'static str,
    pub tier_duplicate_code: &'static str,
    pub tier_duplicate_order: &'static str,
    pub tier_overlap: &'static str,
    pub tier_gap: &'static str,
    pub tier_not_from_zero: &'static str,
    pub tier_open_not_last: &'static str,
    pub tier_no_open_end: &'static str,
    pub tier_missing: &'static str,
    pub external_id: &'static str,
    pub level: &'static str,
    pub open: &'static str,
    pub member_title: &'static str,
    pub save: &'static str,
    pub points_label: &'static str,
    pub reason: &'static str,
    pub seq: &'static str,
    pub category: &'static str,
    pub operator: &'static str,
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub max_licenses: &'static str,
    pub no_level: &'static str,
    pub done_role_changed: &'static str,
    pub done_access_changed: &'static str,
    pub done_tenant_created: &'static str,
    pub done_invitation_accepted: &'static str,
    pub done_invitation_declined: &'static str,
    pub done_member_created: &'static str,
    pub done_member_saved: &'static str,
    pub done_tiers_saved: &'static str,
    pub done_tag_created: &'static str,
    pub done_tag_saved: &'static str,
    pub done_webhook_saved: &'static str,
    pub colon: &'static str,
    pub period: &'static str,
    pub comma: &'static str,
    pub restricted_for: &'static str,
    pub restricted_platform: &'static str,
    pub your_role_here: &'static str,
    pub restricted_hint: &'static str,
    pub conflict_license_plan_code_taken: &'static str,
    pub conflict_license_plan_inactive: &'static str,
    pub conflict_license_held: &'static str,
    pub conflict_license_quota_reached: &'static str,
    pub conflict_license_unusable: &'static str,
    pub conflict_no_free_license: &'static str,
    pub conflict_license_revoked: &'static str,
    pub conflict_same_holder: &'static str,
    pub conflict_activation_ended: &'static str,
    pub license_code_valid: &'static str,
    pub license_code_not_found: &'static str,
    pub license_code_expired: &'static str,
    pub license_code_suspended: &'static str,
    pub license_code_revoked: &'static str,
    pub license_code_not_assigned: &'static str,
    pub license_code_too_many_activations: &'static str,
    pub license_code_fingerprint_not_activated: &'static str,
    pub held_label: &'static str,
    pub quota_label: &'static str,
    pub license_label: &'static str,
    pub license_plan_label: &'static str,
    pub activation_label: &'static str,
    pub count_label: &'static str,
    pub max_activations_label: &'static str,
    pub validity_days_label: &'static str,
    pub fingerprint_label: &'static str,
    pub device_name_label: &'static str,
    pub license_key_label: &'static str,
    pub conflict_not_over_quota: &'static str,
    pub conflict_migration_run_active: &'static str,
    pub conflict_migration_run_ended: &'static str,
    pub conflict_rollout_active: &'static str,
    pub conflict_rollout_ended: &'static str,
    pub conflict_api_key_ended: &'static str,
    pub conflict_rollout_blocked: &'static str,
    pub blocker_paused: &'static str,
    pub blocker_last_stage: &'static str,
    pub blocker_hold: &'static str,
    pub blocker_run_active: &'static str,
    pub blocker_sample: &'static str,
    pub blocker_score: &'static str,
    pub blocker_approver: &'static str,
    pub decision_permission: &'static str,
    pub decision_quota: &'static str,
    pub decision_summary: &'static str,
    // Each feature's own messages
    pub access: crate::access::i18n::Texts,
    pub members: crate::members::i18n::Texts,
    pub points: crate::points::i18n::Texts,
    pub overview: crate::overview::i18n::Texts,
    pub tags: crate::tags::i18n::Texts,
    pub licenses: crate::licenses::i18n::Texts,
    pub webhooks: crate::webhooks::i18n::Texts,
    pub api_keys: crate::api_keys::i18n::Texts,
    pub shell: crate::shell::i18n::Texts,
}

pub const EN: Texts = Texts {
    product: "Tierdesk",
    email: "Email",
    loading: "Loading…",
    signed_in_as: "Signed in as",
    created_at: "Created",
    name: "Name",
    create: "Create",
    created: "Created.",
    display_name: "Display name",
    status: "Status",
    active: "Active",
    disabled: "Disabled",
    saved: "Saved.",
    when: "When",
    older: "Older →",
    newest: "← Newest",
    no_entries: "No entries.",
    error_unauthenticated: "Please sign in.",
    error_invalid_credentials: "Invalid email or password.",
    error_account_disabled: "This account is disabled. Ask an administrator to enable it.",
    error_too_many_attempts: "Too many failed sign-in attempts. Try again in about",
    error_forbidden: "You do not have permission to do this.",
    error_not_found: "Not found:",
    error_invalid: "Please check the field",
    problem_required: "it is required",
    problem_too_short: "it is too short; minimum",
    problem_too_long: "it is too long; maximum",
    problem_too_large: "the number is too large; at most (either sign)",
    problem_format: "the format is not valid",
    problem_not_utf8: "not UTF-8 text (save the file as UTF-8); first bad line:",
    problem_not_public: "the host must resolve to public internet addresses (it is private, special-purpose, or does not resolve)",
    conflict_tenant_slug_taken: "A tenant with this code already exists.",
    conflict_already_member: "This person is already an admin of this tenant.",
    conflict_email_taken: "An account with this email already exists.",
    conflict_last_tenant_admin: "A tenant must keep at least one active tenant admin.",
    conflict_own_account: "You cannot change your own role or access.",
    error_internal: "Something went wrong on our side. Reference:",
    error_request: "The request could not be completed:",
    error_bad_request: "The request could not be read; check the values entered:",
    minutes: "min",
    conflict_external_id_taken: "A member with this external id already exists.",
    conflict_idempotency_key: "This request key was already used for a different request.",
    conflict_already_reversed: "This entry has already been reversed (or is itself a reversal).",
    conflict_stale_version: "Someone changed this record in the meantime. Reload and try again.",
    conflict_already_decided: "This request has already been decided.",
    conflict_own_request: "A request must be approved by another tenant admin.",
    conflict_tag_code_taken: "Another tag already uses this code.",
    conflict_tag_already_held: "The member already holds this tag. Renew the current grant instead.",
    conflict_tag_inactive: "This tag is deactivated and cannot be granted.",
    conflict_grant_ended: "This grant has already ended (revoked or expired).",
    error_insufficient_available: "Not enough points: available",
    error_insufficient_requested: "requested",
    tier_duplicate_code: "Two tiers have the same code:",
    tier_duplicate_order: "Two tiers have the same order:",
    tier_overlap: "These tiers' point ranges overlap:",
    tier_gap: "Points not covered by any tier after",
    tier_not_from_zero: "The lowest active tier must start at 0:",
    tier_open_not_last: "Only the highest tier may have no maximum:",
    tier_no_open_end: "The highest active tier must have no maximum.",
    tier_missing: "Every existing tier must stay (deactivate it instead):",
    external_id: "External id",
    level: "Level",
    open: "Open",
    member_title: "Member",
    save: "Save",
    points_label: "Points",
    reason: "Reason",
    seq: "#",
    category: "Category",
    operator: "By",
    code: "Code",
    name_zh: "Name (Chinese)",
    name_en: "Name (English)",
    max_licenses: "Max licenses",
    no_level: "(no level)",
    done_role_changed: "Role changed.",
    done_access_changed: "Access changed.",
    done_tenant_created: "Tenant created.",
    done_invitation_accepted: "Invitation accepted.",
    done_invitation_declined: "Invitation declined.",
    done_member_created: "Member created.",
    done_member_saved: "Member saved.",
    done_tiers_saved: "Level tiers saved; members' levels follow in the background.",
    done_tag_created: "Tag created.",
    done_tag_saved: "Tag saved.",
    done_webhook_saved: "Webhook settings saved.",
    colon: ": ",
    period: ".",
    comma: ", ",
    restricted_for: "This page is for",
    restricted_platform: "platform administrators",
    your_role_here: "Your role here",
    restricted_hint: "You can still look at members, levels and tags.",
    conflict_license_plan_code_taken: "A license plan with this code already exists.",
    conflict_license_plan_inactive: "This license plan is deactivated: no seats are issued or assigned from it.",
    conflict_license_held: "This license is held by another member already.",
    conflict_license_quota_reached: "The member holds as many licenses as their quota allows",
    conflict_license_unusable: "This license cannot be used now:",
    conflict_no_free_license: "No free license of this plan is left. Issue more seats first.",
    conflict_license_revoked: "This license was revoked; a revoked license stays revoked.",
    conflict_same_holder: "The member holds this license already.",
    conflict_activation_ended: "This device is no longer active on the license.",
    license_code_valid: "valid",
    license_code_not_found: "no license has this key",
    license_code_expired: "expired",
    license_code_suspended: "suspended",
    license_code_revoked: "revoked",
    license_code_not_assigned: "not assigned to a member",
    license_code_too_many_activations: "more devices are active than the license allows",
    license_code_fingerprint_not_activated: "this device is not activated on the license",
    held_label: "held",
    quota_label: "quota",
    license_label: "license",
    license_plan_label: "License plan",
    activation_label: "device activation",
    count_label: "Number of seats",
    max_activations_label: "Devices per license",
    validity_days_label: "Validity (days)",
    fingerprint_label: "Device fingerprint",
    device_name_label: "Device name",
    license_key_label: "License key",
    conflict_not_over_quota: "The member holds no more seats than their quota allows: nothing to release",
    conflict_migration_run_active: "A migration or rollback run is already going (running or paused): finish or cancel it first",
    conflict_migration_run_ended: "This run has ended: it can no longer be paused, resumed or cancelled",
    conflict_rollout_active: "A rollout is already going (running or paused): finish or abort it first",
    conflict_rollout_ended: "This rollout has ended (completed or aborted)",
    conflict_api_key_ended: "This API key is revoked or past its grace period; create a new key",
    conflict_rollout_blocked: "The next stage cannot be entered yet:",
    blocker_paused: "the rollout is paused",
    blocker_last_stage: "there is no further stage (or not every decision is live)",
    blocker_hold: "the stage is held until",
    blocker_run_active: "the stage's migration run is still going",
    blocker_sample: "compared answers, need",
    blocker_score: "score under the gate of",
    blocker_approver: "only this stage's approver may enter it:",
    decision_permission: "permission check",
    decision_quota: "license quota",
    decision_summary: "level/points summary",
    access: crate::access::i18n::EN,
    members: crate::members::i18n::EN,
    points: crate::points::i18n::EN,
    overview: crate::overview::i18n::EN,
    tags: crate::tags::i18n::EN,
    licenses: crate::licenses::i18n::EN,
    webhooks: crate::webhooks::i18n::EN,
    api_keys: crate::api_keys::i18n::EN,
    shell: crate::shell::i18n::EN,
};

pub const ZH: Texts = Texts {
    product: "Tierdesk",
    email: "邮箱",
    loading: "加载中…",
    signed_in_as: "当前账号",
    created_at: "创建时间",
    name: "名称",
    create: "创建",
    created: "已创建。",
    display_name: "显示名称",
    status: "状态",
    active: "启用",
    disabled: "已停用",
    saved: "已保存。",
    when: "时间",
    older: "更早 →",
    newest: "← 最新",
    no_entries: "暂无记录。",
    error_unauthenticated: "请先登录。",
    error_invalid_credentials: "邮箱或密码错误。",
    error_account_disabled: "该账号已停用，请联系管理员启用。",
    error_too_many_attempts: "登录失败次数过多，请稍后再试，约",
    error_forbidden: "您没有执行此操作的权限。",
    error_not_found: "未找到：",
    error_invalid: "请检查字段",
    problem_required: "此项为必填",
    problem_too_short: "内容过短，至少",
    problem_too_long: "内容过长，至多",
    problem_too_large: "数值过大，绝对值至多",
    problem_format: "格式不正确",
    problem_not_utf8: "不是 UTF-8 文本（请将文件另存为 UTF-8），首个无法读取的行：",
    problem_not_public: "主机必须解析为公网地址（当前为内网或特殊用途地址，或无法解析）",
    conflict_tenant_slug_taken: "该租户代码已存在。",
    conflict_already_member: "此人已是该租户的管理员。",
    conflict_email_taken: "该邮箱已有账号。",
    conflict_last_tenant_admin: "租户至少需要保留一名启用的租户管理员。",
    conflict_own_account: "不能修改自己的角色或访问权限。",
    error_internal: "服务器出现错误。参考编号：",
    error_request: "请求未能完成：",
    error_bad_request: "无法读取请求，请检查填写的值：",
    minutes: "分钟",
    conflict_external_id_taken: "该外部 ID 的会员已存在。",
    conflict_idempotency_key: "该请求键已用于另一请求。",
    conflict_already_reversed: "该记录已被冲正（或本身就是冲正记录）。",
    conflict_stale_version: "该记录已被他人修改，请刷新后重试。",
    conflict_already_decided: "该申请已处理。",
    conflict_own_request: "申请须由另一位租户管理员审批。",
    conflict_tag_code_taken: "该标签代码已被其他标签使用。",
    conflict_tag_already_held: "该会员已持有此标签，请续期现有授予。",
    conflict_tag_inactive: "该标签已停用，不能授予。",
    conflict_grant_ended: "该授予已结束（已撤销或已过期）。",
    error_insufficient_available: "积分不足：可用",
    error_insufficient_requested: "请求",
    tier_duplicate_code: "两个等级使用了相同代码：",
    tier_duplicate_order: "两个等级使用了相同顺序：",
    tier_overlap: "以下等级的积分区间重叠：",
    tier_gap: "以下等级之后存在未覆盖的积分区间",
    tier_not_from_zero: "最低的启用等级必须从 0 开始：",
    tier_open_not_last: "只有最高等级可以不设上限：",
    tier_no_open_end: "最高的启用等级不能设置上限。",
    tier_missing: "现有等级不能删除（请改为停用）：",
    external_id: "外部 ID",
    level: "等级",
    open: "查看",
    member_title: "会员",
    save: "保存",
    points_label: "积分",
    reason: "原因",
    seq: "#",
    category: "类别",
    operator: "操作人",
    code: "代码",
    name_zh: "名称（中文）",
    name_en: "名称（英文）",
    max_licenses: "许可证上限",
    no_level: "（无等级）",
    done_role_changed: "角色已更改。",
    done_access_changed: "访问权限已更改。",
    done_tenant_created: "租户已创建。",
    done_invitation_accepted: "已接受邀请。",
    done_invitation_declined: "已拒绝邀请。",
    done_member_created: "会员已创建。",
    done_member_saved: "会员信息已保存。",
    done_tiers_saved: "等级已保存，会员等级将在后台更新。",
    done_tag_created: "标签已创建。",
    done_tag_saved: "标签已保存。",
    done_webhook_saved: "Webhook 设置已保存。",
    colon: "：",
    period: "。",
    comma: "，",
    restricted_for: "此页面仅供",
    restricted_platform: "平台管理员",
    your_role_here: "你在此租户的角色",
    restricted_hint: "你仍可查看会员、等级和标签。",
    conflict_license_plan_code_taken: "已存在使用此代码的许可证方案。",
    conflict_license_plan_inactive: "此许可证方案已停用：不再从中发放或分配席位。",
    conflict_license_held: "此许可证已被其他会员持有。",
    conflict_license_quota_reached: "该会员持有的许可证已达配额上限",
    conflict_license_unusable: "此许可证当前不可用：",
    conflict_no_free_license: "此方案已无空闲许可证，请先发放更多席位。",
    conflict_license_revoked: "此许可证已被吊销，吊销不可撤回。",
    conflict_same_holder: "该会员已持有此许可证。",
    conflict_activation_ended: "此设备已不在该许可证上激活。",
    license_code_valid: "有效",
    license_code_not_found: "没有此密钥的许可证",
    license_code_expired: "已过期",
    license_code_suspended: "已暂停",
    license_code_revoked: "已吊销",
    license_code_not_assigned: "未分配给会员",
    license_code_too_many_activations: "激活的设备数超过许可证上限",
    license_code_fingerprint_not_activated: "此设备未在该许可证上激活",
    held_label: "已持有",
    quota_label: "配额",
    license_label: "许可证",
    license_plan_label: "许可证方案",
    activation_label: "设备激活",
    count_label: "席位数量",
    max_activations_label: "每个许可证的设备数",
    validity_days_label: "有效期（天）",
    fingerprint_label: "设备指纹",
    device_name_label: "设备名称",
    license_key_label: "许可证密钥",
    conflict_not_over_quota: "该会员持有的席位未超出配额，无需释放",
    conflict_migration_run_active: "已有一个迁移或回滚任务在进行（运行中或已暂停）：请先完成或取消它",
    conflict_migration_run_ended: "该任务已结束，无法再暂停、继续或取消",
    conflict_rollout_active: "已有一个灰度发布在进行（运行中或已暂停）：请先完成或中止它",
    conflict_rollout_ended: "该灰度发布已结束（已完成或已中止）",
    conflict_api_key_ended: "该 API 密钥已吊销或已过宽限期，请创建新密钥",
    conflict_rollout_blocked: "暂时无法进入下一阶段：",
    blocker_paused: "灰度发布已暂停",
    blocker_last_stage: "没有后续阶段（或并非所有决策都已上线）",
    blocker_hold: "本阶段保持至",
    blocker_run_active: "本阶段的迁移任务仍在进行",
    blocker_sample: "条已比对答案，需要",
    blocker_score: "分数低于门槛",
    blocker_approver: "只有本阶段的审批人可以进入：",
    decision_permission: "权限检查",
    decision_quota: "许可证配额",
    decision_summary: "等级/积分摘要",
    access: crate::access::i18n::ZH,
    members: crate::members::i18n::ZH,
    points: crate::points::i18n::ZH,
    overview: crate::overview::i18n::ZH,
    tags: crate::tags::i18n::ZH,
    licenses: crate::licenses::i18n::ZH,
    webhooks: crate::webhooks::i18n::ZH,
    api_keys: crate::api_keys::i18n::ZH,
    shell: crate::shell::i18n::ZH,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_ranking() {
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("fr, zh;q=0.5, en;q=0.4"),
            Some(Lang::Zh)
        );
        assert_eq!(Lang::from_accept_language("fr"), None);
    }

    #[test]
    fn cookie_beats_header() {
        let lang = Lang::for_request(Some("a=b; tierdesk_lang=en"), Some("zh-CN"));
        assert_eq!(lang, Lang::En);
        assert_eq!(Lang::for_request(None, None), Lang::Zh);
    }
}
