//! Protocol variants: historical ZooKeeper bugs reintroduced on purpose, one small and
//! documented deviation each, so the checker can be shown to catch them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which protocol the nodes run. `None` is ZooKeeper 3.9's behaviour.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Variant {
    /// The correct protocol.
    #[default]
    #[serde(rename = "none")]
    None,
    /// ZOOKEEPER-1419 (fixed in 3.4.4): the third clause of FLE's vote order compares
    /// (zxid, sid) without requiring equal peerEpochs, so the order is not antisymmetric
    /// and a 5-node election with equal zxids and different epochs can flip forever.
    #[serde(rename = "zk-1419")]
    Zk1419,
}

impl Variant {
    pub const ALL: [Variant; 2] = [Variant::None, Variant::Zk1419];

    pub fn name(self) -> &'static str {
        match self {
            Variant::None => "none",
            Variant::Zk1419 => "zk-1419",
        }
    }

    /// One line on what the variant changes, for `--help`-style listings and reports.
    pub fn description(self) -> &'static str {
        match self {
            Variant::None => "ZooKeeper 3.9's protocol, no deviation",
            Variant::Zk1419 => "FLE vote order without the equal-epoch condition in its third clause (ZOOKEEPER-1419)",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Variant, String> {
        Variant::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
            format!("unknown variant `{s}`, expected one of: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>().unwrap(), v);
        }
        assert!("zk-9999".parse::<Variant>().unwrap_err().contains("zk-1419"));
    }
}
