//! Endpoints as path templates, and which page of a listing a request asked for.
//!
//! A scrape of `/api/customers/1`, `/api/customers/2`, … is one endpoint,
//! `/api/customers/{id}`, and 50,000 distinct pages of one record each; a scrape of
//! `/api/customers?page=1…500&per_page=100` is one endpoint, `/api/customers`, and 500 distinct
//! pages of 100. Segments that are numbers, UUIDs, long hexadecimal or mixed tokens, or hold an
//! `@`, become `{id}`; the query string is never reported (it may carry personal values), only
//! its paging parameters are read.

/// Longest path looked at (bytes); the rest is ignored.
const MAX_PATH: usize = 512;

/// Query parameters that say which page (or offset) of a listing was asked for.
const PAGE_PARAMS: &[&str] = &["page", "p", "offset", "start", "skip", "cursor", "after", "from", "since_id", "page[number]", "pageno", "pagenumber"];

/// Query parameters that say how many records a page holds.
const SIZE_PARAMS: &[&str] = &["limit", "per_page", "perpage", "page_size", "pagesize", "size", "count", "take", "first", "max", "rows", "page[size]"];

/// True for a path segment that identifies a record rather than naming a resource.
fn is_id(segment: &str) -> bool {
    let s = segment;
    if s.is_empty() {
        return false;
    }
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let hex = s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    digits == s.len()
        || s.contains('@')
        || s.to_ascii_lowercase().contains("%40")
        || (hex && s.len() >= 8 && digits > 0)
        || (s.len() >= 6 && digits >= 3 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// The path of a request target, without its query string or fragment.
pub fn path_of(target: &str) -> &str {
    let end = target.find(['?', '#']).unwrap_or(target.len());
    let mut end = end.min(MAX_PATH);
    while !target.is_char_boundary(end) {
        end -= 1;
    }
    &target[..end]
}

/// The query string of a request target (empty when none).
pub fn query_of(target: &str) -> &str {
    match target.split_once('?') {
        Some((_, q)) => q.split('#').next().unwrap_or(""),
        None => "",
    }
}

/// The path template of a request target: ids replaced by `{id}`, no query string.
pub fn template(target: &str) -> String {
    let path = path_of(target);
    path.split('/').map(|s| if is_id(s) { "{id}" } else { s }).collect::<Vec<_>>().join("/")
}

/// True when the template names one record (its last segment is an id).
pub fn is_item(template: &str) -> bool {
    template.ends_with("/{id}")
}

fn params(query: &str) -> impl Iterator<Item = (String, &str)> {
    query.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_ascii_lowercase().replace("%5b", "[").replace("%5d", "]"), v))
}

/// Which page of the endpoint a request target asked for: its paging parameter's value, else
/// the ids in its path (each record is a page of one); `None` for an unpaged request.
pub fn page_of(target: &str) -> Option<String> {
    let query = query_of(target);
    let mut page: Vec<String> = params(query).filter(|(k, _)| PAGE_PARAMS.contains(&k.as_str())).map(|(k, v)| format!("{k}={v}")).collect();
    if !page.is_empty() {
        page.sort();
        return Some(page.join("&"));
    }
    let ids: Vec<&str> = path_of(target).split('/').filter(|s| is_id(s)).collect();
    (!ids.is_empty()).then(|| ids.join("/"))
}

/// The page size a request target asked for (`limit=100`, `per_page=50` …).
pub fn per_page(target: &str) -> Option<u64> {
    params(query_of(target)).filter(|(k, _)| SIZE_PARAMS.contains(&k.as_str())).find_map(|(_, v)| v.parse::<u64>().ok()).filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_placeholders_and_names_stay() {
        assert_eq!(template("/api/customers/18342"), "/api/customers/{id}");
        assert_eq!(template("/api/customers/18342/orders?page=2"), "/api/customers/{id}/orders");
        assert_eq!(template("/api/v2/customers"), "/api/v2/customers");
        assert_eq!(template("/users/ann@example.fr/export"), "/users/{id}/export");
        assert_eq!(template("/users/ann%40example.fr"), "/users/{id}");
        assert_eq!(template("/o/3f2b8c1e-9a4d-4e1b-8c7d-2b9f0e6a1d34"), "/o/{id}");
        assert_eq!(template("/t/a81f93c0de"), "/t/{id}");
        assert_eq!(template("/admin/customers/export.csv?email=ann@example.fr"), "/admin/customers/export.csv");
        assert!(is_item("/api/customers/{id}") && !is_item("/api/customers"));
    }

    #[test]
    fn pages_are_told_apart_by_their_paging_parameters_or_their_ids() {
        assert_eq!(page_of("/api/customers?page=7&per_page=100").as_deref(), Some("page=7"));
        assert_eq!(page_of("/api/customers?offset=700&limit=100").as_deref(), Some("offset=700"));
        assert_eq!(page_of("/api/customers/18342").as_deref(), Some("18342"));
        assert_eq!(page_of("/api/customers"), None);
        assert_eq!(per_page("/api/customers?page=7&per_page=100"), Some(100));
        assert_eq!(per_page("/api/customers?offset=700&limit=100"), Some(100));
        assert_eq!(per_page("/api/customers?page=7"), None);
        let long = format!("/{}", "é".repeat(600));
        assert!(template(&long).len() <= MAX_PATH + 2);
    }
}
