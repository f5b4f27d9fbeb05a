//! Tags as a map, and the `managed-by` tag that marks what login-alert created.

use std::collections::HashMap;

use crate::names::MANAGED_BY;

/// Tags as one map, from whatever (key, value) pairs a service returns them as.
pub fn to_map<K: Into<String>, V: Into<String>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> HashMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

/// Whether a resource's tags say login-alert created it.
pub fn is_managed(tags: &HashMap<String, String>) -> bool {
    tags.get(MANAGED_BY.0).is_some_and(|v| v == MANAGED_BY.1)
}

/// Whether login-alert's `managed-by` tag is among `tags` as a service lists them, `pair` giving
/// each one's key and value.
pub fn ours_among<T, K: AsRef<str>, V: AsRef<str>>(
    tags: impl IntoIterator<Item = T>,
    pair: impl Fn(T) -> (K, V),
) -> bool {
    tags.into_iter()
        .map(pair)
        .any(|(k, v)| (k.as_ref(), v.as_ref()) == MANAGED_BY)
}

/// The `managed-by` tag as a map, for services that take tags as one.
pub fn managed() -> HashMap<String, String> {
    to_map([MANAGED_BY])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_tag_marks_a_resource_as_ours() {
        assert!(is_managed(&managed()));
        assert!(!is_managed(&to_map([("managed-by", "terraform")])));
        assert!(!is_managed(&HashMap::new()));
        assert!(ours_among([("a", "b"), MANAGED_BY], |t| t));
        assert!(!ours_among([("managed-by", "terraform")], |t| t));
        assert!(!ours_among(Vec::<(&str, &str)>::new(), |t| t));
    }
}
