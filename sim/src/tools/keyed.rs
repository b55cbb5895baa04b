//! Hash tables keyed by values that are hashes already (world fingerprints, coverage
//! hashes), for tables that are only looked up and counted, never iterated: their order
//! would be the table's, and it must not reach a result.

use std::hash::{BuildHasherDefault, Hasher};

/// A set of hashes: added to and counted only.
#[derive(Clone, Debug, Default)]
pub struct HashedSet(#[allow(clippy::disallowed_types)] std::collections::HashSet<u64, BuildHasherDefault<KeyHasher>>);

impl HashedSet {
    /// Adds `key`; true if it was not there.
    pub fn insert(&mut self, key: u64) -> bool {
        self.0.insert(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl Extend<u64> for HashedSet {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, keys: I) {
        self.0.extend(keys);
    }
}

/// A map from hashes: looked up, never iterated.
#[derive(Default)]
pub struct HashedMap<V>(
    #[allow(clippy::disallowed_types)] std::collections::HashMap<u64, V, BuildHasherDefault<KeyHasher>>,
);

impl<V: Copy> HashedMap<V> {
    pub fn get(&self, key: u64) -> Option<V> {
        self.0.get(&key).copied()
    }

    pub fn contains(&self, key: u64) -> bool {
        self.0.contains_key(&key)
    }

    pub fn insert(&mut self, key: u64, value: V) {
        self.0.insert(key, value);
    }
}

/// Passes a key that is a hash already through: it indexes the table as it is.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_counts_each_key_once_and_a_map_keeps_the_last_value() {
        let mut s = HashedSet::default();
        assert!(s.insert(7) && !s.insert(7));
        s.extend([7, 8, 9]);
        assert_eq!(s.len(), 3);
        let mut m = HashedMap::default();
        m.insert(1, 'a');
        m.insert(1, 'b');
        assert_eq!((m.get(1), m.contains(2)), (Some('b'), false));
    }
}
