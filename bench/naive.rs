//! The naive baseline the engine is compared with: what a first attempt at
//! masking looks like, one email and one phone regex with `replace_all`.

use regex::Regex;

pub struct Naive {
    email: Regex,
    phone: Regex,
}

impl Naive {
    pub fn new() -> Naive {
        Naive {
            email: Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}").expect("email regex"),
            phone: Regex::new(r"\+?\d[\d ().-]{7,}\d").expect("phone regex"),
        }
    }

    pub fn mask(&self, text: &str) -> String {
        let once = self.email.replace_all(text, "[EMAIL]");
        self.phone.replace_all(&once, "[PHONE]").into_owned()
    }
}
