//! Times as people read them: in their own time zone, to the minute, with the zone
//! shown.
//!
//! The zone is the browser's (`Intl.DateTimeFormat().resolvedOptions().timeZone`),
//! remembered in the [`TZ_COOKIE`] cookie so that the server renders pages in it too.
//! Until the browser has told it (a first visit, or no JavaScript) pages show UTC and
//! say so. The server converts with the time-zone database; the browser with its own
//! clock rules (`Date.getTimezoneOffset`), so both render the same text for the same
//! instant, which hydration needs.

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;

/// The cookie that carries the reader's IANA time-zone name (e.g. `Asia/Shanghai`).
pub const TZ_COOKIE: &str = "tierdesk_tz";
/// Longer values are not zone names (the longest in the database is 32 characters).
const ZONE_NAME_MAX: usize = 64;

/// The zone of the current render, provided by the app root: a zone name, or `None`
/// for UTC.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Zone(Option<String>);

impl Zone {
    /// The zone named in a `Cookie` header, if it names one this build knows.
    pub fn from_cookie_header(header: Option<&str>) -> Zone {
        Zone(cookie_value(header).filter(|name| known_zone(name)))
    }

    /// Minutes east of UTC at `at` in this zone.
    pub fn offset_minutes(&self, at: &DateTime<Utc>) -> i32 {
        match &self.0 {
            None => 0,
            Some(name) => zone_offset_minutes(name, at),
        }
    }
}

/// The raw value of [`TZ_COOKIE`] in a `Cookie` header.
fn cookie_value(header: Option<&str>) -> Option<String> {
    header?.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == TZ_COOKIE).then(|| value.to_owned())
    })
}

/// Accepts a name as a zone: on the server, one the time-zone database has.
fn known_zone(name: &str) -> bool {
    if name.is_empty() || name.len() > ZONE_NAME_MAX || name == "UTC" {
        return false;
    }
    #[cfg(feature = "ssr")]
    {
        name.parse::<chrono_tz::Tz>().is_ok()
    }
    #[cfg(not(feature = "ssr"))]
    {
        name.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
    }
}

#[cfg(feature = "ssr")]
fn zone_offset_minutes(name: &str, at: &DateTime<Utc>) -> i32 {
    use chrono::{Offset, TimeZone};
    name.parse::<chrono_tz::Tz>().map_or(0, |zone| {
        zone.offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc()
            / 60
    })
}

/// The browser renders in its own zone, which the cookie names (the app root refreshes
/// the cookie from the browser on every load).
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn zone_offset_minutes(_name: &str, at: &DateTime<Utc>) -> i32 {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        at.timestamp_millis() as f64
    ));
    -(date.get_timezone_offset() as i32)
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn zone_offset_minutes(_name: &str, _at: &DateTime<Utc>) -> i32 {
    0
}

/// The zone of the current render: from the request's cookie on the server, from
/// `document.cookie` in the browser (as it was when the page was rendered).
pub fn detect_zone() -> Zone {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>();
        let cookie = parts
            .as_ref()
            .and_then(|p| p.headers.get(http::header::COOKIE))
            .and_then(|v| v.to_str().ok());
        Zone::from_cookie_header(cookie)
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        Zone::from_cookie_header(browser::cookies().as_deref())
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Zone::default()
    }
}

/// In the browser: remembers the browser's zone in the cookie when it differs, so the
/// next page the server renders uses it. Call once from the app root.
pub fn remember_browser_zone() {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    Effect::new(|_| browser::remember_zone());
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
mod browser {
    use super::{TZ_COOKIE, cookie_value, known_zone};
    use wasm_bindgen::JsValue;

    pub fn cookies() -> Option<String> {
        let document: JsValue = leptos::prelude::document().into();
        js_sys::Reflect::get(&document, &"cookie".into())
            .ok()?
            .as_string()
    }

    fn browser_zone() -> Option<String> {
        let format =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into())
            .ok()?
            .as_string()
    }

    pub fn remember_zone() {
        let Some(zone) = browser_zone() else { return };
        let wanted = if known_zone(&zone) {
            zone
        } else {
            "UTC".to_owned()
        };
        if cookie_value(cookies().as_deref()).as_deref() == Some(wanted.as_str()) {
            return;
        }
        let value = format!("{TZ_COOKIE}={wanted}; Path=/; Max-Age=31536000; SameSite=Lax");
        let document: JsValue = leptos::prelude::document().into();
        let _ = js_sys::Reflect::set(&document, &"cookie".into(), &value.into());
    }
}

/// "UTC", "UTC+8", "UTC+5:30", "UTC-3".
pub fn offset_label(minutes: i32) -> String {
    if minutes == 0 {
        return "UTC".to_owned();
    }
    let sign = if minutes < 0 { '-' } else { '+' };
    let (hours, rest) = (minutes.abs() / 60, minutes.abs() % 60);
    if rest == 0 {
        format!("UTC{sign}{hours}")
    } else {
        format!("UTC{sign}{hours}:{rest:02}")
    }
}

/// A timestamp in the reader's zone, to the minute, with the zone: `2026-12-02 10:30
/// UTC+8`. The same text on the server and in the browser.
pub fn format_time(at: &DateTime<Utc>) -> String {
    let zone = use_context::<Zone>().unwrap_or_default();
    format_in(&zone, at)
}

/// [`format_time`] in a given zone.
pub fn format_in(zone: &Zone, at: &DateTime<Utc>) -> String {
    let offset = zone.offset_minutes(at);
    let local = *at + Duration::minutes(i64::from(offset));
    format!(
        "{} {}",
        local.format("%Y-%m-%d %H:%M"),
        offset_label(offset)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_offset() {
        assert_eq!(offset_label(0), "UTC");
        assert_eq!(offset_label(480), "UTC+8");
        assert_eq!(offset_label(330), "UTC+5:30");
        assert_eq!(offset_label(-180), "UTC-3");
    }

    #[test]
    fn the_cookie_names_the_zone_or_it_is_utc() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T02:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_in(&Zone::default(), &at), "2026-12-02 02:30 UTC");
        let zone = Zone::from_cookie_header(Some("a=b; tierdesk_tz=UTC"));
        assert_eq!(zone, Zone::default());
        let zone = Zone::from_cookie_header(Some("tierdesk_tz=<script>"));
        assert_eq!(zone, Zone::default(), "not a zone name");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_server_converts_with_daylight_saving() {
        let zone = Zone::from_cookie_header(Some("tierdesk_tz=Asia/Shanghai"));
        let at = DateTime::parse_from_rfc3339("2026-12-02T02:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_in(&zone, &at), "2026-12-02 10:30 UTC+8");
        let berlin = Zone::from_cookie_header(Some("tierdesk_tz=Europe/Berlin"));
        let summer = DateTime::parse_from_rfc3339("2026-07-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_in(&berlin, &summer), "2026-07-01 14:00 UTC+2");
        assert_eq!(format_in(&berlin, &at), "2026-12-02 03:30 UTC+1");
        let unknown = Zone::from_cookie_header(Some("tierdesk_tz=Mars/Olympus"));
        assert_eq!(unknown, Zone::default());
    }
}
