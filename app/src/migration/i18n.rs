//! UI text of the migration page, in English and Simplified Chinese: the feature's own
//! catalogue (like batch assignment's), so its messages stay in its WASM chunk instead
//! of the main module's shared `Texts`. One constant per language, so a missing message
//! is a compile error; read through [`use_migration_texts`] in the page's language.
//! Only [`nav_label`] (two literals) is used by the shell.

use leptos::prelude::use_context;
use model::migration::Part;
use model::migration::imports::ImportKind;

use crate::error::AppError;
use crate::i18n::Lang;

/// The navigation entry and the document title (the shell uses only this, so the
/// catalogue below stays out of the main module).
pub fn nav_label(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "迁移",
        Lang::En => "Migration",
    }
}

pub struct Texts {
    pub title: &'static str,
    pub legacy_title: &'static str,
    pub legacy_hint: &'static str,
    pub types_title: &'static str,
    pub type_id: &'static str,
    pub type_name: &'static str,
    pub permissions: &'static str,
    pub quota: &'static str,
    pub members: &'static str,
    pub unknown_type: &'static str,
    pub total_members: &'static str,
    pub last_change: &'static str,
    pub no_legacy_data: &'static str,
    pub import_title: &'static str,
    pub import_hint: &'static str,
    pub types_file: &'static str,
    pub types_columns: &'static str,
    pub members_file: &'static str,
    pub members_columns: &'static str,
    pub import_button: &'static str,
    pub imports_title: &'static str,
    pub no_imports: &'static str,
    pub this_import: &'static str,
    pub file_name: &'static str,
    pub imported_at: &'static str,
    pub imported_by: &'static str,
    pub rows: &'static str,
    pub inserted: &'static str,
    pub updated: &'static str,
    pub unchanged: &'static str,
    pub bad: &'static str,
    pub line: &'static str,
    pub column: &'static str,
    pub problem: &'static str,
    pub whole_line: &'static str,
    pub bad_not_listed: &'static str,
    pub show_all_bad: &'static str,
    pub no_bad_rows: &'static str,
    pub problem_required: &'static str,
    pub problem_format: &'static str,
    pub problem_too_short: &'static str,
    pub problem_too_long: &'static str,
    pub problem_too_large: &'static str,
    pub problem_encoding: &'static str,
    pub problem_unclosed_quote: &'static str,
    pub problem_text_after_quote: &'static str,
    pub problem_columns: &'static str,
    pub problem_duplicate: &'static str,
    pub file_required: &'static str,
    pub file_not_utf8: &'static str,
    pub file_too_large: &'static str,
    pub file_empty: &'static str,
    pub file_header: &'static str,
    pub file_unreadable: &'static str,
    pub header_missing: &'static str,
    pub settings_title: &'static str,
    pub settings_hint: &'static str,
    pub version: &'static str,
    pub version_defaults: &'static str,
    pub saved_by: &'static str,
    pub formula_title: &'static str,
    pub registration_per_day: &'static str,
    pub registration_cap: &'static str,
    pub per_license: &'static str,
    pub recent_days: &'static str,
    pub recent_points: &'static str,
    pub month_days: &'static str,
    pub month_points: &'static str,
    pub older_points: &'static str,
    pub per_currency_unit: &'static str,
    pub mapping_title: &'static str,
    pub user_type: &'static str,
    pub tag: &'static str,
    pub no_tag: &'static str,
    pub not_in_catalogue: &'static str,
    pub no_types: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub read_only: &'static str,
    pub stale: &'static str,
    pub mapping_invalid: &'static str,
    pub sample_title: &'static str,
    pub sample_hint: &'static str,
    pub external_id: &'static str,
    pub preview: &'static str,
    pub part_registration: &'static str,
    pub part_license_activity: &'static str,
    pub part_activity: &'static str,
    pub part_payment: &'static str,
    pub points: &'static str,
    pub total: &'static str,
    pub level: &'static str,
    pub no_level: &'static str,
    pub as_of: &'static str,
    pub member_not_found: &'static str,
    pub import_not_found: &'static str,
    pub colon: &'static str,
    pub period: &'static str,
}

impl Texts {
    pub fn kind(&self, kind: ImportKind) -> &'static str {
        match kind {
            ImportKind::UserTypes => self.types_file,
            ImportKind::Members => self.members_file,
        }
    }

    pub fn part(&self, part: Part) -> &'static str {
        match part {
            Part::Registration => self.part_registration,
            Part::LicenseActivity => self.part_license_activity,
            Part::Activity => self.part_activity,
            Part::Payment => self.part_payment,
        }
    }

    /// A bad row's problem code (`model::migration::legacy::BadRow::problem`) in words.
    pub fn problem(&self, code: &str) -> String {
        match code {
            "required" => self.problem_required,
            "format" => self.problem_format,
            "too_short" => self.problem_too_short,
            "too_long" => self.problem_too_long,
            "too_large" => self.problem_too_large,
            "encoding" => self.problem_encoding,
            "unclosed_quote" => self.problem_unclosed_quote,
            "text_after_quote" => self.problem_text_after_quote,
            "columns" => self.problem_columns,
            "duplicate" => self.problem_duplicate,
            other => return other.to_owned(),
        }
        .to_owned()
    }

    /// A form field or file of this page, by the name errors give it.
    pub fn field(&self, field: &str) -> Option<&'static str> {
        Some(match field {
            "types" => self.types_file,
            "members" => self.members_file,
            "registration_per_day" => self.registration_per_day,
            "registration_cap" => self.registration_cap,
            "per_license" => self.per_license,
            "recent_days" => self.recent_days,
            "recent_points" => self.recent_points,
            "month_days" => self.month_days,
            "month_points" => self.month_points,
            "older_points" => self.older_points,
            "per_currency_unit" => self.per_currency_unit,
            "external_id" => self.external_id,
            "user_type" => self.user_type,
            _ => return None,
        })
    }

    /// An error of this page in words: refused files, the header, the formula's fields,
    /// a stale save, an unknown legacy member; anything else as the console says it.
    pub fn error(&self, error: &AppError, shared: &crate::i18n::Texts) -> String {
        use model::{Conflict, Problem};
        match error {
            AppError::Invalid { field, problem } if field == "file" => match problem {
                Problem::Required => self.file_required.to_owned(),
                _ => error.message(shared),
            },
            AppError::Invalid { field, problem } if field == "types" || field == "members" => {
                let file = self.field(field).unwrap_or_default();
                let kind = if field == "types" {
                    ImportKind::UserTypes
                } else {
                    ImportKind::Members
                };
                let what = match problem {
                    Problem::NotUtf8 { line } => format!("{} {line}", self.file_not_utf8),
                    Problem::TooLarge { .. } => self.file_too_large.to_owned(),
                    Problem::Required => self.file_empty.to_owned(),
                    Problem::Format => {
                        format!("{} {}", self.file_header, kind.columns().join(","))
                    }
                    _ => self.file_unreadable.to_owned(),
                };
                format!("{file}{}{what}{}", self.colon, self.period)
            }
            AppError::Invalid {
                field,
                problem: Problem::Required,
            } if is_column(field) => {
                format!("{} {field}{}", self.header_missing, self.period)
            }
            AppError::Invalid { field, problem } if field == "mapping" || field == "code" => {
                let _ = problem;
                self.mapping_invalid.to_owned()
            }
            AppError::Invalid { field, problem } => match self.field(field) {
                Some(label) => {
                    let problem = match problem {
                        Problem::TooLarge { max } => format!("{} {max}", self.problem_too_large),
                        Problem::Required => self.problem_required.to_owned(),
                        _ => self.problem_format.to_owned(),
                    };
                    format!("{label}{}{problem}{}", self.colon, self.period)
                }
                None => error.message(shared),
            },
            AppError::Conflict(Conflict::StaleVersion) => self.stale.to_owned(),
            AppError::NotFound { entity } if entity == "legacy_member" => {
                self.member_not_found.to_owned()
            }
            AppError::NotFound { entity } if entity == "legacy_import" => {
                self.import_not_found.to_owned()
            }
            other => other.message(shared),
        }
    }
}

/// A column of either legacy file's header (the domain names a missing one).
fn is_column(field: &str) -> bool {
    ImportKind::ALL
        .iter()
        .any(|kind| kind.columns().contains(&field))
}

/// The migration texts in the page's language.
pub fn use_migration_texts() -> &'static Texts {
    texts(use_context::<Lang>().unwrap_or(Lang::Zh))
}

/// The migration texts in `lang` (outside a page: the upload route's refusals).
pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

pub const EN: Texts = Texts {
    title: "Migration",
    legacy_title: "Legacy data",
    legacy_hint: "The legacy system\u{2019}s user types and members, as imported. The migration reads them and never changes them.",
    types_title: "User types",
    type_id: "ID",
    type_name: "Name",
    permissions: "Permissions",
    quota: "License quota",
    members: "Members",
    unknown_type: "not among the user types",
    total_members: "Members in total",
    last_change: "Last change",
    no_legacy_data: "No legacy data imported yet.",
    import_title: "Import",
    import_hint: "CSV files (UTF-8, RFC 4180) with a header row, at most 16 MiB together. Rows are matched by their ID: a new ID is inserted, a changed row updated, an equal one left as it is. Rows that cannot be read are listed with their line; a file that is not UTF-8 or whose header is wrong is refused whole, and nothing is imported.",
    types_file: "User types file",
    types_columns: "Columns: id, name, permissions (separated by |), max_licenses",
    members_file: "Members file",
    members_columns: "Columns: external_id, user_type, registered_at, last_login_at (may be empty), license_count, payment_total (dates RFC 3339 or YYYY-MM-DD; payment a decimal)",
    import_button: "Import",
    imports_title: "Latest imports",
    no_imports: "Nothing imported yet.",
    this_import: "This import",
    file_name: "File",
    imported_at: "Imported",
    imported_by: "By",
    rows: "Rows",
    inserted: "Inserted",
    updated: "Updated",
    unchanged: "Unchanged",
    bad: "Bad rows",
    line: "Line",
    column: "Column",
    problem: "Problem",
    whole_line: "the whole line",
    bad_not_listed: "more bad rows are counted but not listed here",
    show_all_bad: "Show every bad row",
    no_bad_rows: "No bad rows.",
    problem_required: "empty, but required",
    problem_format: "not in the expected format",
    problem_too_short: "too short",
    problem_too_long: "too long",
    problem_too_large: "too large; at most",
    problem_encoding: "not UTF-8 text",
    problem_unclosed_quote: "a quote is not closed",
    problem_text_after_quote: "text after a closing quote",
    problem_columns: "a different number of columns than the header",
    problem_duplicate: "the same ID appears again further down (that later line was imported)",
    file_required: "Choose a user types file, a members file or both.",
    file_not_utf8: "not UTF-8 text (save it as UTF-8 and import again); first at line",
    file_too_large: "larger than 16 MiB",
    file_empty: "empty: not even a header row",
    file_header: "the header must name exactly these columns:",
    file_unreadable: "could not be read",
    header_missing: "The file\u{2019}s header lacks the column",
    settings_title: "Mapping and formula",
    settings_hint: "How a legacy member becomes a member of the new model: historical points from the formula (each part its own ledger entry), the level from those points, and a tag from the user type. Every save is a new version; the migration records the version it used.",
    version: "Version",
    version_defaults: "0 (the defaults, not saved yet)",
    saved_by: "saved by",
    formula_title: "Historical points",
    registration_per_day: "Points per day since registration",
    registration_cap: "Registration points at most",
    per_license: "Points per license assignment",
    recent_days: "Recent login: within days",
    recent_points: "Recent login: points",
    month_days: "Login this month: within days",
    month_points: "Login this month: points",
    older_points: "Older login: points",
    per_currency_unit: "Points per currency unit paid",
    mapping_title: "User type \u{2192} tag",
    user_type: "User type",
    tag: "Tag",
    no_tag: "None",
    not_in_catalogue: "not in the tag catalogue",
    no_types: "No user types yet: import them first.",
    save: "Save as a new version",
    saved: "Saved as version",
    read_only: "Only tenant admins change the mapping and formula; you see them as saved.",
    stale: "Someone saved a newer version while you were editing. Reload the page to see it, then make your changes again.",
    mapping_invalid: "Every mapped tag must be in the tag catalogue, and each user type mapped once.",
    sample_title: "Sample",
    sample_hint: "A legacy member\u{2019}s external ID: what the values above (saved or not) would give them.",
    external_id: "Legacy external ID",
    preview: "Preview",
    part_registration: "Registration",
    part_license_activity: "License assignments",
    part_activity: "Activity",
    part_payment: "Payments",
    points: "Points",
    total: "Total",
    level: "Level",
    no_level: "no level covers this total",
    as_of: "as of",
    member_not_found: "No legacy member has this external ID.",
    import_not_found: "There is no such import in this tenant.",
    colon: ": ",
    period: ".",
};

pub const ZH: Texts = Texts {
    title: "迁移",
    legacy_title: "旧系统数据",
    legacy_hint: "导入的旧系统用户类型和会员。迁移只读取它们，从不修改。",
    types_title: "用户类型",
    type_id: "ID",
    type_name: "名称",
    permissions: "权限",
    quota: "许可证配额",
    members: "会员数",
    unknown_type: "不在用户类型中",
    total_members: "会员总数",
    last_change: "最近变更",
    no_legacy_data: "尚未导入旧系统数据。",
    import_title: "导入",
    import_hint: "带表头行的 CSV 文件（UTF-8，RFC 4180），合计最大 16 MiB。按 ID 匹配：新 ID 插入，有变化的行更新，相同的行保持不变。无法读取的行会连同行号列出；不是 UTF-8 或表头不对的文件会被整体拒绝，不导入任何内容。",
    types_file: "用户类型文件",
    types_columns: "列：id、name、permissions（以 | 分隔）、max_licenses",
    members_file: "会员文件",
    members_columns: "列：external_id、user_type、registered_at、last_login_at（可为空）、license_count、payment_total（日期为 RFC 3339 或 YYYY-MM-DD；金额为小数）",
    import_button: "导入",
    imports_title: "最近的导入",
    no_imports: "尚无导入记录。",
    this_import: "本次导入",
    file_name: "文件",
    imported_at: "导入时间",
    imported_by: "导入者",
    rows: "行数",
    inserted: "新增",
    updated: "更新",
    unchanged: "未变",
    bad: "错误行",
    line: "行号",
    column: "列",
    problem: "问题",
    whole_line: "整行",
    bad_not_listed: "条错误行已计数，但未在此列出",
    show_all_bad: "显示全部错误行",
    no_bad_rows: "没有错误行。",
    problem_required: "必填但为空",
    problem_format: "格式不正确",
    problem_too_short: "过短",
    problem_too_long: "过长",
    problem_too_large: "数值过大；最大",
    problem_encoding: "不是 UTF-8 文本",
    problem_unclosed_quote: "引号未闭合",
    problem_text_after_quote: "闭合引号后还有文字",
    problem_columns: "列数与表头不同",
    problem_duplicate: "同一 ID 在文件后面再次出现（已导入后面那一行）",
    file_required: "请选择用户类型文件、会员文件或两者。",
    file_not_utf8: "不是 UTF-8 文本（请另存为 UTF-8 后重新导入）；首个问题所在行：",
    file_too_large: "超过 16 MiB",
    file_empty: "为空：连表头行也没有",
    file_header: "表头必须恰好包含这些列：",
    file_unreadable: "无法读取",
    header_missing: "文件表头缺少列",
    settings_title: "映射与公式",
    settings_hint: "旧系统会员如何成为新模型的会员：按公式计算历史积分（每一部分各记一条账目），由积分得出等级，由用户类型得出标签。每次保存都是一个新版本；迁移会记录所用的版本。",
    version: "版本",
    version_defaults: "0（默认值，尚未保存）",
    saved_by: "保存者",
    formula_title: "历史积分",
    registration_per_day: "注册后每天积分",
    registration_cap: "注册积分上限",
    per_license: "每次许可证分配积分",
    recent_days: "近期登录：天数以内",
    recent_points: "近期登录：积分",
    month_days: "本月登录：天数以内",
    month_points: "本月登录：积分",
    older_points: "更早登录：积分",
    per_currency_unit: "每支付一个货币单位的积分",
    mapping_title: "用户类型 \u{2192} 标签",
    user_type: "用户类型",
    tag: "标签",
    no_tag: "无",
    not_in_catalogue: "不在标签目录中",
    no_types: "还没有用户类型：请先导入。",
    save: "保存为新版本",
    saved: "已保存为版本",
    read_only: "只有租户管理员可以修改映射与公式；这里显示已保存的内容。",
    stale: "在你编辑期间，有人保存了更新的版本。请重新加载页面查看，然后重新修改。",
    mapping_invalid: "映射的每个标签都必须在标签目录中，且每个用户类型只能映射一次。",
    sample_title: "示例",
    sample_hint: "输入旧系统会员的外部 ID：显示上面的数值（无论是否已保存）会给该会员带来什么。",
    external_id: "旧系统外部 ID",
    preview: "预览",
    part_registration: "注册时长",
    part_license_activity: "许可证分配",
    part_activity: "活跃度",
    part_payment: "付费",
    points: "积分",
    total: "合计",
    level: "等级",
    no_level: "没有等级覆盖此合计",
    as_of: "截至",
    member_not_found: "没有此外部 ID 的旧系统会员。",
    import_not_found: "此租户中没有这次导入。",
    colon: "：",
    period: "。",
};

#[cfg(test)]
mod tests {
    use super::*;
    use model::Problem;

    #[test]
    fn refusals_name_the_file_the_line_and_the_column() {
        let not_utf8 = AppError::Invalid {
            field: "members".into(),
            problem: Problem::NotUtf8 { line: 7 },
        };
        assert_eq!(
            EN.error(&not_utf8, Lang::En.texts()),
            "Members file: not UTF-8 text (save it as UTF-8 and import again); first at line 7."
        );
        assert!(
            ZH.error(&not_utf8, Lang::Zh.texts())
                .starts_with("会员文件：")
        );
        let missing = AppError::Invalid {
            field: "permissions".into(),
            problem: Problem::Required,
        };
        assert_eq!(
            EN.error(&missing, Lang::En.texts()),
            "The file\u{2019}s header lacks the column permissions."
        );
        let header = AppError::Invalid {
            field: "types".into(),
            problem: Problem::Format,
        };
        assert!(
            EN.error(&header, Lang::En.texts())
                .ends_with("id,name,permissions,max_licenses.")
        );
        let coefficient = AppError::Invalid {
            field: "per_license".into(),
            problem: Problem::TooLarge { max: 1_000_000 },
        };
        assert_eq!(
            EN.error(&coefficient, Lang::En.texts()),
            "Points per license assignment: too large; at most 1000000."
        );
    }
}
