//! Every operation Tresor serves, of every service, as one type.
//!
//! Each service keeps its own enum (its variants are its API surface, matched exhaustively by
//! its dispatch); [`Operation`] joins them, so the pipeline ([`crate::pipeline`]) asks one
//! value for everything it decides by: the service (SigV4 signing name, audit `eventSource`,
//! protocol), the IAM action, whether the call changes state (it then runs in one store
//! transaction with its record) and whether CloudTrail marks it `readOnly`. A new service is
//! one variant here and its enum; the compiler lists every `match` that must learn it.

use crate::{cloudtrail, gateway, iam, kms, rotation, secretsmanager, sts};

/// A service Tresor speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    SecretsManager,
    Iam,
    Sts,
    CloudTrail,
    /// The AI gateway's admin API and its invocations.
    Gateway,
    /// The rotation admin API (rotators, rotation status).
    Rotation,
    /// KMS (`TrentService`): keys, aliases, key policies, and the cryptographic operations.
    Kms,
}

impl Service {
    pub const ALL: [Service; 7] = [
        Self::SecretsManager,
        Self::Iam,
        Self::Sts,
        Self::CloudTrail,
        Self::Gateway,
        Self::Rotation,
        Self::Kms,
    ];

    /// Its position in [`Service::ALL`].
    pub fn index(self) -> usize {
        match self {
            Self::SecretsManager => 0,
            Self::Iam => 1,
            Self::Sts => 2,
            Self::CloudTrail => 3,
            Self::Gateway => 4,
            Self::Rotation => 5,
            Self::Kms => 6,
        }
    }

    /// The SigV4 signing name (`secretsmanager`, `iam`, `sts`, `cloudtrail`), also the prefix
    /// of its IAM actions.
    pub fn name(self) -> &'static str {
        match self {
            Self::SecretsManager => "secretsmanager",
            Self::Iam => "iam",
            Self::Sts => "sts",
            Self::CloudTrail => "cloudtrail",
            Self::Gateway => "gateway",
            Self::Rotation => "rotation",
            Self::Kms => "kms",
        }
    }

    /// Whether it speaks awsQuery (form in, XML out) rather than awsJson1.1.
    pub fn is_query(self) -> bool {
        matches!(self, Self::Iam | Self::Sts)
    }
}

/// One operation of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    SecretsManager(secretsmanager::Operation),
    Iam(iam::Operation),
    Sts(sts::Operation),
    CloudTrail(cloudtrail::Operation),
    Gateway(gateway::Operation),
    Rotation(rotation::Operation),
    Kms(kms::Operation),
}

impl Operation {
    /// How many operations there are, of every service.
    pub const COUNT: usize = secretsmanager::Operation::ALL.len()
        + iam::Operation::ALL.len()
        + sts::Operation::ALL.len()
        + cloudtrail::Operation::ALL.len()
        + gateway::Operation::ALL.len()
        + rotation::Operation::ALL.len()
        + kms::Operation::ALL.len();

    /// Its position in [`Operation::all`] (dense, below [`Operation::COUNT`]).
    pub fn index(self) -> usize {
        fn position<T: PartialEq>(all: &[T], op: &T) -> usize {
            all.iter().position(|o| o == op).unwrap_or(0)
        }
        let sm = secretsmanager::Operation::ALL.len();
        let iam = sm + iam::Operation::ALL.len();
        let sts = iam + sts::Operation::ALL.len();
        let ct = sts + cloudtrail::Operation::ALL.len();
        let gw = ct + gateway::Operation::ALL.len();
        let rot = gw + rotation::Operation::ALL.len();
        match self {
            Self::SecretsManager(op) => position(&secretsmanager::Operation::ALL, &op),
            Self::Iam(op) => sm + position(&iam::Operation::ALL, &op),
            Self::Sts(op) => iam + position(&sts::Operation::ALL, &op),
            Self::CloudTrail(op) => sts + position(&cloudtrail::Operation::ALL, &op),
            Self::Gateway(op) => ct + position(&gateway::Operation::ALL, &op),
            Self::Rotation(op) => gw + position(&rotation::Operation::ALL, &op),
            Self::Kms(op) => rot + position(&kms::Operation::ALL, &op),
        }
    }

    /// Every operation of every service.
    pub fn all() -> impl Iterator<Item = Operation> {
        let sm = secretsmanager::Operation::ALL
            .into_iter()
            .map(Self::SecretsManager);
        let iam = iam::Operation::ALL.into_iter().map(Self::Iam);
        let sts = sts::Operation::ALL.into_iter().map(Self::Sts);
        let ct = cloudtrail::Operation::ALL.into_iter().map(Self::CloudTrail);
        let gw = gateway::Operation::ALL.into_iter().map(Self::Gateway);
        let rot = rotation::Operation::ALL.into_iter().map(Self::Rotation);
        let kms = kms::Operation::ALL.into_iter().map(Self::Kms);
        sm.chain(iam)
            .chain(sts)
            .chain(ct)
            .chain(gw)
            .chain(rot)
            .chain(kms)
    }

    /// The operation `name` of `service` (exact, case-sensitive, as AWS parses it).
    pub fn parse(service: Service, name: &str) -> Option<Self> {
        match service {
            Service::SecretsManager => {
                secretsmanager::Operation::from_name(name).map(Self::SecretsManager)
            }
            Service::Iam => iam::Operation::from_name(name).map(Self::Iam),
            Service::Sts => sts::Operation::from_name(name).map(Self::Sts),
            Service::CloudTrail => cloudtrail::Operation::from_name(name).map(Self::CloudTrail),
            Service::Gateway => gateway::Operation::from_name(name).map(Self::Gateway),
            Service::Rotation => rotation::Operation::from_name(name).map(Self::Rotation),
            Service::Kms => kms::Operation::from_name(name).map(Self::Kms),
        }
    }

    pub fn service(self) -> Service {
        match self {
            Self::SecretsManager(_) => Service::SecretsManager,
            Self::Iam(_) => Service::Iam,
            Self::Sts(_) => Service::Sts,
            Self::CloudTrail(_) => Service::CloudTrail,
            Self::Gateway(_) => Service::Gateway,
            Self::Rotation(_) => Service::Rotation,
            Self::Kms(_) => Service::Kms,
        }
    }

    /// The operation's name on the wire (`GetSecretValue`).
    pub fn name(self) -> &'static str {
        match self {
            Self::SecretsManager(op) => op.name(),
            Self::Iam(op) => op.name(),
            Self::Sts(op) => op.name(),
            Self::CloudTrail(op) => op.name(),
            Self::Gateway(op) => op.name(),
            Self::Rotation(op) => op.name(),
            Self::Kms(op) => op.name(),
        }
    }

    /// The IAM action that authorizes it (`secretsmanager:GetSecretValue`).
    pub fn iam_action(self) -> String {
        format!("{}:{}", self.service().name(), self.name())
    }

    /// Whether it may change state: it then runs in one store transaction with its audit
    /// record, and the record keeps its response elements.
    pub fn changes_state(self) -> bool {
        match self {
            Self::SecretsManager(op) => !op.is_read_only(),
            Self::Iam(op) => !op.is_read_only(),
            Self::Sts(op) => op.changes_state(),
            Self::CloudTrail(_) => false,
            Self::Gateway(op) => op.changes_state(),
            Self::Rotation(op) => op.changes_state(),
            Self::Kms(op) => op.changes_state(),
        }
    }

    /// CloudTrail's `readOnly` for it (`AssumeRole` is one, although it starts a session).
    pub fn is_read_only(self) -> bool {
        match self {
            Self::SecretsManager(op) => op.is_read_only(),
            Self::Iam(op) => op.is_read_only(),
            Self::Sts(op) => op.is_read_only(),
            Self::CloudTrail(_) => true,
            Self::Gateway(op) => op.is_read_only(),
            Self::Rotation(op) => op.is_read_only(),
            Self::Kms(op) => op.is_read_only(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_parses_back_and_names_its_action() {
        let all: Vec<Operation> = Operation::all().collect();
        assert_eq!(all.len(), 26 + 39 + 2 + 1 + 19 + 7 + 29);
        assert_eq!(all.len(), Operation::COUNT);
        for (i, op) in all.into_iter().enumerate() {
            assert_eq!(op.index(), i);
            let invoke = op == Operation::Gateway(gateway::Operation::Invoke);
            // `Invoke` has no admin target: it is reached through `/gateway/<route>/…` only.
            let parsed = Operation::parse(op.service(), op.name());
            assert_eq!(parsed, (!invoke).then_some(op));
            assert_eq!(
                op.iam_action(),
                match op {
                    Operation::SecretsManager(o) => o.iam_action(),
                    Operation::Iam(o) => o.iam_action(),
                    Operation::Sts(o) => o.iam_action(),
                    Operation::CloudTrail(o) => o.iam_action(),
                    Operation::Gateway(o) => format!("gateway:{}", o.name()),
                    Operation::Rotation(o) => format!("rotation:{}", o.name()),
                    Operation::Kms(o) => format!("kms:{}", o.name()),
                }
            );
            // A call that changes nothing is recorded as a read. `Invoke` changes the budget
            // ledgers in transactions of its own around the upstream call.
            assert!(op.changes_state() || op.is_read_only() || invoke, "{op:?}");
        }
        assert_eq!(Operation::parse(Service::Iam, "GetSecretValue"), None);
    }

    #[test]
    fn assume_role_is_recorded_as_a_read_but_runs_as_a_write() {
        let op = Operation::Sts(sts::Operation::AssumeRole);
        assert!(op.is_read_only());
        assert!(op.changes_state());
        let op = Operation::SecretsManager(secretsmanager::Operation::GetSecretValue);
        assert!(op.is_read_only() && !op.changes_state());
        let op = Operation::SecretsManager(secretsmanager::Operation::PutSecretValue);
        assert!(!op.is_read_only() && op.changes_state());
    }
}
