//! Masking of sensitive HTTP header values before they leave the sensor.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::alert::Header;

/// Headers masked unless configured otherwise: credentials and session tokens.
pub const DEFAULT_MASKED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "apikey",
    "x-auth-token",
];

/// What a masked value is replaced with when no correlation key is set.
pub const MASKED_VALUE: &str = "***";

/// Decides which header values are masked and how.
///
/// Built with [`HeaderMask::builder`]; immutable afterwards. With a key, a
/// masked value becomes `hmac-sha256:<first 16 bytes hex>` of the value, so
/// that two records carrying the same token can be correlated without the
/// token itself being logged.
///
/// ```
/// use sensor_output::{Header, HeaderMask};
/// let mask = HeaderMask::default();
/// assert_eq!(mask.value(&Header::new("Cookie", "sid=42")), "***");
/// assert_eq!(mask.value(&Header::new("Host", "example.org")), "example.org");
/// ```
#[derive(Clone)]
pub struct HeaderMask {
    /// Lower-case names.
    names: Vec<String>,
    key: Option<Vec<u8>>,
}

impl std::fmt::Debug for HeaderMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never print it.
        f.debug_struct("HeaderMask")
            .field("names", &self.names)
            .field("keyed", &self.key.is_some())
            .finish()
    }
}

impl Default for HeaderMask {
    fn default() -> Self {
        HeaderMask::builder().build()
    }
}

impl HeaderMask {
    /// A builder starting from [`DEFAULT_MASKED_HEADERS`] and no key.
    pub fn builder() -> HeaderMaskBuilder {
        HeaderMaskBuilder {
            names: DEFAULT_MASKED_HEADERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            key: None,
        }
    }

    /// Whether a header with this name is masked (names compare
    /// case-insensitively).
    pub fn is_masked(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// The value to log for `header`.
    pub fn value<'a>(&self, header: &'a Header) -> std::borrow::Cow<'a, str> {
        if !self.is_masked(&header.name) {
            return std::borrow::Cow::Borrowed(&header.value);
        }
        match &self.key {
            None => std::borrow::Cow::Borrowed(MASKED_VALUE),
            Some(key) => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
                mac.update(header.value.as_bytes());
                let tag = mac.finalize().into_bytes();
                let mut out = String::from("hmac-sha256:");
                for b in &tag[..16] {
                    out.push_str(&format!("{b:02x}"));
                }
                std::borrow::Cow::Owned(out)
            }
        }
    }
}

/// Builds a [`HeaderMask`].
#[derive(Clone, Debug)]
pub struct HeaderMaskBuilder {
    names: Vec<String>,
    key: Option<Vec<u8>>,
}

impl HeaderMaskBuilder {
    /// Also masks headers named `name`.
    pub fn mask(mut self, name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        if !self.names.contains(&name) {
            self.names.push(name);
        }
        self
    }

    /// Stops masking headers named `name` (e.g. to log cookies on purpose).
    pub fn unmask(mut self, name: &str) -> Self {
        self.names.retain(|n| !n.eq_ignore_ascii_case(name));
        self
    }

    /// Replaces the list of masked names entirely.
    pub fn names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.names = names
            .into_iter()
            .map(|s| s.as_ref().to_ascii_lowercase())
            .collect();
        self
    }

    /// Keeps a keyed hash (HMAC-SHA256) of masked values for correlation.
    pub fn keyed_hash(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The immutable mask.
    pub fn build(self) -> HeaderMask {
        HeaderMask {
            names: self.names,
            key: self.key,
        }
    }
}
