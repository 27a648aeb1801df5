//! The console's UI text in Simplified Chinese and English.
//!
//! A typed catalogue: every message is a field of [`Texts`], and each language is one
//! constant of that struct, so a message missing in either language is a compile error
//! rather than a blank on screen. The language comes from the `tierdesk_lang` cookie,
//! else from the browser's Accept-Language, and is rendered into `<html lang>` so that
//! hydration picks the same language without another request.

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

pub struct Texts {
    pub product: &'static str,
    pub tagline: &'static str,
    pub switch_language: &'static str,
    // Sign-in
    pub sign_in_title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub signing_in: &'static str,
    // Navigation
    pub nav_overview: &'static str,
    pub nav_tenants: &'static str,
    pub nav_admins: &'static str,
    pub nav_audit: &'static str,
    pub tenant: &'static str,
    pub switch: &'static str,
    pub loading: &'static str,
    pub not_found: &'static str,
    pub back_home: &'static str,
    // Overview
    pub overview_title: &'static str,
    pub signed_in_as: &'static str,
    pub your_role: &'static str,
    pub platform_admin: &'static str,
    pub tenant_slug: &'static str,
    pub created_at: &'static str,
    pub overview_hint: &'static str,
    // Roles
    pub role: &'static str,
    pub role_tenant_admin: &'static str,
    pub role_support: &'static str,
    pub role_viewer: &'static str,
    // Tenants
    pub tenants_title: &'static str,
    pub create_tenant: &'static str,
    pub slug: &'static str,
    pub name: &'static str,
    pub create: &'static str,
    pub created: &'static str,
    // Admins
    pub admins_title: &'static str,
    pub add_admin: &'static str,
    pub display_name: &'static str,
    pub initial_password: &'static str,
    pub initial_password_hint: &'static str,
    pub add: &'static str,
    pub status: &'static str,
    pub active: &'static str,
    pub disabled: &'static str,
    pub change_role: &'static str,
    pub disable: &'static str,
    pub enable: &'static str,
    pub saved: &'static str,
    // Audit
    pub audit_title: &'static str,
    pub when: &'static str,
    pub who: &'static str,
    pub action: &'static str,
    pub target: &'static str,
    pub before: &'static str,
    pub after: &'static str,
    pub request_id: &'static str,
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
    pub problem_format: &'static str,
    pub conflict_tenant_slug_taken: &'static str,
    pub conflict_already_member: &'static str,
    pub conflict_email_taken: &'static str,
    pub conflict_last_tenant_admin: &'static str,
    pub conflict_own_account: &'static str,
    pub error_internal: &'static str,
    pub error_request: &'static str,
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
    pub nav_members: &'static str,
    pub nav_levels: &'static str,
    pub nav_approvals: &'static str,
    pub members_title: &'static str,
    pub search: &'static str,
    pub search_hint: &'static str,
    pub all_levels: &'static str,
    pub external_id: &'static str,
    pub level: &'static str,
    pub total_points: &'static str,
    pub available_points: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub new_member: &'static str,
    pub open: &'static str,
    pub no_members: &'static str,
    pub registered_at: &'static str,
    pub last_login_at: &'static str,
    pub member_title: &'static str,
    pub edit_member: &'static str,
    pub save: &'static str,
    pub adjust_points: &'static str,
    pub points: &'static str,
    pub points_hint: &'static str,
    pub reason: &'static str,
    pub adjust: &'static str,
    pub adjusted: &'static str,
    pub pending_approval: &'static str,
    pub ledger: &'static str,
    pub seq: &'static str,
    pub kind: &'static str,
    pub category: &'static str,
    pub balance: &'static str,
    pub operator: &'static str,
    pub reverse: &'static str,
    pub reversed: &'static str,
    pub reverse_reason: &'static str,
    pub level_history: &'static str,
    pub cause: &'static str,
    pub no_history: &'static str,
    pub levels_title: &'static str,
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub order: &'static str,
    pub min_points: &'static str,
    pub max_points: &'static str,
    pub max_points_hint: &'static str,
    pub permissions: &'static str,
    pub max_licenses: &'static str,
    pub add_tier: &'static str,
    pub preview: &'static str,
    pub apply: &'static str,
    pub preview_title: &'static str,
    pub moved_up: &'static str,
    pub moved_down: &'static str,
    pub unchanged: &'static str,
    pub members_now: &'static str,
    pub members_after: &'static str,
    pub applied: &'static str,
    pub no_level: &'static str,
    pub approvals_title: &'static str,
    pub threshold: &'static str,
    pub threshold_hint: &'static str,
    pub requested_by: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    pub no_pending: &'static str,
}

pub const EN: Texts = Texts {
    product: "Tierdesk",
    tagline: "Points, levels, tags and licenses",
    switch_language: "中文",
    sign_in_title: "Sign in to Tierdesk",
    email: "Email",
    password: "Password",
    sign_in: "Sign in",
    sign_out: "Sign out",
    signing_in: "Signing in…",
    nav_overview: "Overview",
    nav_tenants: "Tenants",
    nav_admins: "Admins",
    nav_audit: "Audit log",
    tenant: "Tenant",
    switch: "Switch",
    loading: "Loading…",
    not_found: "Page not found",
    back_home: "Back to the console",
    overview_title: "Overview",
    signed_in_as: "Signed in as",
    your_role: "Your role here",
    platform_admin: "Platform administrator",
    tenant_slug: "Tenant code",
    created_at: "Created",
    overview_hint: "Members, points, levels and tags arrive here next; this console already runs on the tenant-scoped foundation they build on.",
    role: "Role",
    role_tenant_admin: "Tenant admin",
    role_support: "Support",
    role_viewer: "Viewer",
    tenants_title: "Tenants",
    create_tenant: "Create a tenant",
    slug: "Code (slug)",
    name: "Name",
    create: "Create",
    created: "Created.",
    admins_title: "Admins",
    add_admin: "Add an admin",
    display_name: "Display name",
    initial_password: "Initial password",
    initial_password_hint: "Only for a new account (at least 10 characters). An existing account keeps its password.",
    add: "Add",
    status: "Status",
    active: "Active",
    disabled: "Disabled",
    change_role: "Change role",
    disable: "Disable",
    enable: "Enable",
    saved: "Saved.",
    audit_title: "Audit log",
    when: "When",
    who: "Who",
    action: "Action",
    target: "Target",
    before: "Before",
    after: "After",
    request_id: "Request",
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
    problem_format: "the format is not valid",
    conflict_tenant_slug_taken: "A tenant with this code already exists.",
    conflict_already_member: "This person is already an admin of this tenant.",
    conflict_email_taken: "An account with this email already exists.",
    conflict_last_tenant_admin: "A tenant must keep at least one active tenant admin.",
    conflict_own_account: "You cannot change your own role or access.",
    error_internal: "Something went wrong on our side. Reference:",
    error_request: "The request could not be completed:",
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
    nav_members: "Members",
    nav_levels: "Levels",
    nav_approvals: "Approvals",
    members_title: "Members",
    search: "Search",
    search_hint: "External id, name or email (prefix)",
    all_levels: "All levels",
    external_id: "External id",
    level: "Level",
    total_points: "Lifetime points",
    available_points: "Available points",
    next_page: "Next →",
    first_page: "← First",
    new_member: "New member",
    open: "Open",
    no_members: "No members found.",
    registered_at: "Registered",
    last_login_at: "Last login",
    member_title: "Member",
    edit_member: "Edit member",
    save: "Save",
    adjust_points: "Adjust points",
    points: "Points",
    points_hint: "Positive to add, negative to deduct",
    reason: "Reason",
    adjust: "Adjust",
    adjusted: "Points adjusted.",
    pending_approval: "Above the approval threshold: sent to another tenant admin for approval.",
    ledger: "Points ledger",
    seq: "#",
    kind: "Kind",
    category: "Category",
    balance: "Available after",
    operator: "By",
    reverse: "Reverse",
    reversed: "Entry reversed.",
    reverse_reason: "Reason for the reversal",
    level_history: "Level history",
    cause: "Cause",
    no_history: "No level changes yet.",
    levels_title: "Level tiers",
    code: "Code",
    name_zh: "Name (Chinese)",
    name_en: "Name (English)",
    order: "Order",
    min_points: "Min points",
    max_points: "Max points",
    max_points_hint: "empty = no maximum",
    permissions: "Permissions",
    max_licenses: "Max licenses",
    add_tier: "Add a tier",
    preview: "Preview",
    apply: "Apply",
    preview_title: "What this change does",
    moved_up: "move up",
    moved_down: "move down",
    unchanged: "stay",
    members_now: "members now",
    members_after: "after",
    applied: "Tiers saved; members re-levelled.",
    no_level: "(no level)",
    approvals_title: "Adjustment approvals",
    threshold: "Approval threshold (points)",
    threshold_hint: "Manual adjustments above this need a second tenant admin. Empty = off.",
    requested_by: "Requested by",
    approve: "Approve",
    reject: "Reject",
    no_pending: "No pending requests.",
};

pub const ZH: Texts = Texts {
    product: "Tierdesk",
    tagline: "积分 · 等级 · 标签 · 许可证",
    switch_language: "English",
    sign_in_title: "登录 Tierdesk",
    email: "邮箱",
    password: "密码",
    sign_in: "登录",
    sign_out: "退出登录",
    signing_in: "正在登录…",
    nav_overview: "概览",
    nav_tenants: "租户",
    nav_admins: "管理员",
    nav_audit: "审计日志",
    tenant: "租户",
    switch: "切换",
    loading: "加载中…",
    not_found: "页面不存在",
    back_home: "返回控制台",
    overview_title: "概览",
    signed_in_as: "当前账号",
    your_role: "您在此租户的角色",
    platform_admin: "平台管理员",
    tenant_slug: "租户代码",
    created_at: "创建时间",
    overview_hint: "会员、积分、等级与标签功能即将上线；本控制台已运行在它们所依赖的租户隔离基础之上。",
    role: "角色",
    role_tenant_admin: "租户管理员",
    role_support: "客服",
    role_viewer: "只读查看",
    tenants_title: "租户",
    create_tenant: "创建租户",
    slug: "代码（slug）",
    name: "名称",
    create: "创建",
    created: "已创建。",
    admins_title: "管理员",
    add_admin: "添加管理员",
    display_name: "显示名称",
    initial_password: "初始密码",
    initial_password_hint: "仅用于新账号（至少 10 个字符）。已有账号保留原密码。",
    add: "添加",
    status: "状态",
    active: "启用",
    disabled: "已停用",
    change_role: "修改角色",
    disable: "停用",
    enable: "启用",
    saved: "已保存。",
    audit_title: "审计日志",
    when: "时间",
    who: "操作人",
    action: "操作",
    target: "对象",
    before: "变更前",
    after: "变更后",
    request_id: "请求",
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
    problem_format: "格式不正确",
    conflict_tenant_slug_taken: "该租户代码已存在。",
    conflict_already_member: "此人已是该租户的管理员。",
    conflict_email_taken: "该邮箱已有账号。",
    conflict_last_tenant_admin: "租户至少需要保留一名启用的租户管理员。",
    conflict_own_account: "不能修改自己的角色或访问权限。",
    error_internal: "服务器出现错误。参考编号：",
    error_request: "请求未能完成：",
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
    nav_members: "会员",
    nav_levels: "等级",
    nav_approvals: "审批",
    members_title: "会员",
    search: "搜索",
    search_hint: "外部 ID、姓名或邮箱（前缀）",
    all_levels: "全部等级",
    external_id: "外部 ID",
    level: "等级",
    total_points: "累计积分",
    available_points: "可用积分",
    next_page: "下一页 →",
    first_page: "← 首页",
    new_member: "新建会员",
    open: "查看",
    no_members: "未找到会员。",
    registered_at: "注册时间",
    last_login_at: "最近登录",
    member_title: "会员",
    edit_member: "编辑会员",
    save: "保存",
    adjust_points: "调整积分",
    points: "积分",
    points_hint: "正数增加，负数扣减",
    reason: "原因",
    adjust: "调整",
    adjusted: "积分已调整。",
    pending_approval: "超过审批阈值：已提交其他租户管理员审批。",
    ledger: "积分流水",
    seq: "#",
    kind: "类型",
    category: "类别",
    balance: "变动后可用",
    operator: "操作人",
    reverse: "冲正",
    reversed: "已冲正。",
    reverse_reason: "冲正原因",
    level_history: "等级变化",
    cause: "原因",
    no_history: "暂无等级变化。",
    levels_title: "等级设置",
    code: "代码",
    name_zh: "名称（中文）",
    name_en: "名称（英文）",
    order: "顺序",
    min_points: "最低积分",
    max_points: "最高积分",
    max_points_hint: "留空表示无上限",
    permissions: "权限",
    max_licenses: "许可证上限",
    add_tier: "添加等级",
    preview: "预览",
    apply: "应用",
    preview_title: "变更影响",
    moved_up: "升级",
    moved_down: "降级",
    unchanged: "不变",
    members_now: "当前人数",
    members_after: "变更后",
    applied: "等级已保存，会员等级已重新计算。",
    no_level: "（无等级）",
    approvals_title: "积分调整审批",
    threshold: "审批阈值（积分）",
    threshold_hint: "超过此值的手工调整需另一位租户管理员审批。留空表示关闭。",
    requested_by: "申请人",
    approve: "批准",
    reject: "拒绝",
    no_pending: "暂无待审批申请。",
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
