//! Unleash-compatible bucketing.
//!
//! A rollout places every member in one of 100 buckets by hashing the rollout's group
//! id with the member's key, exactly as Unleash's `normalizedValue` does. Doing it the
//! Unleash way (rather than inventing a hash) means the buckets are stable across
//! processes, languages and the browser build, and that a stage defined here can be
//! handed to an Unleash SDK and select the same members. A stage of `p` % is every
//! member whose bucket is at most `p`, so widening a stage only ever adds members.

/// MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain algorithm), of
/// `data` with `seed`.
///
/// This is the hash behind Unleash's bucketing; it is written here from the
/// algorithm so that `model` keeps no dependency for it and compiles to WASM.
/// Blocks of four bytes are read little-endian whatever the platform, so the answer
/// is the same on every target.
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;

    let mix = |k: u32| k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);

    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        h ^= mix(k);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let k = tail
            .iter()
            .rev()
            .fold(0u32, |k, &byte| (k << 8) | u32::from(byte));
        h ^= mix(k);
    }
    // The length is mixed in modulo 2^32, as the reference implementation does.
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// The member's bucket in a rollout, 1..=100: MurmurHash3 (seed 0) of
/// `"<group_id>:<key>"`, modulo 100, plus 1. This is exactly Unleash's
/// `normalizedValue`, used by its `gradualRolloutUserId` and `flexibleRollout`
/// strategies, so a member's bucket here is the one Unleash gives them.
///
/// The string is hashed as its UTF-8 bytes, as Unleash's Rust engine
/// (unleash-yggdrasil, behind its newer SDKs) hashes. The JavaScript SDK hashes
/// differently for non-ASCII input (it takes the low byte of each UTF-16 code unit),
/// so for group ids or keys outside ASCII its buckets can differ from these.
pub fn bucket(group_id: &str, key: &str) -> u8 {
    let mut input = String::with_capacity(group_id.len() + 1 + key.len());
    input.push_str(group_id);
    input.push(':');
    input.push_str(key);
    (murmur3_x86_32(input.as_bytes(), 0) % 100 + 1) as u8
}

/// Whether a member in `bucket` is in a share of `percent` %: `bucket <= percent`.
///
/// As in Unleash, 0 % reaches nobody (buckets start at 1) and 100 % everyone; a
/// member in a share is in every wider share of the same group id, so widening a
/// stage never removes anyone.
pub fn in_share(bucket: u8, percent: u8) -> bool {
    bucket <= percent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_known_vectors() {
        // The reference implementation's published answers (SMHasher and the common
        // test vectors), cross-checked with an independent implementation.
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_x86_32(b"", 0xffff_ffff), 0x81f1_6f39);
        assert_eq!(murmur3_x86_32(b"a", 0), 0x3c25_69b2);
        assert_eq!(murmur3_x86_32(b"ab", 0), 0x9bbf_d75f);
        assert_eq!(murmur3_x86_32(b"abc", 0), 0xb3dd_93fa);
        assert_eq!(murmur3_x86_32(b"abcd", 0), 0x43ed_676a);
        assert_eq!(murmur3_x86_32(b"hello", 0), 0x248b_fa47);
        assert_eq!(murmur3_x86_32(b"hello", 1), 0xbb4a_bcad);
        assert_eq!(
            murmur3_x86_32(b"The quick brown fox jumps over the lazy dog", 0),
            0x2e4f_f723
        );
    }

    #[test]
    fn bucket_is_unleash_normalized_value() {
        // Buckets the Unleash client specification relies on (see tests/unleash_spec.rs).
        assert_eq!(bucket("AB12A", "122"), 23);
        assert_eq!(bucket("AB12A", "155"), 100);
        assert_eq!(bucket("Feature.flexibleRollout.10", "174"), 10);
        assert_eq!(bucket("Feature.flexibleRollout.10", "499"), 32);
        assert_eq!(bucket("Feature.flexibleRollout.userId.55", "25"), 55);
        assert_eq!(bucket("Feature.flexibleRollout.sessionId.42", "147"), 42);
        // Non-ASCII: the UTF-8 bytes are hashed.
        assert_eq!(
            bucket("中文", "用户"),
            (murmur3_x86_32("中文:用户".as_bytes(), 0) % 100 + 1) as u8
        );
    }

    #[test]
    fn buckets_are_in_range_and_spread() {
        let mut seen = [0u32; 100];
        for i in 0..10_000 {
            let b = bucket("rollout-1", &format!("member-{i}"));
            assert!((1..=100).contains(&b));
            seen[usize::from(b - 1)] += 1;
        }
        // 100 per bucket expected; every bucket well populated.
        assert!(seen.iter().all(|&n| (50..=160).contains(&n)), "{seen:?}");
    }

    #[test]
    fn zero_reaches_nobody_and_hundred_everyone() {
        for b in 1..=100 {
            assert!(!in_share(b, 0));
            assert!(in_share(b, 100));
        }
    }

    #[test]
    fn widening_only_adds_members() {
        let members = |percent: u8| -> Vec<usize> {
            (0..5_000)
                .filter(|i| in_share(bucket("widening", &format!("m{i}")), percent))
                .collect()
        };
        let (five, twenty, fifty) = (members(5), members(20), members(50));
        assert!(!five.is_empty());
        assert!(five.iter().all(|m| twenty.contains(m)));
        assert!(twenty.iter().all(|m| fifty.contains(m)));
        assert!(five.len() < twenty.len() && twenty.len() < fifty.len());
        // And for every pair of shares, not only these three.
        for i in 0..2_000 {
            let b = bucket("widening", &format!("m{i}"));
            for p in 0..100u8 {
                if in_share(b, p) {
                    assert!(in_share(b, p + 1));
                }
            }
        }
    }
}
