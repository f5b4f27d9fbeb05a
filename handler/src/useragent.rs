//! A user agent reduced to what a baseline remembers: the browser family and the operating system, never the
//! version (a browser updates itself every few weeks; a new version of the same browser is not news).
//!
//! A small table of our own: the crates that parse user agents carry a regex database of megabytes, and a
//! baseline needs only the few families people sign in to the console with. Anything else is named by its first
//! product token (`aws-cli`, `Boto3`), so a script is still told apart from a browser.

/// Browser families, most specific first: Edge and Opera also say `Chrome`, Chrome also says `Safari`.
const BROWSERS: [(&str, &str); 9] = [
    ("Edg/", "Edge"),
    ("Edge/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
];

/// Operating systems, most specific first: iOS and Android user agents also say `Mac OS X` and `Linux`.
const SYSTEMS: [(&str, &str); 8] = [
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

/// Longest family name kept: the first token of a hostile user agent can be anything.
const MAX_TOKEN: usize = 40;

/// `Firefox on Windows`, `Safari on iOS`, `aws-cli`, or `unknown` when the record has no user agent.
pub fn family(agent: Option<&str>) -> String {
    let Some(agent) = agent.map(str::trim).filter(|a| !a.is_empty()) else {
        return "unknown".to_owned();
    };
    let os = SYSTEMS
        .iter()
        .find(|(marker, _)| agent.contains(marker))
        .map(|(_, name)| *name);
    let browser = BROWSERS
        .iter()
        .find(|(marker, _)| agent.contains(marker))
        .map(|(_, name)| *name)
        .or_else(|| {
            if agent.contains("MSIE ") || agent.contains("Trident/") {
                Some("Internet Explorer")
            } else if agent.contains("Safari/") || (os == Some("iOS") && agent.contains("Mobile/"))
            {
                Some("Safari")
            } else {
                None
            }
        });
    match (browser, os) {
        (Some(browser), Some(os)) => format!("{browser} on {os}"),
        (Some(browser), None) => browser.to_owned(),
        (None, _) if agent.starts_with("Mozilla/") => match os {
            Some(os) => format!("a browser on {os}"),
            None => "a browser".to_owned(),
        },
        (None, _) => first_token(agent),
    }
}

/// The product of a user agent that names no browser: `aws-cli/2.15.0 Python/3.11` is `aws-cli`.
fn first_token(agent: &str) -> String {
    let token = agent
        .split(|c: char| c == '/' || c.is_whitespace() || c == '[' || c == '(')
        .find(|t| !t.is_empty())
        .unwrap_or("unknown");
    token
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TOKEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::family;

    /// User agents as published sign-in records and browser vendors show them: the family and the system,
    /// whatever the version.
    #[test]
    fn browsers_and_systems_without_versions() {
        for (agent, expected) in [
            // AWS CloudTrail user guide, "AWS console sign-in events" (root sign-in example).
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:62.0) Gecko/20100101 Firefox/62.0",
                "Firefox on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
                "Firefox on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                "Chrome on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
                "Chrome on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
                "Opera on Linux",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                "Chrome on ChromeOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko",
                "Internet Explorer on Windows",
            ),
            ("Mozilla/5.0 (X11; Linux x86_64)", "a browser on Linux"),
            (
                "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2023",
                "aws-cli",
            ),
            ("Boto3/1.34.0 md/Botocore#1.34.0", "Boto3"),
            ("AWS Internal", "AWS"),
            ("", "unknown"),
        ] {
            assert_eq!(family(Some(agent)), expected, "{agent}");
        }
        assert_eq!(family(None), "unknown");
    }

    #[test]
    fn a_new_version_is_the_same_family() {
        let old = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:62.0) Gecko/20100101 Firefox/62.0";
        let new =
            "Mozilla/5.0 (Windows NT 11.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(family(Some(old)), family(Some(new)));
    }

    #[test]
    fn a_hostile_token_stays_short_and_printable() {
        let agent = format!("{}\u{1b}[31m/1.0", "x".repeat(500));
        let name = family(Some(&agent));
        assert!(name.chars().count() <= 40, "{name}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
    }
}
