//! Three-valued results: a test holds, does not hold, or cannot be evaluated.
//!
//! Combining them follows Kleene's logic, so the result never depends on the order of the
//! parts: an `any` is true as soon as one part is true, whatever errors the others raise; an
//! `all` is false as soon as one part is false. Only when the errors could change the answer is
//! the combination an error. That makes an error mean exactly "the policy's answer is unknown",
//! which is what the decision treats as "never grants".

/// `Ok(true)`: holds; `Ok(false)`: does not hold; `Err(why)`: cannot be evaluated.
pub(crate) type Outcome = Result<bool, String>;

/// True if any part is true; otherwise the first error, if any; otherwise false.
pub(crate) fn any(parts: impl IntoIterator<Item = Outcome>) -> Outcome {
    let mut error = None;
    for part in parts {
        match part {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    error.map_or(Ok(false), Err)
}

/// False if any part is false; otherwise the first error, if any; otherwise true.
pub(crate) fn all(parts: impl IntoIterator<Item = Outcome>) -> Outcome {
    let mut error = None;
    for part in parts {
        match part {
            Ok(false) => return Ok(false),
            Ok(true) => {}
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    error.map_or(Ok(true), Err)
}

#[cfg(test)]
mod tests {
    use super::{all, any, Outcome};

    fn err() -> Outcome {
        Err("boom".into())
    }

    #[test]
    fn kleene_tables() {
        assert_eq!(any([Ok(false), err(), Ok(true)]), Ok(true));
        assert_eq!(any([Ok(false), err()]), err());
        assert_eq!(any([Ok(false), Ok(false)]), Ok(false));
        assert_eq!(any(Vec::<Outcome>::new()), Ok(false));
        assert_eq!(all([Ok(true), err(), Ok(false)]), Ok(false));
        assert_eq!(all([Ok(true), err()]), err());
        assert_eq!(all([Ok(true), Ok(true)]), Ok(true));
        assert_eq!(all(Vec::<Outcome>::new()), Ok(true));
    }
}
