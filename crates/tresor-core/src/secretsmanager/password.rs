//! `GetRandomPassword`.

use tresor_types::SecretBytes;

use super::dto::*;
use super::Operation;
use crate::authz::Resource;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Uniform index below `n` from the system RNG (rejection sampling, no modulo bias).
fn uniform(n: usize) -> Result<usize, CoreError> {
    let n32 = u32::try_from(n).map_err(|_| CoreError::Internal("alphabet too large".to_owned()))?;
    let zone = u32::MAX - (u32::MAX % n32);
    loop {
        let b = tresor_crypto::random_bytes(4)?;
        let x = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if x < zone {
            return Ok((x % n32) as usize);
        }
    }
}

impl Core {
    pub fn get_random_password(
        &self,
        ctx: &RequestContext,
        req: Validated<GetRandomPasswordRequest>,
    ) -> Result<GetRandomPasswordResponse, CoreError> {
        let req = req.into_inner();
        self.authorize(
            ctx,
            &Operation::GetRandomPassword.iam_action(),
            Resource::any(),
        )?;
        let length = usize::try_from(req.password_length.unwrap_or(32)).unwrap_or(32);
        let excluded: Vec<char> = req.exclude_characters.unwrap_or_default().chars().collect();
        let keep =
            |set: &str| -> Vec<char> { set.chars().filter(|c| !excluded.contains(c)).collect() };
        let mut classes: Vec<Vec<char>> = Vec::new();
        if !req.exclude_lowercase.unwrap_or(false) {
            classes.push(keep("abcdefghijklmnopqrstuvwxyz"));
        }
        if !req.exclude_uppercase.unwrap_or(false) {
            classes.push(keep("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
        }
        if !req.exclude_numbers.unwrap_or(false) {
            classes.push(keep("0123456789"));
        }
        if !req.exclude_punctuation.unwrap_or(false) {
            classes.push(keep(PUNCTUATION));
        }
        classes.retain(|c| !c.is_empty());
        let mut alphabet: Vec<char> = classes.iter().flatten().copied().collect();
        // A space may be drawn like any character, but it is not one of the types that
        // RequireEachIncludedType asks for (upper, lower, digit, punctuation).
        if req.include_space.unwrap_or(false) {
            alphabet.extend(keep(" "));
        }
        if alphabet.is_empty() {
            return Err(CoreError::InvalidParameter(
                "The password cannot be generated: every character type is excluded.".to_owned(),
            ));
        }
        let require_each = req.require_each_included_type.unwrap_or(true);
        if require_each && length < classes.len() {
            return Err(CoreError::InvalidParameter(format!(
                "The password length {length} is too short to include a character of each of the {} included types.",
                classes.len()
            )));
        }
        let mut chars: Vec<char> = Vec::with_capacity(length);
        if require_each {
            for class in &classes {
                chars.push(class[uniform(class.len())?]);
            }
        }
        while chars.len() < length {
            chars.push(alphabet[uniform(alphabet.len())?]);
        }
        // Shuffle so the guaranteed characters are not always first (Fisher–Yates).
        for i in (1..chars.len()).rev() {
            let j = uniform(i + 1)?;
            chars.swap(i, j);
        }
        let password: String = chars.into_iter().collect();
        Ok(GetRandomPasswordResponse {
            random_password: RevealedString(SecretBytes::new(password.into_bytes())),
        })
    }
}
