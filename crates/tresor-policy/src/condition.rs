//! Condition operator names: `[ForAnyValue:|ForAllValues:]<Base>[IfExists]`.

/// A condition operator split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConditionOperator {
    /// The `ForAnyValue:` / `ForAllValues:` prefix for multivalued keys, if any.
    pub set: Option<SetQualifier>,
    /// The comparison.
    pub base: BaseOperator,
    /// The `IfExists` suffix: the clause also matches when the key is absent.
    pub if_exists: bool,
}

impl ConditionOperator {
    /// Parses an operator name; `None` when it is not one IAM defines.
    pub fn parse(name: &str) -> Option<Self> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, name)
        };
        if let Some(base) = BaseOperator::from_name(rest) {
            return Some(Self {
                set,
                base,
                if_exists: false,
            });
        }
        let base = BaseOperator::from_name(rest.strip_suffix("IfExists")?)?;
        // `Null` tests for existence itself, so `NullIfExists` means nothing and IAM rejects it.
        if base == BaseOperator::Null {
            return None;
        }
        Some(Self {
            set,
            base,
            if_exists: true,
        })
    }
}

/// How a condition treats a multivalued key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// `ForAnyValue:`: at least one request value matches.
    ForAnyValue,
    /// `ForAllValues:`: every request value matches (true when there are none).
    ForAllValues,
}

macro_rules! base_operators {
    ($($name:ident),+ $(,)?) => {
        /// The comparison a condition operator performs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum BaseOperator {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                $name,
            )+
        }

        impl BaseOperator {
            /// Every operator, in documentation order.
            pub const ALL: &'static [BaseOperator] = &[$(BaseOperator::$name),+];

            /// The name as written in a policy.
            pub fn name(self) -> &'static str {
                match self {
                    $(BaseOperator::$name => stringify!($name),)+
                }
            }

            /// Parses an operator name without prefix or suffix (case-sensitive, as in IAM).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($name) => Some(BaseOperator::$name),)+
                    _ => None,
                }
            }
        }
    };
}

base_operators!(
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
);

#[cfg(test)]
mod tests {
    use super::{BaseOperator, ConditionOperator, SetQualifier};

    #[test]
    fn parses_prefix_base_and_suffix() {
        assert_eq!(
            ConditionOperator::parse("ForAnyValue:StringLikeIfExists"),
            Some(ConditionOperator {
                set: Some(SetQualifier::ForAnyValue),
                base: BaseOperator::StringLike,
                if_exists: true,
            })
        );
        assert_eq!(
            ConditionOperator::parse("ArnLikeIfExists").map(|o| (o.base, o.if_exists)),
            Some((BaseOperator::ArnLike, true))
        );
        assert_eq!(
            ConditionOperator::parse("ForAllValues:Null").map(|o| o.set),
            Some(Some(SetQualifier::ForAllValues))
        );
    }

    #[test]
    fn every_base_round_trips() {
        assert_eq!(BaseOperator::ALL.len(), 27);
        for &base in BaseOperator::ALL {
            assert_eq!(BaseOperator::from_name(base.name()), Some(base));
            let plain = ConditionOperator::parse(base.name());
            assert_eq!(
                plain.map(|o| (o.set, o.base, o.if_exists)),
                Some((None, base, false))
            );
        }
    }

    #[test]
    fn rejects_unknown_names() {
        for name in [
            "StringEqualz",
            "stringequals",
            "NullIfExists",
            "ForAnyValue:",
            "ForSomeValues:StringEquals",
            "StringEqualsIfExistsIfExists",
            "IfExists",
            "",
        ] {
            assert_eq!(ConditionOperator::parse(name), None, "{name}");
        }
    }
}
